"""Where the IMAP poller resumes in a folder: the checkpoint rules.

One row per mailbox holds its UIDVALIDITY and the highest UID stored. On
first contact the poller takes the backlog (`start: all`) or only new mail
(`start: new`); under the same UIDVALIDITY it resumes after the stored UID;
a new UIDVALIDITY, or UIDs that went backwards (which RFC 3501 forbids),
restart from zero: a full resync in which stored mail is recognised.
"""

from __future__ import annotations

import logging

from imapclient import IMAPClient
from sqlalchemy.orm import Session

from consultant.db.models import MailboxCheckpoint
from consultant.pipeline.intake.imap_fetch import highest_uid
from consultant.settings import Mailbox

log = logging.getLogger(__name__)


def start_point(
    session: Session,
    mailbox: Mailbox,
    uidvalidity: int,
    status: dict[bytes, int],
    client: IMAPClient,
) -> int:
    """Return the UID after which to take mail, recording any change of start."""
    checkpoint = session.get(MailboxCheckpoint, mailbox.name)
    if checkpoint is None:
        last = 0 if mailbox.start == "all" else highest_uid(client, status)
        log.info("mailbox %s: first contact, starting after UID %d", mailbox.name, last)
    elif checkpoint.uidvalidity != uidvalidity:
        log.warning(
            "mailbox %s: UIDVALIDITY changed from %d to %d; resyncing the folder "
            "(mail already stored is recognised)",
            mailbox.name,
            checkpoint.uidvalidity,
            uidvalidity,
        )
        last = 0
    elif 0 < int(status.get(b"UIDNEXT", 0)) <= checkpoint.last_uid:
        # UIDs went backwards under the same UIDVALIDITY (a server restored
        # from backup, say): RFC 3501 forbids it, so trust nothing and resync.
        log.warning(
            "mailbox %s: UIDNEXT %d is not above the checkpoint (UID %d); resyncing",
            mailbox.name,
            status[b"UIDNEXT"],
            checkpoint.last_uid,
        )
        last = 0
    else:
        return checkpoint.last_uid
    advance_checkpoint(session, mailbox.name, uidvalidity, last, force=True)
    return last


def advance_checkpoint(
    session: Session, name: str, uidvalidity: int, last_uid: int, force: bool = False
) -> None:
    """Move the checkpoint forward (never back, unless `force` or a new UIDVALIDITY)."""
    checkpoint = session.get(MailboxCheckpoint, name)
    if checkpoint is None:
        session.add(MailboxCheckpoint(mailbox=name, uidvalidity=uidvalidity, last_uid=last_uid))
    elif force or checkpoint.uidvalidity != uidvalidity:
        checkpoint.uidvalidity, checkpoint.last_uid = uidvalidity, last_uid
    else:
        checkpoint.last_uid = max(checkpoint.last_uid, last_uid)
