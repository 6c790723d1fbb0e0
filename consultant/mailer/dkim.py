"""DKIM: sign outbound mail at delivery time, when the operator configured a key.

Input: the raw bytes of an outbox row and the settings. Output: the same
bytes with a ``DKIM-Signature`` header in front (relaxed/relaxed), or the
bytes unchanged when DKIM is not configured. The outbox row keeps the
unsigned mail; every attempt signs afresh, so a retry carries a current
``t=`` and a rotated key takes effect without a restart.

Keys: a PEM RSA key (PKCS#1 or PKCS#8), or an Ed25519 key as PEM PKCS#8
(``openssl genpkey -algorithm ed25519``) or as dkimpy's raw base64 seed.
Ed25519 signing needs PyNaCl, dkimpy's optional dependency. A key that
cannot be read or used raises Transient: the mail stays queued (the reason
on its row) rather than leaving unsigned.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

import dkim

from consultant.errors import Transient
from consultant.settings import Settings

log = logging.getLogger(__name__)

# Signed when present; a header the mail lacks is left out of h=.
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Auto-Submitted",
)
CANONICALIZE = (b"relaxed", b"relaxed")

# A PKCS#8 Ed25519 private key is this fixed DER prefix (RFC 8410) and the
# 32-byte seed, so it needs no ASN.1 library to read.
_ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
_PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key as dkimpy wants it, with its signature algorithm."""

    algorithm: bytes  # b"rsa-sha256" or b"ed25519-sha256"
    data: bytes  # PEM for RSA, base64 seed for Ed25519


def configured(settings: Settings) -> bool:
    """True when outbound mail is to be signed."""
    return bool(settings.dkim_selector and settings.dkim_key_file)


def sign(raw: bytes, settings: Settings) -> bytes:
    """Return `raw` with a DKIM-Signature in front, or unchanged if DKIM is off."""
    if not configured(settings):
        return raw
    key = load_key(settings)
    selector = settings.dkim_selector or ""
    domain = settings.dkim_domain or settings.mail_domain
    try:
        header = dkim.sign(
            raw,
            selector.encode("ascii"),
            domain.encode("ascii"),
            key.data,
            canonicalize=CANONICALIZE,
            signature_algorithm=key.algorithm,
            include_headers=[name.encode("ascii") for name in present_headers(raw)],
        )
    except dkim.NaClNotFoundError as error:
        raise _config_problem("Ed25519 DKIM keys need PyNaCl (pip install pynacl)") from error
    except dkim.DKIMException as error:
        reason = f"DKIM signing failed for d={domain} s={selector}: {error}"
        raise _config_problem(reason) from error
    return bytes(header) + raw


def present_headers(raw: bytes) -> list[str]:
    """The SIGNED_HEADERS that `raw` carries, in SIGNED_HEADERS order."""
    names = {name.lower() for name in BytesHeaderParser(policy=policy.compat32).parsebytes(raw)}
    return [name for name in SIGNED_HEADERS if name.lower() in names]


def load_key(settings: Settings) -> SigningKey:
    """Read the configured key file; Transient with the reason if it is unusable."""
    path = settings.dkim_key_file
    try:
        data = path.read_bytes() if path is not None else b""
    except OSError as error:
        raise _config_problem(
            f"DKIM key file {path} cannot be read ({error.strerror}); "
            "check CONSULTANT_DKIM_KEY_FILE"
        ) from error
    key = parse_key(data)
    if key is None:
        raise _config_problem(
            f"DKIM key file {path} holds no RSA or Ed25519 private key; "
            "check CONSULTANT_DKIM_KEY_FILE"
        )
    return key


def parse_key(data: bytes) -> SigningKey | None:
    """Recognise an RSA or Ed25519 private key in `data`; None if it is neither."""
    data = data.replace(b"\r\n", b"\n").strip()
    match = _PEM.search(data)
    if match is None:
        return _raw_ed25519(data)
    label, body = match.group(1), match.group(2)
    if label == b"RSA PRIVATE KEY":
        return SigningKey(b"rsa-sha256", match.group(0) + b"\n")
    if label != b"PRIVATE KEY":
        return None
    der = _b64decode(body)
    if der is None:
        return None
    if der.startswith(_ED25519_PKCS8_PREFIX) and len(der) == len(_ED25519_PKCS8_PREFIX) + 32:
        return SigningKey(b"ed25519-sha256", base64.b64encode(der[-32:]))
    return SigningKey(b"rsa-sha256", match.group(0) + b"\n")


def _raw_ed25519(data: bytes) -> SigningKey | None:
    """dkimpy's own Ed25519 format: the 32-byte seed, base64 encoded."""
    seed = _b64decode(data)
    if seed is None or len(seed) != 32:
        return None
    return SigningKey(b"ed25519-sha256", base64.b64encode(seed))


def _b64decode(text: bytes) -> bytes | None:
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _config_problem(reason: str) -> Transient:
    """Our configuration is wrong, not the mail: keep it queued and say why."""
    log.warning("%s; outbound mail stays queued until this is fixed", reason)
    return Transient(reason)
