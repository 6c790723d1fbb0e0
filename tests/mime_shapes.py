"""Mails of a given MIME shape, for the limit tests: many parts, or deep nesting."""

from __future__ import annotations

HEAD = (
    b"From: Dana Coder <dana@example.org>\r\n"
    b"To: consult@localhost\r\n"
    b"Subject: Can 20700 go with 27447?\r\n"
    b"Message-ID: <%s@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def many_parts(count: int, tag: str = "many") -> bytes:
    """A multipart/mixed mail whose parts, the mail itself included, number `count`."""
    part = b"--b\r\nContent-Type: text/plain\r\n\r\nModifier 59?\r\n"
    return (
        HEAD % f"{tag}-{count}".encode()
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + part * (count - 1)
        + b"--b--\r\n"
    )


def nested(depth: int, tag: str = "deep") -> bytes:
    """A mail of `depth` multiparts one inside the other, a text part in the innermost."""
    lines = [HEAD % f"{tag}-{depth}".encode()]
    for level in range(depth):
        lines.append(
            b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
        )
    lines.append(b"Content-Type: text/plain\r\n\r\nCan 20700 go with 27447?\r\n")
    lines.extend(b"--b%d--\r\n" % level for level in reversed(range(depth)))
    return b"".join(lines)


def with_content_type(raw: bytes, value: bytes) -> bytes:
    """`raw` (from many_parts) with its top Content-Type value replaced by `value`."""
    return raw.replace(
        b"Content-Type: multipart/mixed; boundary=b\r\n", b"Content-Type: " + value + b"\r\n", 1
    )
