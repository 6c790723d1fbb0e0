"""Commit, then enqueue: a broker that cannot take a committed row delays it, never loses
it, and the log says so without the error's text."""

from __future__ import annotations

import logging

import pytest

from consultant.handoff import hand_over


def test_a_row_the_broker_takes_is_handed_over() -> None:
    taken: list[int] = []
    assert hand_over(taken.append, 7, "outbound")
    assert taken == [7]


def test_a_broker_that_cannot_take_it_leaves_the_row_to_the_sweep(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def down(row_id: int) -> None:
        raise ConnectionError("redis://:s3cret@broker.internal:6379/0 refused")

    with caplog.at_level(logging.WARNING):
        assert not hand_over(down, 7, "outbound")
    assert [r.getMessage() for r in caplog.records] == [
        "outbound 7 stored; the queue is unreachable (ConnectionError), the sweep will hand it over"
    ]
    assert "s3cret" not in caplog.text
