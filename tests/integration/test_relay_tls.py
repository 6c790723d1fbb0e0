"""The relay client over STARTTLS and implicit TLS with AUTH, against aiosmtpd
servers holding a certificate made for this test (trusted via RELAY_CA_FILE)."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from consultant.errors import Transient
from consultant.mailer.relay import deliver
from consultant.settings import Settings
from tests.conftest import mail_bytes, need, set_env
from tests.integration.conftest import Sink
from tests.ports import free_port

pytestmark = pytest.mark.integration

USER, PASSWORD = "consult", "relay-pass-123"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError:
        need(False, "openssl is not installed")
    return cert, key


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture(params=["starttls", "tls"])
def tls_relay(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[tuple[str, Sink]]:
    sink = Sink("127.0.0.1", free_port())
    context = _server_context(certificate)
    options: dict[str, Any] = {"authenticator": _authenticate, "auth_require_tls": True}
    if request.param == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        # aiosmtpd advertises AUTH on implicit TLS only without auth_require_tls.
        options.update(ssl_context=context, auth_require_tls=False)
    controller = Controller(
        sink,
        hostname=sink.host,
        port=sink.port,
        ready_timeout=10,
        server_hostname="localhost",
        **options,
    )
    controller.start()
    yield request.param, sink
    controller.stop()


def _settings(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    security: str,
    sink: Sink,
    certificate: tuple[Path, Path] | None,
    password: str = PASSWORD,
) -> Settings:
    trust = {"relay_ca_file": str(certificate[0])} if certificate else {}
    return set_env(
        monkeypatch,
        env,
        relay_host=sink.host,
        relay_port=str(sink.port),
        relay_security=security,
        relay_username=USER,
        relay_password=password,
        **trust,
    )


def test_answer_goes_over_tls_with_login(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tls_relay: tuple[str, Sink],
    certificate: tuple[Path, Path],
) -> None:
    security, sink = tls_relay
    settings = _settings(env, monkeypatch, security, sink, certificate)
    raw = mail_bytes("simple_question.eml")
    where = deliver(settings, raw, "consult@localhost", ["d@example.org"], "x")
    assert where == f"127.0.0.1:{sink.port}"
    assert len(sink.envelopes) == 1 and sink.envelopes[0].rcpt_tos == ["d@example.org"]


def test_wrong_password_keeps_the_answer_for_a_later_try(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tls_relay: tuple[str, Sink],
    certificate: tuple[Path, Path],
) -> None:
    security, sink = tls_relay
    settings = _settings(env, monkeypatch, security, sink, certificate, password="wrong-one-9")
    with pytest.raises(Transient, match="refused our login"):
        deliver(settings, mail_bytes("simple_question.eml"), "c@localhost", ["d@example.org"], "x")
    assert sink.envelopes == []


def test_untrusted_certificate_is_refused(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tls_relay: tuple[str, Sink],
) -> None:
    security, sink = tls_relay
    settings = _settings(env, monkeypatch, security, sink, certificate=None)  # system CAs only
    with pytest.raises(Transient, match="CERTIFICATE_VERIFY_FAILED"):
        deliver(settings, mail_bytes("simple_question.eml"), "c@localhost", ["d@example.org"], "x")
    assert sink.envelopes == []
