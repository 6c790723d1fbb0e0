"""The three outcomes of a stage: done, Quarantine (the mail is the problem),
Transient (the world is the problem). Anything else is a bug."""


class Quarantine(Exception):
    """The mail itself cannot be handled; keep it, record why, move on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transient(Exception):
    """A temporary failure outside the mail (server down, 4xx); retry later."""


class ReviewError(Exception):
    """A reviewer's request that cannot be carried out, with the reason."""
