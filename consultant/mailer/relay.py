"""Deliver raw mail: to the SMTP relay (production) or the local outbox folder.

Failures are sorted for the send stage: Transient (connection trouble, 4xx)
means try again later; DeliveryRefused (5xx) means this mail will never go.
Credentials never reach the logs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
from collections.abc import Sequence
from pathlib import Path

from consultant.diskspace import is_storage_full
from consultant.errors import Transient
from consultant.filemodes import open_private, private_dir
from consultant.logs import redact_address
from consultant.mailer.headers import file_stem
from consultant.settings import Settings

log = logging.getLogger(__name__)


class DeliveryRefused(Exception):
    """The relay refused the mail permanently (5xx)."""


def deliver(
    settings: Settings, raw: bytes, mail_from: str, recipients: Sequence[str], name: str
) -> str:
    """Hand the mail on; return where it went (for the outbox row)."""
    if settings.relay_host:
        return _relay(settings, raw, mail_from, recipients)
    return str(write_outbox_file(settings.outbox_path(), name, raw))


def write_outbox_file(folder: Path, name: str, raw: bytes) -> Path:
    """Write `name`.eml atomically: a reader never sees half a mail.

    The name goes through the header module's file_stem: no path, no control
    character, only letters, digits, '.', '_' and '-'. The folder is 0700 and
    the file 0600: answers quote the question, which may hold PHI. A full or
    read-only folder is Transient: nothing is left in it, and the mail waits.
    """
    name = file_stem(name)
    final = folder / f"{name}.eml"
    temporary = folder / f".{name}.eml.tmp"
    try:
        private_dir(folder)
        with os.fdopen(open_private(temporary), "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(final)
    except OSError as error:
        if not is_storage_full(error):
            raise
        with contextlib.suppress(OSError):
            temporary.unlink()  # no half mail left taking the space
        # As a relay's 4xx: the send stage tries again later, with backoff.
        raise Transient(f"the outbox folder {folder} is full or read-only") from error
    log.info("answer written to %s", final)
    return final


def _connect(settings: Settings) -> smtplib.SMTP:
    host, port, timeout = settings.relay_host or "", settings.relay_port, settings.relay_timeout
    context = ssl.create_default_context(cafile=settings.relay_ca_file)
    if settings.relay_security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    if settings.relay_security == "starttls":
        smtp.starttls(context=context)
    return smtp


def _relay(settings: Settings, raw: bytes, mail_from: str, recipients: Sequence[str]) -> str:
    try:
        with _connect(settings) as smtp:
            if settings.relay_username and settings.relay_password:
                smtp.login(settings.relay_username, settings.relay_password.get_secret_value())
            refused = smtp.sendmail(mail_from, list(recipients), raw)
    except smtplib.SMTPAuthenticationError as error:
        # Our configuration, not this mail, is wrong: keep the answer queued
        # (with backoff) until an operator fixes the credentials.
        raise Transient(
            f"relay refused our login ({error.smtp_code}); "
            "check CONSULTANT_RELAY_USERNAME and CONSULTANT_RELAY_PASSWORD"
        ) from error
    except smtplib.SMTPRecipientsRefused as error:
        _raise_for_codes([code for code, _ in error.recipients.values()], "all recipients refused")
        raise AssertionError("unreachable") from error
    except smtplib.SMTPResponseException as error:
        _raise_for_codes([error.smtp_code], f"relay answered {error.smtp_code}")
        raise AssertionError("unreachable") from error
    except (OSError, smtplib.SMTPException) as error:
        raise Transient(f"relay unreachable: {type(error).__name__}: {error}") from error
    if refused:
        log.warning(
            "relay refused %d recipient(s): %s",
            len(refused),
            ", ".join(redact_address(r) for r in refused),
        )
    where = f"{settings.relay_host}:{settings.relay_port}"
    log.info("answer relayed via %s", where)
    return where


def _raise_for_codes(codes: Sequence[int], what: str) -> None:
    if any(400 <= code < 500 for code in codes):
        raise Transient(f"{what} (temporary: {sorted(set(codes))})")
    raise DeliveryRefused(f"{what} (permanent: {sorted(set(codes))})")
