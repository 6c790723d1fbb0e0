"""DKIM signing of outbound mail: a signature the published key verifies, broken
by tampering; no signature when unconfigured; a clear error for a bad key."""

from __future__ import annotations

import base64
import logging
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import dkim
import pytest

from consultant.errors import Transient
from consultant.mailer.compose import build_reply
from consultant.mailer.dkim import parse_key, present_headers, sign
from consultant.settings import Settings
from tests.conftest import need

SELECTOR, DOMAIN = "mail2026", "example.org"
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def _openssl(*args: str) -> bytes:
    need(shutil.which("openssl") is not None, "the openssl command is not installed")
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


@pytest.fixture(params=["pkcs8", "pkcs1"])
def rsa_key(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A fresh 2048-bit RSA key in PEM, as `openssl genpkey` (PKCS#8) or PKCS#1 writes it."""
    key = tmp_path / "dkim.pem"
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    if request.param == "pkcs8":
        return key
    traditional = tmp_path / "dkim-pkcs1.pem"
    _openssl("pkey", "-in", str(key), "-traditional", "-out", str(traditional))
    assert traditional.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    return traditional


def _txt_record(key: Path) -> bytes:
    """The DNS TXT record an operator publishes for `key`."""
    public = _openssl("pkey", "-in", str(key), "-pubout", "-outform", "DER")
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _dns(record: bytes) -> Callable[..., bytes | None]:
    """A resolver that knows only our selector's record."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


def _settings(tmp_path: Path, key: Path | None) -> Settings:
    dkim_config = {"dkim_selector": SELECTOR, "dkim_key_file": key} if key else {}
    return Settings(
        var_dir=tmp_path / "var",
        from_address=f"consult@{DOMAIN}",
        **dkim_config,  # type: ignore[arg-type]
    )


def _reply(auto_submitted: bool = False) -> bytes:
    return build_reply(
        from_name="Coding Consult Desk",
        from_address=f"consult@{DOMAIN}",
        to="dana@clinic.example",
        to_name="Dana Coder",
        subject="Re: Modifier 59 with 27447 [CC-2026-000001]",
        text="Our coding expert's answer.\n\nModifier 59 does not apply here.\n",
        html="<p>Our coding expert's answer.</p><p>Modifier 59 does not apply here.</p>",
        rfc_message_id="<CC-2026-000001.1@example.org>",
        in_reply_to="<q1@clinic.example>",
        references=["<root@clinic.example>"],
        auto_submitted=auto_submitted,
    )


def _tag(signed: bytes, name: str) -> str:
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    value = re.search(rf"[;\s]{name}=([^;]+)", header)
    assert value is not None, header
    return "".join(value.group(1).split())


def test_signed_reply_verifies_against_the_published_key(
    env: dict[str, str], tmp_path: Path, rsa_key: Path
) -> None:
    raw = _reply()
    signed = sign(raw, _settings(tmp_path, rsa_key))
    assert signed.startswith(b"DKIM-Signature: ") and signed.endswith(raw)
    assert dkim.verify(signed, dnsfunc=_dns(_txt_record(rsa_key)))
    assert _tag(signed, "c") == "relaxed/relaxed"
    assert (_tag(signed, "d"), _tag(signed, "s")) == (DOMAIN, SELECTOR)
    assert _tag(signed, "h").split(":") == [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
    ]


def test_auto_submitted_is_signed_when_present(
    env: dict[str, str], tmp_path: Path, rsa_key: Path
) -> None:
    signed = sign(_reply(auto_submitted=True), _settings(tmp_path, rsa_key))
    assert _tag(signed, "h").split(":")[-1] == "auto-submitted"
    assert dkim.verify(signed, dnsfunc=_dns(_txt_record(rsa_key)))


def test_tampered_body_or_subject_fails_verification(
    env: dict[str, str], tmp_path: Path, rsa_key: Path
) -> None:
    signed = sign(_reply(), _settings(tmp_path, rsa_key))
    lookup = _dns(_txt_record(rsa_key))
    assert b"does not apply" in signed
    assert not dkim.verify(signed.replace(b"does not apply", b"does apply"), dnsfunc=lookup)
    assert not dkim.verify(signed.replace(b"Modifier 59 with", b"Modifier 25 with"), dnsfunc=lookup)


def test_relaxed_canonicalization_survives_refolded_whitespace(
    env: dict[str, str], tmp_path: Path, rsa_key: Path
) -> None:
    signed = sign(_reply(), _settings(tmp_path, rsa_key))
    reflowed = signed.replace(b"Subject: Re:", b"Subject:   Re:")
    assert dkim.verify(reflowed, dnsfunc=_dns(_txt_record(rsa_key)))


def test_dkim_domain_defaults_to_the_sending_domain_and_can_be_set(
    env: dict[str, str], tmp_path: Path, rsa_key: Path
) -> None:
    settings = _settings(tmp_path, rsa_key)
    assert _tag(sign(_reply(), settings), "d") == DOMAIN
    other = settings.model_copy(update={"dkim_domain": "mail.example.net"})
    assert _tag(sign(_reply(), other), "d") == "mail.example.net"


def test_unconfigured_returns_the_bytes_unchanged(env: dict[str, str], tmp_path: Path) -> None:
    raw = _reply()
    assert sign(raw, _settings(tmp_path, None)) == raw


def test_missing_key_file_is_a_clear_transient_error(
    env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-key.pem"
    with caplog.at_level(logging.WARNING), pytest.raises(Transient) as raised:
        sign(_reply(), _settings(tmp_path, missing))
    assert f"DKIM key file {missing} cannot be read" in str(raised.value)
    assert "CONSULTANT_DKIM_KEY_FILE" in str(raised.value)
    assert "cannot be read" in caplog.text
    assert "does not apply" not in caplog.text  # never the body


def test_a_file_without_a_private_key_is_a_clear_transient_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    junk = tmp_path / "public.pem"
    junk.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(Transient, match="holds no RSA or Ed25519 private key"):
        sign(_reply(), _settings(tmp_path, junk))


def _ed25519_pem(seed: bytes) -> bytes:
    der = base64.encodebytes(ED25519_PKCS8_PREFIX + seed)
    return b"-----BEGIN PRIVATE KEY-----\n" + der + b"-----END PRIVATE KEY-----\n"


def test_ed25519_keys_are_read_from_pkcs8_pem_and_from_a_raw_seed() -> None:
    seed = bytes(range(32))
    from_pem = parse_key(_ed25519_pem(seed))
    from_seed = parse_key(base64.b64encode(seed) + b"\n")
    assert from_pem is not None and from_seed is not None
    assert from_pem == from_seed
    assert from_pem.algorithm == b"ed25519-sha256"
    assert base64.b64decode(from_pem.data) == seed


def test_ed25519_signs_and_verifies_with_pynacl(env: dict[str, str], tmp_path: Path) -> None:
    from nacl import signing  # a dependency: dkimpy signs Ed25519 with it

    seed = bytes(range(1, 33))
    key = tmp_path / "ed25519.pem"
    key.write_bytes(_ed25519_pem(seed))
    signed = sign(_reply(), _settings(tmp_path, key))
    public = signing.SigningKey(seed).verify_key.encode()
    record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)
    assert _tag(signed, "a") == "ed25519-sha256"
    assert dkim.verify(signed, dnsfunc=_dns(record))


def test_ed25519_without_pynacl_says_what_to_install(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(dkim, "nacl", raising=False)  # as if PyNaCl were not installed
    key = tmp_path / "ed25519.pem"
    key.write_bytes(_ed25519_pem(bytes(32)))
    with pytest.raises(Transient, match="Ed25519 DKIM keys need PyNaCl"):
        sign(_reply(), _settings(tmp_path, key))


def test_present_headers_lists_only_what_the_mail_carries() -> None:
    raw = b"From: a@example.org\r\nSubject: x\r\nX-Other: y\r\n\r\nbody\r\n"
    assert present_headers(raw) == ["From", "Subject"]
