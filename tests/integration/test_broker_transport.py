"""A worker's broker connection, cleaned up after Redis went away, against a
real redis-server: the cleanup Celery runs before reconnecting must end in
connection errors only, which it ignores, and never kill the worker.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.common import ignore_errors
from kombu.transport import redis as kombu_redis

from tests.integration.servers import PrivateRedis
from tests.ports import free_port
from workers import broker

pytestmark = [pytest.mark.integration, pytest.mark.redis]

QUEUE = Queue("broker-test", Exchange("broker-test"), "broker-test")


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port())
    server.start()
    yield server
    server.stop()


def connection_lost_while_waiting(server: PrivateRedis, transport: type) -> Connection:
    """A connection whose two channels wait on BRPOP, the first holding one
    unacknowledged message, when Redis stops: a busy worker's, at the moment
    the broker goes away.
    """
    connection = Connection(server.url, transport=transport)
    first = connection.default_channel
    Producer(first).publish(
        {"n": 1}, exchange=QUEUE.exchange, routing_key="broker-test", declare=[QUEUE]
    )
    held = QUEUE(first).get(no_ack=False)
    assert held is not None
    second = connection.channel()
    for channel in (first, second):
        Consumer(channel, [QUEUE], callbacks=[lambda body, message: None]).consume()
    with pytest.raises(socket.timeout):  # BRPOP sent on both channels, nothing came
        connection.drain_events(timeout=0.2)
    server.stop()
    return connection


def clean_up_as_celery_does(connection: Connection) -> None:
    """celery.worker.consumer.Consumer.on_connection_error_after_connected:
    collect the connection (any error ignored), then close it, ignoring
    connection errors; any other error ends the worker.
    """
    with contextlib.suppress(Exception):
        connection.collect(socket_timeout=1)
    ignore_errors(connection, connection.close)


def test_broker_urls_get_the_fixed_transports() -> None:
    import workers.app  # noqa: F401  (installs the transports)

    for url, transport in [
        ("redis://127.0.0.1:1/0", broker.RedisTransport),
        ("rediss://127.0.0.1:1/0", broker.RedisTransport),
        ("sqla+sqlite:///broker.sqlite3", broker.SQLTransport),
    ]:
        assert isinstance(Connection(url).transport, transport), url


def test_cleanup_after_redis_went_away_raises_only_connection_errors(
    redis_server: PrivateRedis,
) -> None:
    connection = connection_lost_while_waiting(redis_server, broker.RedisTransport)
    clean_up_as_celery_does(connection)  # raised AttributeError before the fix
    redis_server.start()  # and the next connection works as ever
    with (
        Connection(redis_server.url, transport=broker.RedisTransport) as fresh,
        fresh.SimpleQueue("broker-test-after") as queue,
    ):
        queue.put({"n": 2})
        assert queue.get(timeout=5).payload == {"n": 2}


def test_kombu_own_transport_still_fails_so_the_fix_is_needed(
    redis_server: PrivateRedis,
) -> None:
    """Once this fails, kombu has fixed the bug: workers/broker.py can go."""
    connection = connection_lost_while_waiting(redis_server, kombu_redis.Transport)
    with pytest.raises(AttributeError, match="hostname"):
        clean_up_as_celery_does(connection)
