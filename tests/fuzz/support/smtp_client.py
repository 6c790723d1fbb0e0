"""A raw SMTP client socket for the fuzzer: send bytes, read one reply, close or reset.

Input: the intake's port. Output: `Client`, which sends exactly the bytes it
is given (no quoting, no dot-stuffing) and reads one reply's lines at a time,
raising `Closed` at end of stream and `Stalled` when no reply comes within
TIMEOUT. State: one connection and its unread bytes.
"""

from __future__ import annotations

import socket
import struct

TIMEOUT = 20.0  # seconds a reply may take before the server counts as stalled


class Closed(Exception):
    """The server closed the connection."""


class Stalled(Exception):
    """The server sent no reply within TIMEOUT."""


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> list[str]:
        """One reply's lines; Closed at end of stream, Stalled on timeout."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                try:
                    chunk = self.sock.recv(65536)
                except TimeoutError:
                    raise Stalled from None
                except ConnectionResetError:
                    raise Closed from None
                if not chunk:
                    raise Closed
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return lines

    def close(self, reset: bool = False) -> None:
        if reset:  # RST instead of FIN
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
