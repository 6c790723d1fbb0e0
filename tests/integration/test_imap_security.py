"""The IMAP poller's security settings against a real Dovecot.

Implicit TLS and STARTTLS with a certificate from a CA made for this module
(trusted through `ca_file`, refused without it, accepted with
`verify_certificate: false`), XOAUTH2 with a token file that rotates and a
token command, and `after: move` on a server that does not offer MOVE.
"""

from __future__ import annotations

import json
import secrets
import shlex
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from consultant.db.models import InboundMessage
from consultant.pipeline.intake.mailbox import connect
from consultant.settings import Settings
from tests.conftest import need, set_env
from tests.integration.conftest import run_cli
from tests.integration.imapd import Dovecot, dovecot_binary, running_dovecot
from tests.integration.test_imap_intake import (
    Imap,
    _imap_user,
    count,
    mail,
    poll_once,
    use_mailbox,
)

pytestmark = [pytest.mark.integration]


# --- certificates ------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    try:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    except FileNotFoundError:
        need(False, "openssl is not installed")


def make_certificates(folder: Path) -> Certificates:
    """A CA, and a server certificate it signed for 127.0.0.1 (IP SAN) and localhost."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        *("req", "-x509", *ec, "-days", "2", "-subj", "/CN=consultant test CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        *("-keyout", str(ca_key), "-out", str(ca)),
    )
    _openssl("req", "-new", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
    extensions = folder / "server.ext"
    extensions.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "authorityKeyIdentifier = keyid\n"
    )
    _openssl(
        *("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key)),
        *("-set_serial", str(secrets.randbits(63)), "-days", "2"),
        *("-extfile", str(extensions), "-out", str(cert)),
    )
    return Certificates(ca, cert, key)


# --- servers and helpers -----------------------------------------------------------


def _need_dovecot() -> None:
    need(dovecot_binary() is not None, "dovecot is not installed (Debian package dovecot-imapd)")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates
) -> Iterator[Dovecot]:
    """Dovecot with `ssl = required`: implicit TLS on tls_port, STARTTLS on port."""
    _need_dovecot()
    root = tmp_path_factory.mktemp("dovecot-tls")
    with running_dovecot(root, ssl=(certificates.cert, certificates.key)) as server:
        yield server


@pytest.fixture(scope="module")
def no_move_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """Dovecot advertising only IMAP4rev1, IDLE and UIDPLUS (no MOVE)."""
    _need_dovecot()
    root = tmp_path_factory.mktemp("dovecot-nomove")
    with running_dovecot(root, "imap_capability = IMAP4rev1 IDLE UIDPLUS") as server:
        yield server


@pytest.fixture
def tls_imap(tls_server: Dovecot) -> Imap:
    return _imap_user(tls_server)


def _tls_port(server: Dovecot) -> int:
    assert server.tls_port is not None
    return server.tls_port


def _tls_version(settings: Settings) -> str | None:
    """Log in as the poller would; the TLS version of that connection, None for plain."""
    client = connect(settings.mailboxes[0])
    try:
        sock = client.socket()
        return sock.version() if isinstance(sock, ssl.SSLSocket) else None
    finally:
        client.logout()


def use_token(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    imap: Imap,
    certificates: Certificates,
    **fields: object,
) -> Settings:
    """An XOAUTH2 mailbox over implicit TLS; no password field at all."""
    entry = {
        "name": "consult",
        "host": imap.server.host,
        "port": _tls_port(imap.server),
        "security": "tls",
        "ca_file": str(certificates.ca),
        "username": imap.user,
        "auth": "xoauth2",
        "address": "consult@localhost",
        "timeout": 20,
        **fields,
    }
    return set_env(monkeypatch, env, mailboxes=json.dumps([entry]))


# --- TLS -------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_mail_is_taken_over_tls_when_ca_file_trusts_the_server(
    security: str,
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tls_imap: Imap,
    certificates: Certificates,
) -> None:
    server = tls_imap.server
    port = _tls_port(server) if security == "tls" else server.port
    settings = use_mailbox(
        monkeypatch, env, tls_imap, security=security, port=port, ca_file=str(certificates.ca)
    )
    tls_imap.append([mail(1), mail(2)])
    assert len(poll_once(settings)) == 2
    assert count(settings, InboundMessage) == 2
    assert (_tls_version(settings) or "").startswith("TLSv1.")


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_an_untrusted_certificate_is_refused_and_check_says_why(
    security: str,
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tls_imap: Imap,
) -> None:
    server = tls_imap.server
    port = _tls_port(server) if security == "tls" else server.port
    settings = use_mailbox(monkeypatch, env, tls_imap, security=security, port=port)
    assert settings.mailboxes[0].verify_certificate  # the default
    tls_imap.append([mail(1)])
    with pytest.raises(ssl.SSLCertVerificationError):
        poll_once(settings)
    assert count(settings, InboundMessage) == 0

    refused = run_cli(env, "mailboxes", "check", check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "certificate not trusted" in refused.stdout
    assert tls_imap.password not in refused.stdout + refused.stderr


def test_verify_certificate_false_accepts_the_unknown_certificate(
    migrated: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tls_imap: Imap
) -> None:
    settings = use_mailbox(
        monkeypatch,
        env,
        tls_imap,
        security="tls",
        port=_tls_port(tls_imap.server),
        verify_certificate=False,
    )
    tls_imap.append([mail(1)])
    assert len(poll_once(settings)) == 1
    assert (_tls_version(settings) or "").startswith("TLSv1.")


# --- XOAUTH2 -----------------------------------------------------------------------


def test_xoauth2_token_file_is_read_again_at_every_login(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tls_imap: Imap,
    certificates: Certificates,
    tmp_path: Path,
) -> None:
    # Dovecot's XOAUTH2 against a passwd-file: the bearer token is the password.
    token = tmp_path / "token"
    token.write_text(tls_imap.password + "\n")
    settings = use_token(monkeypatch, env, tls_imap, certificates, token_file=str(token))
    mailbox = settings.mailboxes[0]
    assert mailbox.password is None and mailbox.password_file is None
    tls_imap.append([mail(1)])
    assert len(poll_once(settings)) == 1

    tls_imap.append([mail(2)])
    token.write_text("expired-" + tls_imap.password + "\n")
    with pytest.raises(LoginError):
        poll_once(settings)
    assert count(settings, InboundMessage) == 1

    token.write_text(tls_imap.password + "\n")  # rotated: the same settings log in again
    assert len(poll_once(settings)) == 1
    assert count(settings, InboundMessage) == 2


def test_xoauth2_token_command(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tls_imap: Imap,
    certificates: Certificates,
) -> None:
    command = shlex.join(["printf", "%s\\n", tls_imap.password])
    settings = use_token(monkeypatch, env, tls_imap, certificates, token_command=command)
    tls_imap.append([mail(1), mail(2)])
    assert len(poll_once(settings)) == 2
    assert count(settings, InboundMessage) == 2


# --- no MOVE -----------------------------------------------------------------------


def test_without_move_stored_mail_is_copied_flagged_and_expunged(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    no_move_server: Dovecot,
) -> None:
    imap = _imap_user(no_move_server)
    settings = use_mailbox(monkeypatch, env, imap, after="move", move_to="Done")
    client = connect(settings.mailboxes[0])
    try:
        capabilities = set(client.capabilities())
        client.create_folder("Done")
    finally:
        client.logout()
    assert b"MOVE" not in capabilities and b"UIDPLUS" in capabilities

    def no_move(self: IMAPClient, *args: Any) -> None:
        raise AssertionError("MOVE used although the server does not offer it")

    expunged: list[list[int]] = []
    uid_expunge = IMAPClient.uid_expunge

    def spy_expunge(self: IMAPClient, messages: list[int]) -> Any:
        expunged.append(list(messages))
        return uid_expunge(self, messages)

    monkeypatch.setattr(IMAPClient, "move", no_move)
    monkeypatch.setattr(IMAPClient, "uid_expunge", spy_expunge)
    uids = imap.append([mail(1), mail(2), mail(3)])
    assert len(poll_once(settings)) == 3

    assert sorted(uid for batch in expunged for uid in batch) == uids
    assert imap.count("INBOX") == 0
    assert imap.count("Done") == 3
    assert all(b"\\Deleted" not in flags for flags in imap.flags("Done").values())

    report = run_cli(env, "mailboxes", "check")
    assert "no MOVE: stored mail is moved by COPY, \\Deleted and UID EXPUNGE" in report.stdout
