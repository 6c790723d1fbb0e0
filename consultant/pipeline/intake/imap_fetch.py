"""IMAP fetch planning, what a fetch yields, and connection signs; no database here.

Windows of UIDs, byte-bounded fetch groups with oversize mail set apart,
the marker recorded in place of a mail the server cannot return, the reading
of IDLE responses (BYE, new mail) and of a silent hang-up, and the reconnect
backoff.
"""

from __future__ import annotations

import random
import select
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from imapclient import IMAPClient

from consultant.settings import Mailbox

BACKOFF_START = 1.0


class ConnectionLost(Exception):
    """The server said BYE or closed the connection."""


@dataclass(slots=True)
class Fetched:
    """One mail as the server gave it; `reason` set means: record, quarantined."""

    uid: int
    raw: bytes
    size: int
    reason: str | None = None


def backoff(failures: int, ceiling: float) -> float:
    """Exponential backoff with jitter: ~1, 2, 4 … seconds, at most `ceiling`."""
    delay: float = min(ceiling, BACKOFF_START * 2 ** (failures - 1))
    return random.uniform(delay / 2, delay)


def chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fetch_groups(
    window: Sequence[int], sizes: dict[int, dict[bytes, object]], limit: int, budget: int
) -> Iterator[tuple[bool, list[int]]]:
    """Split a window, in UID order, into (oversize?, uids) fetch groups."""
    group: list[int] = []
    group_bytes = 0
    for uid in window:
        if uid not in sizes:
            continue  # Expunged since the search.
        size = int(str(sizes[uid].get(b"RFC822.SIZE", 0)))
        if size > limit:
            if group:
                yield False, group
                group, group_bytes = [], 0
            yield True, [uid]
            continue
        if group and group_bytes + size > budget:
            yield False, group
            group, group_bytes = [], 0
        group.append(uid)
        group_bytes += size
    if group:
        yield False, group


def highest_uid(client: IMAPClient, status: dict[bytes, int]) -> int:
    if b"UIDNEXT" in status:
        return int(status[b"UIDNEXT"]) - 1
    return max(client.search(["ALL"]), default=0)


def marker(mailbox: Mailbox, uid: int) -> bytes:
    return f"X-Consultant-Unreadable: {mailbox.name} UID {uid}\r\n\r\n".encode()


def header_or_marker(head: object, mailbox: Mailbox, uid: int) -> bytes:
    return head if isinstance(head, bytes) and head.strip() else marker(mailbox, uid)


def is_bye(response: tuple[object, ...]) -> bool:
    return bool(response) and response[0] == b"BYE"


def is_news(response: tuple[object, ...]) -> bool:
    return len(response) > 1 and response[1] in (b"EXISTS", b"RECENT")


def peer_closed(client: IMAPClient) -> bool:
    """True when the server has hung up (imapclient's idle_check hides EOF)."""
    sock = client.socket()
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLRDHUP)
    hangup = select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL
    return any(events & hangup for _, events in poller.poll(0))
