from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from consultant.pipeline.authres import AuthVerdict, read_authentication_results, split_header

TRUSTED = "mx.example.com"
BODY = "From: dana@example-clinic.org\nSubject: 99213?\n\nIs 99213 right?\n"


def mail(*results: str, newline: str = "\n") -> EmailMessage:
    headers = "".join(f"Authentication-Results: {value}\n" for value in results)
    raw = (headers + BODY).replace("\n", newline).encode("utf-8", "surrogateescape")
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def verdict(*results: str) -> AuthVerdict | None:
    return read_authentication_results(mail(*results), TRUSTED)


def test_reads_dmarc_spf_and_dkim_of_the_trusted_header() -> None:
    value = (
        "mx.example.com; dkim=pass header.d=example-clinic.org header.s=s1;"
        " spf=pass smtp.mailfrom=dana@example-clinic.org;"
        " dmarc=pass (p=none dis=none) header.from=example-clinic.org"
    )
    assert verdict(value) == AuthVerdict(
        authserv_id="mx.example.com", dmarc="pass", spf="pass", dkim="pass", header=value
    )


def test_dmarc_fail_with_policy_comment() -> None:
    found = verdict("mx.example.com; dmarc=fail (p=reject dis=none) header.from=example.com")
    assert found is not None and found.dmarc == "fail" and found.spf is None


def test_no_trusted_header_gives_none() -> None:
    assert verdict("other.example.net; dmarc=pass header.from=example.com") is None
    assert verdict() is None


def test_forged_header_below_the_trusted_one_is_ignored() -> None:
    # Our MTA prepends its header, so a sender's forgery sits below it.
    found = verdict(
        "mx.example.com; dmarc=fail header.from=bank.example; spf=softfail",
        "mx.example.com; dmarc=pass header.from=bank.example; spf=pass",
    )
    assert found is not None and (found.dmarc, found.spf) == ("fail", "softfail")


def test_outsiders_header_on_top_is_skipped_for_the_trusted_one() -> None:
    found = verdict(
        "evil.example; dmarc=pass header.from=bank.example",
        "mx.example.com; dmarc=fail header.from=bank.example",
    )
    assert found is not None and found.dmarc == "fail"


def test_arc_authentication_results_are_ignored() -> None:
    raw = ("ARC-Authentication-Results: i=1; mx.example.com; dmarc=pass\n" + BODY).encode()
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert read_authentication_results(msg, TRUSTED) is None


@pytest.mark.parametrize(
    "value",
    [
        '"mx.example.com"; dmarc=pass',
        "MX.Example.COM; dmarc=pass",
        "mx.example.com 1; dmarc=pass",
        "(our border MTA) mx.example.com (v1) 1 ; (checked) dmarc = pass",
        "mx.example.com;dmarc=pass",
        "mx.example.com;\n  dmarc=pass\n  header.from=example.com",
        'mx.example.com; spf=pass reason="a; b" smtp.mailfrom=x; dmarc/1=pass',
    ],
)
def test_authserv_id_forms_and_cfws(value: str) -> None:
    found = verdict(value)
    assert found is not None and found.dmarc == "pass" and "\n" not in found.header


def test_authserv_id_must_match_exactly() -> None:
    assert verdict("mx.example.com.evil.example; dmarc=pass") is None
    assert verdict("(mx.example.com) evil.example; dmarc=pass") is None
    assert verdict("evil.example; (mx.example.com) dmarc=pass") is None


def test_no_results() -> None:
    found = verdict("mx.example.com; none")
    assert found == AuthVerdict("mx.example.com", None, None, None, "mx.example.com; none")


@pytest.mark.parametrize(
    ("value", "dkim"),
    [
        ("mx.example.com; dkim=fail header.d=a.example; dkim=pass header.d=b.example", "pass"),
        ("mx.example.com; dkim=neutral header.d=a.example; dkim=fail header.d=b", "neutral"),
        ("mx.example.com; dkim=none", "none"),
        ("mx.example.com; DKIM=Pass (2048-bit key) header.d=a.example", "pass"),
    ],
)
def test_dkim_takes_any_pass_else_the_first(value: str, dkim: str) -> None:
    found = verdict(value)
    assert found is not None and found.dkim == dkim


@pytest.mark.parametrize("result", ["temperror", "permerror", "bestguesspass", "none"])
def test_other_dmarc_results_are_kept(result: str) -> None:
    found = verdict(f"mx.example.com; dmarc={result}")
    assert found is not None and found.dmarc == result


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    msg = mail("mx.example.com;\n spf=fail smtp.mailfrom=x", newline=newline)
    found = read_authentication_results(msg, TRUSTED)
    assert found is not None and found.spf == "fail"


@pytest.mark.parametrize(
    "value",
    ["", ";", '"', '"mx.example.com', "(((", "mx.example.com; =;==; dkim=", "\xff\xfe; x"],
)
def test_broken_values_never_raise(value: str) -> None:
    verdict(value)
    split_header(value)


def test_empty_trusted_id_matches_nothing() -> None:
    assert read_authentication_results(mail("; dmarc=pass"), "") is None
