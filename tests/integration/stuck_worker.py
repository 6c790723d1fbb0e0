"""`consultant worker` whose parse never returns for mails marked X-Test-Stuck: the
time-limit tests' slow task (python -m tests.integration.stuck_worker ARGS).

"soft": parse waits for a signal, so Celery's soft limit (SIGUSR1, raising
SoftTimeLimitExceeded) ends it. "hard": parse also swallows that exception and
waits again, as code stuck outside Python would, so only the hard limit ends it.
Any other mail is parsed as usual. The wait is for a signal, not a clock.
"""

from __future__ import annotations

import signal
import sys

from celery.exceptions import SoftTimeLimitExceeded

from consultant.pipeline import process
from consultant.pipeline.parse import ParsedMessage, parse


def stuck_parse(raw: bytes) -> ParsedMessage:
    if b"X-Test-Stuck: soft" in raw:
        signal.pause()
    if b"X-Test-Stuck: hard" in raw:
        while True:
            try:
                signal.pause()
            except SoftTimeLimitExceeded:
                continue
    return parse(raw)


if __name__ == "__main__":
    process.parse = stuck_parse  # the worker's children are forked with it
    from consultant.cli import main

    main(["worker", *sys.argv[1:]])
