"""kombu's Redis and SQLAlchemy transports, each with one fix (kombu 5.7.0).

Redis: a worker survives losing Redis. When a worker loses its broker
connection, Celery collects the connection (kombu closes its channels, then
the transport) and closes it once more. A channel waiting on BRPOP fails its
first close on the dead socket; if another channel's close then fails too,
kombu stops closing channels and closes the transport anyway. The second close
reaches the channel still open, which gives back its unacknowledged messages
through a Redis client built from the closed transport: AttributeError, which
no close path expects, so the worker exited ("Unrecoverable error") instead of
reconnecting. The Redis chaos test met it once in CI and in 2 of 14 runs on a
loaded machine. Here a channel of a closed transport says what happened, a
connection error, which every close path already ignores. The messages it
could not give back are in Redis's unacked set and return after the
visibility timeout; a Redis restarted empty loses them, and the sweep enqueues
their mails again.

SQLAlchemy (the embedded profile's broker): processes may create a queue at
once. kombu looks the queue up, then inserts it, guarded by a lock of its own
process only; the second process to insert met the UNIQUE constraint, and a
worker that declared its queue as the intake published its first task exited.
Here that process reads the row the other one wrote.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from kombu.transport import sqlalchemy as kombu_sql
from sqlalchemy.exc import IntegrityError


class RedisChannel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:  # the transport was closed under us
            raise redis.ConnectionError("the connection to the broker is closed")
        params: dict[str, Any] = super()._connparams(asynchronous)  # type: ignore[no-untyped-call]
        return params


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


class SQLChannel(kombu_sql.Channel):
    def _get_or_create(self, queue: str) -> Any:
        try:
            return super()._get_or_create(queue)  # type: ignore[no-untyped-call]
        except IntegrityError:  # another process inserted it after our lookup
            self.session.rollback()
            return self.session.query(self.queue_cls).filter(self.queue_cls.name == queue).one()


class SQLTransport(kombu_sql.Transport):
    Channel = SQLChannel


def install() -> None:
    """Serve broker URLs of these schemes with the transports above.

    Through kombu's alias table rather than Celery's broker_transport, so the
    URL's scheme still reaches kombu: it turns TLS on for rediss://.
    """
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:RedisTransport"
    for scheme in ("sqla", "sqlalchemy"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:SQLTransport"
