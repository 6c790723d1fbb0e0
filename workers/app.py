"""The Celery app, configured from Settings on first use (never at import).

JSON only, late acknowledgement, tasks of a lost worker rejected back onto
the queue, one message prefetched per process: a crash loses no task, and
the sweep covers the rest. Soft and hard time limits end a task that hangs.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, bootsteps

from consultant.filemodes import private_dir, private_sqlite
from consultant.settings import Settings, get_settings
from workers import broker

QUEUE = "consultant"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings for this deployment."""
    private_dir(settings.var_dir)
    private_sqlite(settings.broker_url)  # before kombu creates the file with the umask's mode
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": _transport_options(settings.broker_url),
        "task_default_queue": QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # A task past the soft limit gets SoftTimeLimitExceeded (its mail is then
        # quarantined, workers/overtime.py); past the hard one its process is killed.
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "enable_utc": True,
        "beat_schedule": {
            "sweep": {"task": "pipeline.sweep", "schedule": settings.sweep_interval},
            "purge": {"task": "pipeline.purge", "schedule": settings.purge_interval},
            "code-drop": {"task": "codes.drop_folder", "schedule": settings.code_drop_interval},
            "code-check": {
                "task": "codes.check_currency",
                "schedule": settings.code_check_interval,
            },
        },
        "beat_schedule_filename": str(settings.var_dir / "celerybeat-schedule"),
        "imports": ["workers.tasks"],
    }


def _transport_options(broker_url: str) -> dict[str, Any]:
    if broker_url.startswith(("redis://", "rediss://")):
        # An unacknowledged task returns to the queue after this long if its
        # worker vanished; longer than any task of ours runs.
        return {"visibility_timeout": 3600}
    return {}


# How often a worker on a polling transport (the embedded profile's SQLite
# broker) looks again while its prefetch slots are full. kombu sleeps its
# polling interval (1 s) whenever a slot is busy, so a worker took its next
# task up to a second after finishing one: the embedded pipeline ran at about
# `concurrency` mails a second. A poll while the slots are full reads nothing;
# one with a free slot is a query, so an idle worker keeps kombu's interval.
BUSY_POLLING_INTERVAL = 0.02
IDLE_POLLING_INTERVAL = 1.0


class PollSoon(bootsteps.StartStopStep):  # type: ignore[misc]
    """Poll a polling transport often while busy, as kombu does when idle.

    kombu's SQLAlchemy transport hands every transport option to
    create_engine, so the interval cannot travel in broker_transport_options;
    this sets it on the consumer's transport before each wait instead.
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, consumer: Any) -> None:
        transport = consumer.connection.transport
        if transport.implements.asynchronous:  # Redis waits on its socket instead
            return
        drain = type(transport).drain_events

        def drain_events(connection: Any, timeout: float | None = None) -> Any:
            busy = any(not channel.qos.can_consume() for channel in transport.channels)
            transport.polling_interval = BUSY_POLLING_INTERVAL if busy else IDLE_POLLING_INTERVAL
            # Celery waits 2 s per cycle and kombu sleeps a whole interval past
            # that, so a SIGTERM was noticed up to 3 s late; one interval is enough.
            timeout = min(timeout or IDLE_POLLING_INTERVAL, IDLE_POLLING_INTERVAL)
            return drain(transport, connection, timeout=timeout)

        transport.drain_events = drain_events


broker.install()  # before any connection: kombu caches the class per scheme
app = Celery("consultant")
app.steps["consumer"].add(PollSoon)


def declare_queue() -> None:
    """Create the task queue now, and with it a SQL broker's tables, before
    processes that start together race to (kombu creates its tables in each
    process that opens the broker, which is not safe across processes).
    """
    with app.connection_for_write() as connection:
        app.amqp.queues[QUEUE].bind(connection.default_channel).declare()


@app.on_configure.connect  # type: ignore[untyped-decorator]
def _configure(sender: Celery, **_: Any) -> None:
    sender.config_from_object(celery_config(get_settings()))


import workers.tasks  # noqa: E402,F401  (registers the tasks on `app`)
