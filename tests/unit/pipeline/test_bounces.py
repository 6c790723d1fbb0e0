from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest

from consultant.pipeline.authres import read_authentication_results
from consultant.pipeline.bounces import Bounce, detect_bounce
from consultant.pipeline.robots import robot_reason
from tests.conftest import need, shared_dir

SISIMAI = "sisimai-set-of-emails/maildir"
DAEMON = "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nTo: desk@example.com\n"
PERSON = "From: Dana Biller <dana.biller@example-clinic.org>\nTo: desk@example.com\n"

DSN = """\
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: desk@example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.org>
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; Dana.Biller@Example-Clinic.org
Original-Recipient: rfc822;dana@example-clinic.org
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <dana.biller@example-clinic.org>:
    Recipient address rejected: User unknown

--B
Content-Type: {returned}

Message-ID: <answer-7@desk.example.com>
From: desk@example.com
Subject: Your coding question

Here is the answer.
--B--
"""


def mail(text: str, newline: str = "\n") -> EmailMessage:
    raw = text.replace("\n", newline).encode("utf-8", "surrogateescape")
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def dsn(action: str = "failed", status: str = "5.1.1", returned: str = "message/rfc822") -> str:
    return DSN.format(action=action, status=status, returned=returned)


@cache
def read(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@cache
def bounce_of(path: Path) -> Bounce | None:
    return detect_bounce(read(path))


def corpus_root() -> Path:
    root = shared_dir() / "corpus" / "mail-robustness"
    need(root.is_dir(), f"shared corpus {root} is missing")
    return root


def files(folder: str) -> list[Path]:
    return sorted(path for path in (corpus_root() / folder).iterdir() if path.is_file())


def sisimai_bounces() -> list[Path]:
    """Every sisimai bounce sample: all line-ending variants, err/ and tmp/."""
    folders = [f"{SISIMAI}/{name}" for name in ("bsd", "dos", "mac", "err", "tmp")]
    return [
        path
        for folder in folders
        for path in files(folder)
        if not path.name.startswith(("arf-", "rfc3834-"))
    ]


# RFC 3464 reports


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_rfc3464_report_gives_recipient_status_and_returned_id(newline: str) -> None:
    bounce = detect_bounce(mail(dsn(), newline))
    assert bounce == Bounce(
        original_message_ids=("<answer-7@desk.example.com>",),
        recipient="dana.biller@example-clinic.org",
        status="5.1.1",
        action="failed",
        diagnostic="smtp; 550 5.1.1 <dana.biller@example-clinic.org>: "
        "Recipient address rejected: User unknown",
        permanent=True,
    )


def test_returned_headers_only_still_give_the_original_id() -> None:
    bounce = detect_bounce(mail(dsn(returned="text/rfc822-headers")))
    assert bounce is not None
    assert bounce.original_message_ids == ("<answer-7@desk.example.com>",)


def test_delay_report_is_a_transient_bounce() -> None:
    bounce = detect_bounce(mail(dsn(action="delayed", status="4.4.7")))
    assert bounce is not None
    assert (bounce.action, bounce.status, bounce.permanent) == ("delayed", "4.4.7", False)


def test_failed_recipient_is_reported_before_a_delivered_one() -> None:
    text = dsn().replace(
        "Reporting-MTA: dns; mx.example.org\n",
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; ok@example.org\nAction: delivered\nStatus: 2.0.0\n",
    )
    bounce = detect_bounce(mail(text))
    assert bounce is not None and bounce.recipient == "dana.biller@example-clinic.org"


def test_status_comes_from_the_diagnostic_when_the_status_field_is_junk() -> None:
    bounce = detect_bounce(mail(dsn(status="550")))
    assert bounce is not None and bounce.status == "5.1.1" and bounce.permanent


# Non-standard bounces

QMAIL = """\
Return-Path: <>
From: MAILER-DAEMON@mx.example.net
To: desk@example.com
Subject: failure notice
Message-ID: <q@mx.example.net>

Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<Gone@Example.net>:
192.0.2.1 does not like recipient.
Remote host said: 550 5.1.1 <gone@example.net>... User Unknown
Giving up on 192.0.2.1.

--- Below this line is a copy of the message.

Message-ID: <answer-8@desk.example.com>
From: desk@example.com
"""

EXIM = """\
Return-path: <>
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: desk@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: nobody@example.net

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  nobody@example.net
    SMTP error from remote mail server after RCPT TO:<nobody@example.net>:
    550 No such user here

------ This is a copy of the message, including all the headers. ------

Message-Id: <answer-9@desk.example.com>
From: desk@example.com
"""

SES = """\
From: SES <no-reply@sns.amazonaws.com>
To: desk@example.com
Subject: AWS Notification Message
Content-Type: text/plain

{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":
[{"emailAddress":"gone@example.org","action":"failed","status":"5.1.1",
"diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},"mail":{"headers":
[{"name":"Message-ID","value":"<answer-10@desk.example.com>"}],"commonHeaders":{}}}
"""


def test_qmail_bounce() -> None:
    bounce = detect_bounce(mail(QMAIL))
    assert bounce is not None
    assert bounce.recipient == "gone@example.net"
    assert bounce.status == "5.1.1" and bounce.permanent
    assert bounce.original_message_ids == ("<answer-8@desk.example.com>",)
    assert bounce.diagnostic == "Remote host said: 550 5.1.1 <gone@example.net>... User Unknown"


def test_exim_bounce_derives_status_from_the_reply_code() -> None:
    bounce = detect_bounce(mail(EXIM))
    assert bounce is not None
    assert bounce.recipient == "nobody@example.net"
    assert bounce.status == "5.0.0" and bounce.permanent and bounce.action is None
    assert bounce.original_message_ids == ("<answer-9@desk.example.com>",)


def test_amazon_ses_json_bounce() -> None:
    bounce = detect_bounce(mail(SES))
    assert bounce is not None
    assert (bounce.recipient, bounce.status, bounce.action) == (
        "gone@example.org",
        "5.1.1",
        "failed",
    )
    assert bounce.original_message_ids == ("<answer-10@desk.example.com>",)


def test_text_bounce_without_ids_falls_back_to_in_reply_to() -> None:
    text = (
        DAEMON + "In-Reply-To: <answer-11@desk.example.com>\n"
        "References: <q-1@clinic.example> <answer-11@desk.example.com>\n"
        "Subject: Returned mail\n\n"
        "Delivery to the following recipient failed permanently:\n\n"
        "     gone@example.org\n\n"
        "421 4.4.0 Temporary failure, retrying later\n"
    )
    bounce = detect_bounce(mail(text))
    assert bounce is not None
    assert bounce.original_message_ids == ("<answer-11@desk.example.com>", "<q-1@clinic.example>")
    assert bounce.recipient == "gone@example.org" and bounce.status == "4.4.0"


def test_delay_warning_without_codes_is_transient() -> None:
    text = (
        DAEMON + "Subject: Delivery Status Notification (Delay)\n\n"
        "Delivery to the following recipient has been delayed:\n\n     slow@example.org\n\n"
        "Message will be retried for 2 more day(s)\n"
    )
    bounce = detect_bounce(mail(text))
    assert bounce is not None and not bounce.permanent and bounce.recipient == "slow@example.org"


# Not bounces


def test_a_persons_mail_about_a_failed_delivery_is_not_a_bounce() -> None:
    text = (
        PERSON + "Subject: Undeliverable: my last question\n\n"
        "Hi, my mail to you could not be delivered, 550 5.1.1 user unknown. Resending.\n"
    )
    assert detect_bounce(mail(text)) is None


def test_a_forwarded_report_is_not_a_bounce() -> None:
    text = (
        PERSON + 'Subject: Fwd: bounce\nContent-Type: multipart/mixed; boundary="F"\n\n'
        "--F\nContent-Type: text/plain\n\nWhy did this bounce?\n"
        "--F\nContent-Type: message/rfc822\n\n" + dsn() + "\n--F--\n"
    )
    assert detect_bounce(mail(text)) is None


def test_vacation_reply_is_a_robot_but_not_a_bounce() -> None:
    text = (
        "From: dana@example-clinic.org\nAuto-Submitted: auto-replied\n"
        "Subject: Out of office\n\nI am out of the office until Monday.\n"
    )
    assert detect_bounce(mail(text)) is None
    assert robot_reason(mail(text)) == "Auto-Submitted: auto-replied"


@pytest.mark.parametrize(
    "text",
    [
        "From: Shop <no-reply@shop.example>\nSubject: Your order\n\nYour parcel was delayed.\n",
        "From: Bank <noreply@bank.example>\nSubject: Payment\n\nYour payment was rejected.\n",
        "From: a@b.example\nAuto-Submitted: auto-replied\n\nAway; mailbox is full of work.\n",
    ],
)
def test_robot_notices_with_weak_wording_are_not_bounces(text: str) -> None:
    assert detect_bounce(mail(text)) is None


@pytest.mark.parametrize("kind", ["feedback-report", "disposition-notification"])
def test_arf_and_mdn_reports_are_not_bounces(kind: str) -> None:
    text = dsn().replace("report-type=delivery-status", f"report-type={kind}")
    text = text.replace("message/delivery-status", f"message/{kind}")
    assert detect_bounce(mail(text)) is None


@pytest.mark.parametrize(
    "text",
    [
        "Content-Type: multipart/report; report-type=delivery-status\n\nno boundary\n",
        'Content-Type: multipart/report; boundary="x"\n\n--x\nContent-Type: message/'
        "delivery-status\nContent-Transfer-Encoding: base64\n\n!!!!\n--x--\n",
        DAEMON + "Subject: Returned mail\nContent-Type: text/plain; charset=x-unknown\n"
        "Content-Transfer-Encoding: quoted-printable\n\nuser unknown =\r=ZZ=\n",
        DAEMON + 'Content-Type: text/plain\n\n{"notificationType":"Bounce","bounce": [1,',
        DAEMON + 'X-Failed-Recipients: "\nContent-Type: message/rfc822\n\n',
    ],
)
def test_broken_bounces_never_raise(text: str) -> None:
    detect_bounce(mail(text))


LONG = 200_000


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    [
        DAEMON + "Subject: Undeliverable\n\nuser unknown\n" + "a" * LONG + "\n",
        DAEMON + "Subject: Undeliverable\n\n" + "5.5." * LONG + "\n" + "-" * LONG + "\n",
        f"From: {'a' * LONG}\nAuthentication-Results: {'(' * LONG}\n\nhi\n",
        "From: a@b\nContent-Type: text/html\n\n" + "<" * LONG + "<style>" * 1000 + "\n",
        DAEMON + "References: " + "<a" * LONG + "\n\nfailed:" + " \n" * LONG + "x\n",
    ],
)
def test_long_words_and_lines_take_linear_time(text: str) -> None:
    msg = mail(text)
    robot_reason(msg)
    detect_bounce(msg)
    read_authentication_results(msg, "mx.example.com")


# The corpus


def test_sisimai_bounces_are_detected() -> None:
    paths = sisimai_bounces()
    found = {path: bounce_of(path) for path in paths}
    missed = sorted(
        f"{path.parent.name}/{path.name}" for path, bounce in found.items() if not bounce
    )
    rate = 1 - len(missed) / len(paths)
    print(f"sisimai bounces detected: {len(paths) - len(missed)}/{len(paths)} = {rate:.3f}")
    print("missed:", missed)
    # Measured 794/802 = 0.990. The misses: two bounces forwarded by a person
    # (lhost-sendmail-14, err/make-test-36, rightly not bounces), fml's
    # mailing-list notices (lhost-fml-02, -03), postfix's transcript to the
    # postmaster (lhost-postfix-75) and SES complaint/delivery notices
    # (lhost-amazonses-11..13), none of which is a failed delivery.
    assert len(paths) == 802
    assert rate >= 0.98


def test_sisimai_bounces_are_bounces_or_at_least_robots() -> None:
    paths = sisimai_bounces()
    neither = [path for path in paths if not bounce_of(path) and not robot_reason(read(path))]
    print("neither bounce nor robot:", [path.name for path in neither])
    # Measured 798/802: the two forwarded bounces and fml's two list notices.
    assert len(neither) <= 6


def test_rfc3464_samples_give_recipient_and_status() -> None:
    paths = [path for path in sisimai_bounces() if path.name.startswith("rfc3464-")]
    bounces = [bounce_of(path) for path in paths]
    recipients = sum(1 for bounce in bounces if bounce and bounce.recipient)
    statuses = sum(1 for bounce in bounces if bounce and bounce.status)
    print(f"rfc3464: {len(paths)} files, {recipients} recipients, {statuses} statuses")
    # Measured 41/41 recipients and 35/41 statuses (rfc3464-37..39, in bsd and
    # tmp, are text-only notices that carry no code at all).
    assert len(paths) == 41 and all(bounces)
    assert recipients == 41 and statuses >= 35


def test_sisimai_line_ending_variants_agree() -> None:
    root = corpus_root() / SISIMAI
    names = sorted(path.name for path in (root / "mac").iterdir())
    for name in names:
        assert bounce_of(root / "dos" / name) == bounce_of(root / "mac" / name), name


@pytest.mark.parametrize("prefix", ["rfc3834-", "arf-"])
def test_auto_replies_and_feedback_reports_are_not_bounces(prefix: str) -> None:
    paths = [path for path in files(f"{SISIMAI}/bsd") if path.name.startswith(prefix)]
    assert paths and not [path.name for path in paths if detect_bounce(read(path))]


def test_not_folder() -> None:
    found = {path.name: detect_bounce(read(path)) for path in files(f"{SISIMAI}/not")}
    # A person's mail, and a person's mail with an attached original.
    assert found["is-not-bounce-01.eml"] is None
    assert found["is-not-bounce-02.eml"] is None
    # sisimai files this under not/ as a regression sample for a crash (its
    # rb-sisimai PR #369), but it is a real bounce: postmaster, Return-Path <>,
    # "an email you sent was rejected ... Mailbox full".
    bounce = found["rb-issue-368-bug.eml"]
    assert bounce is not None and bounce.permanent
    assert bounce.original_message_ids == ("<68e0b7e3615cd_1dc7010592ed@7cf4d87f87-9r5w2.mail>",)


def test_flanker_bounces_are_detected() -> None:
    paths = files("flanker/tests/fixtures/messages/bounce")
    bounces = {path.name: detect_bounce(read(path)) for path in paths}
    assert len(paths) == 9 and all(bounces.values())
    assert all(bounce and bounce.recipient for bounce in bounces.values())
    # Despite its name this is RFC 3464's example of a message given up on
    # after 5 days: Action failed with a 4.0.0 status is final.
    given_up = bounces["delayed.eml"]
    assert given_up is not None and given_up.action == "failed" and given_up.permanent


def test_flanker_complaints_are_not_bounces() -> None:
    paths = files("flanker/tests/fixtures/messages/complaints")
    assert paths and not any(detect_bounce(read(path)) for path in paths)


def test_mikel_multipart_reports_are_bounces() -> None:
    paths = files("mikel-mail/spec/fixtures/emails/multipart_report_emails")
    bounces = [detect_bounce(read(path)) for path in paths]
    assert len(paths) == 5
    assert all(bounce and bounce.recipient and bounce.status for bounce in bounces)


def test_every_corpus_file_classifies_without_raising() -> None:
    paths = sorted(path for path in corpus_root().rglob("*") if path.is_file())
    for path in paths:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        robot_reason(msg)
        detect_bounce(msg)
        read_authentication_results(msg, "mx.example.com")
    print(f"{len(paths)} corpus files classified")
    assert len(paths) >= 1442


def test_dsn_fields_with_8bit_bytes_and_nul_give_storable_text() -> None:
    # Found by the fuzz run: a byte that is not UTF-8 in the delivery-status block came
    # out as a lone surrogate in the diagnostic, and a NUL stayed in the recipient.
    text = DSN.format(action="failed", status="5.1.1", returned="message/rfc822")
    text = text.replace("User unknown", "User \udcff unknown").replace(
        "Original-Recipient: rfc822;dana@", "Original-Recipient: rfc822;\x00dana@"
    )
    bounce = detect_bounce(mail(text.replace("Final-Recipient: rfc822; Dana.Biller@", "X: ")))
    assert bounce is not None and bounce.diagnostic is not None
    bounce.diagnostic.encode("utf-8")  # no lone surrogates
    assert "\x00" not in (bounce.recipient or "")
    assert bounce.recipient == "dana@example-clinic.org"
