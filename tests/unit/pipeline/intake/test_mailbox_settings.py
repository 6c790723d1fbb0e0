"""Mailbox settings and secrets: what an operator can get wrong is refused clearly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from consultant.pipeline.intake.imap_fetch import backoff, fetch_groups
from consultant.pipeline.intake.mailbox import CredentialError, read_secret
from consultant.settings import Mailbox, Settings
from tests.conftest import REPO, set_env

BASE = {"name": "consult", "host": "imap.example.org", "username": "consult@example.org"}


def mailbox(**fields: object) -> Mailbox:
    return Mailbox.model_validate({**BASE, "password_file": "/run/secrets/imap", **fields})


def test_example_mailboxes_file_is_valid(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = REPO / "config" / "mailboxes.example.yaml"
    settings = set_env(monkeypatch, env, mailboxes_file=str(example))
    assert [m.name for m in settings.mailboxes] == ["consult", "m365"]
    assert settings.mailboxes[0].imap_port == 993
    assert settings.mailboxes[0].after == "leave"
    assert settings.mailboxes[1].auth == "xoauth2"


def test_mailboxes_can_come_as_json_from_the_environment(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {**BASE, "security": "starttls", "password_command": "pass show imap"}
    settings = set_env(monkeypatch, env, mailboxes=json.dumps([entry]))
    assert settings.mailboxes[0].imap_port == 143
    assert settings.mailboxes[0].source == "imap:consult"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password_file": None}, "exactly one of password, password_file, password_command"),
        ({"password": "hunter22"}, "exactly one of"),
        ({"password_file": None, "password": "changeme"}, "placeholder"),
        ({"auth": "xoauth2"}, "exactly one of token_file, token_command"),
        ({"after": "move"}, "move_to is needed"),
        ({"move_to": "Done"}, "move_to is needed"),
        ({"after": "move", "move_to": "INBOX"}, "must differ"),
        ({"name": "two words"}, "should match pattern"),
        ({"idle_renew": 29 * 60}, "less than 1740"),
        ({"colour": "blue"}, "Extra inputs"),
    ],
)
def test_mailbox_mistakes_are_refused_with_the_reason(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        mailbox(**fields)


def test_mailbox_names_must_be_unique() -> None:
    entry = {**BASE, "password_file": "/x"}
    with pytest.raises(ValidationError, match="unique"):
        Settings(mailboxes=[entry, entry])


def test_unreadable_mailboxes_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read the mailboxes file"):
        Settings(mailboxes_file=tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("mailboxes: [\n")
    with pytest.raises(ValidationError, match="not valid YAML"):
        Settings(mailboxes_file=broken)


def test_secret_is_read_from_a_file_at_each_call(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first-token\n")
    box = mailbox(auth="xoauth2", password_file=None, token_file=str(token))
    assert read_secret(box) == "first-token"
    token.write_text("rotated-token\n")
    assert read_secret(box) == "rotated-token"


def test_secret_command_output_is_used_and_failures_do_not_quote_it(tmp_path: Path) -> None:
    ok = f"{sys.executable} -c 'print(\"from-command\")'"
    assert read_secret(mailbox(password_file=None, password_command=ok)) == "from-command"
    failing = f"{sys.executable} -c 'import sys; print(\"leaked-secret\"); sys.exit(3)'"
    with pytest.raises(CredentialError, match="exited with status 3") as caught:
        read_secret(mailbox(password_file=None, password_command=failing))
    assert "leaked-secret" not in str(caught.value)
    with pytest.raises(CredentialError, match="cannot read"):
        read_secret(mailbox(password_file=str(tmp_path / "nope")))
    with pytest.raises(CredentialError, match="cannot run"):
        read_secret(mailbox(password_file=None, password_command="/no/such/program"))


def test_fetch_groups_keep_uid_order_bound_bytes_and_isolate_oversize() -> None:
    sizes = {
        uid: {b"RFC822.SIZE": size} for uid, size in [(1, 40), (2, 40), (3, 500), (5, 30), (6, 90)]
    }
    groups = list(fetch_groups([1, 2, 3, 4, 5, 6], sizes, limit=100, budget=100))
    # UID 4 vanished (expunged) and is skipped; 3 is oversize on its own.
    assert groups == [(False, [1, 2]), (True, [3]), (False, [5]), (False, [6])]


def test_backoff_grows_with_jitter_up_to_the_ceiling() -> None:
    delays = [backoff(n, 300) for n in range(1, 12)]
    assert 0.5 <= delays[0] <= 1.0
    assert 4.0 <= delays[3] <= 8.0
    assert all(150 <= d <= 300 for d in delays[9:])
