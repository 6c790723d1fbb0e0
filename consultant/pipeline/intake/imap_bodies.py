"""Fetch a folder's new mail from the IMAP server, group by group, never stopping on one mail.

Input: a logged-in client with the folder selected, and the UIDs to take.
Output: per fetch group, the mails as `Fetched` and the group's highest UID,
in UID order. Bodies are fetched with ``BODY.PEEK[]`` (nothing is marked
read), in windows of `batch_size` UIDs and groups of at most `batch_bytes`.
A mail over the size limit comes back as its header alone with the reason; a
mail over the MIME part or nesting limit comes back whole with the reason
(counted here, before anything parses it: consultant.pipeline.limits). A mail
the server cannot return (it answers NO, or hangs up each time that UID alone
is fetched) comes back as its header or a marker with the reason. A mail
with a reason is recorded and quarantined by the caller; the others go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from consultant.pipeline.intake.imap_fetch import (
    Fetched,
    chunks,
    fetch_groups,
    header_or_marker,
    marker,
)
from consultant.pipeline.limits import mime_limit_reason
from consultant.settings import Mailbox

log = logging.getLogger(__name__)

MAX_STRIKES = 2  # lost connections fetching one UID alone before it is recorded and skipped


class BodyFetcher:
    """Fetch one mailbox's mail; remember, across connections, which UIDs cost one."""

    def __init__(
        self,
        mailbox: Mailbox,
        max_size: int,
        mime_limits: tuple[int, int],
        stop: threading.Event,
    ) -> None:
        self.mailbox = mailbox
        self.max_size = max_size
        self.mime_limits = mime_limits
        self.stop = stop
        self._suspects: set[int] = set()  # UIDs whose FETCH lost the connection
        self._strikes: dict[int, int] = {}  # lost connections fetching one UID alone

    def groups(
        self, client: IMAPClient, uids: Sequence[int]
    ) -> Iterator[tuple[list[Fetched], int]]:
        """Yield (mails, highest UID) per fetch group, in UID order, until stopped."""
        for window in chunks(uids, self.mailbox.batch_size):
            sizes = client.fetch(window, ["RFC822.SIZE"])
            budget = self.mailbox.batch_bytes
            for oversize, group in fetch_groups(window, sizes, self.max_size, budget):
                if self.stop.is_set():
                    return
                if oversize:
                    yield self._oversize(client, group, sizes), max(group)
                else:
                    yield self._bodies(client, group), max(group)

    def _bodies(self, client: IMAPClient, uids: Sequence[int]) -> list[Fetched]:
        if len(uids) > 1 and self._suspects.intersection(uids):
            # Fetching these cost the connection before: one by one, to find which.
            return [mail for uid in uids for mail in self._bodies(client, [uid])]
        if len(uids) == 1 and self._strikes.get(uids[0], 0) >= MAX_STRIKES:
            return [self._poisoned(uids[0])]
        try:
            data = client.fetch(uids, ["BODY.PEEK[]"])
        except IMAPClientAbortError:
            # Some servers (Dovecot among them) hang up on a mail they cannot
            # read. Remember, so that one mail cannot block the folder forever.
            self._suspects.update(uids)
            if len(uids) == 1:
                self._strikes[uids[0]] = self._strikes.get(uids[0], 0) + 1
            raise
        except IMAPClientError as error:
            if len(uids) > 1:  # Find the one the server cannot return; take the rest.
                return [mail for uid in uids for mail in self._bodies(client, [uid])]
            reason = f"the IMAP server could not return UID {uids[0]}: {error}"
            return [self._unfetchable(client, uids[0], reason)]
        fetched = []
        for uid in uids:
            if uid not in data:
                continue  # Expunged by another client since the search.
            raw = data[uid].get(b"BODY[]")
            if isinstance(raw, bytes):
                fetched.append(
                    Fetched(uid, raw, len(raw), mime_limit_reason(raw, *self.mime_limits))
                )
            else:
                fetched.append(self._unfetchable(client, uid, f"UID {uid} came back empty"))
        return fetched

    def _oversize(
        self, client: IMAPClient, uids: Sequence[int], sizes: dict[int, dict[bytes, object]]
    ) -> list[Fetched]:
        headers = client.fetch(uids, ["BODY.PEEK[HEADER]"])
        fetched = []
        for uid in uids:
            size = int(str(sizes[uid][b"RFC822.SIZE"]))
            head = headers.get(uid, {}).get(b"BODY[HEADER]")
            reason = (
                f"{size} bytes, over the {self.max_size}-byte limit; only the header was "
                f"kept, the mail stays on the server (UID {uid})"
            )
            fetched.append(Fetched(uid, header_or_marker(head, self.mailbox, uid), size, reason))
        return fetched

    def _poisoned(self, uid: int) -> Fetched:
        reason = (
            f"the IMAP server dropped the connection each of the {MAX_STRIKES} times "
            f"UID {uid} was fetched; it stays on the server"
        )
        log.warning("mailbox %s: UID %d skipped: %s", self.mailbox.name, uid, reason)
        raw = marker(self.mailbox, uid)
        return Fetched(uid, raw, len(raw), reason)

    def _unfetchable(self, client: IMAPClient, uid: int, reason: str) -> Fetched:
        try:
            head = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]")
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            head = None
        raw = header_or_marker(head, self.mailbox, uid)
        return Fetched(uid, raw, len(raw), f"{reason}; it stays on the server")
