"""Commit, then enqueue: the one hand-over of a committed row to its task.

Every shell and stage that writes an inbound or outbox row commits it first
and then hands its id to the broker. If the broker cannot take it, nothing is
lost: the row is stored in the state the sweep looks for, and the sweep
enqueues it on its next tick. `hand_over` says which happened and logs the
second once, without the error's text (a broker URL may be in it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def hand_over(enqueue: Callable[[int], None], row_id: int, what: str) -> bool:
    """Enqueue the committed row `row_id` (`what`: "inbound", "outbound"); False when
    the broker could not take it and the sweep will."""
    try:
        enqueue(row_id)
    except Exception as error:  # the row is committed: a failed enqueue only delays it
        log.warning(
            "%s %s stored; the queue is unreachable (%s), the sweep will hand it over",
            what,
            row_id,
            type(error).__name__,
        )
        return False
    return True
