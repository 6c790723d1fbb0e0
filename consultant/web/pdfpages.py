"""PDF pages as PNG images, for the console's attachment frame (Chromium renders no PDF
inside a sandboxed frame, so the server draws the pages).

A PDF from a mail is untrusted input to C code (PDFium), so it is read only in a
child process: `python -m consultant.web.pdfpages MAX_PAGES` reads the PDF on
stdin, sets its own resource limits (address space, CPU, no files) before PDFium
is loaded, and writes to stdout the page count and then each of the first
MAX_PAGES pages as a length-prefixed PNG, WIDTH pixels wide. The console waits
at most TIMEOUT seconds, at most RENDERERS at a time.

State: `PAGES`, the rendered pages of the PDFs shown lately, by sha256 of their
bytes, bounded by CACHE_BYTES of PNG (least recently shown dropped first).
"""

from __future__ import annotations

import hashlib
import resource
import struct
import subprocess
import sys
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import BinaryIO

MODULE = "consultant.web.pdfpages"
WIDTH = 1000  # pixels of a rendered page
MAX_HEIGHT = 4000  # pixels; a very tall page is scaled down to this
TIMEOUT = 20.0  # seconds the console waits for one PDF
MEMORY = 1 << 30  # bytes of address space the renderer may use
CPU_SECONDS = 20
RENDERERS = 2  # child processes at once; more requests wait for a slot
CACHE_BYTES = 64 * 1024 * 1024
UNREADABLE, NO_MEMORY = 2, 3  # the child's exit codes
_PNG = b"\x89PNG\r\n\x1a\n"
_LENGTH = struct.Struct(">I")


class RenderFailed(Exception):
    """Why a PDF was not rendered, as one line for the page."""


@dataclass(frozen=True, slots=True)
class Pages:
    images: tuple[bytes, ...]  # PNG, the first pages in order
    total: int  # pages the PDF has


def render_pdf(data: bytes, max_pages: int, timeout: float = TIMEOUT) -> Pages:
    """Render the first `max_pages` pages of `data` in a child process, or raise RenderFailed."""
    command = [sys.executable, "-I", "-m", MODULE, str(max_pages)]
    try:
        # No environment: the renderer needs none of the console's settings or secrets.
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout, env={}, cwd="/"
        )
    except subprocess.TimeoutExpired as error:
        raise RenderFailed(f"rendering took longer than {timeout:g} seconds") from error
    if done.returncode == UNREADABLE:
        raise RenderFailed("it is damaged, encrypted, or not a PDF the renderer can read")
    if done.returncode != 0:
        raise RenderFailed("the renderer stopped at its memory or time limit")
    return read_pages(done.stdout)


def read_pages(out: bytes) -> Pages:
    """The child's answer: the page count, then length-prefixed PNGs."""
    if len(out) < _LENGTH.size:
        raise RenderFailed("the renderer gave no answer")
    (total,) = _LENGTH.unpack_from(out)
    images, at = [], _LENGTH.size
    while at < len(out):
        (size,) = _LENGTH.unpack_from(out, at) if at + _LENGTH.size <= len(out) else (-1,)
        image = out[at + _LENGTH.size : at + _LENGTH.size + size]
        if size < 0 or len(image) != size or not image.startswith(_PNG):
            raise RenderFailed("the renderer's answer was cut short")
        images.append(image)
        at += _LENGTH.size + size
    return Pages(tuple(images), total)


class PageCache:
    """Rendered PDFs by (sha256 of the bytes, page limit), at most RENDERERS rendering."""

    def __init__(self, budget: int = CACHE_BYTES, renderers: int = RENDERERS) -> None:
        self.budget = budget
        self._pages: OrderedDict[tuple[str, int], Pages] = OrderedDict()
        self._bytes = 0  # of PNG kept
        self._lock = threading.Lock()  # routes run in a thread pool
        self._slots = threading.BoundedSemaphore(renderers)

    def render(self, data: bytes, max_pages: int) -> Pages:
        """The PDF's first pages, rendered once while kept; RenderFailed propagates."""
        key = (hashlib.sha256(data).hexdigest(), max_pages)
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        if not self._slots.acquire(timeout=TIMEOUT):
            raise RenderFailed("the renderer is busy; try again in a moment")
        try:
            pages = render_pdf(data, max_pages)
        finally:
            self._slots.release()
        with self._lock:
            if key not in self._pages:
                self._pages[key] = pages
                self._bytes += _size(pages)
            while self._pages and self._bytes > self.budget:
                self._bytes -= _size(self._pages.popitem(last=False)[1])
        return pages

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0


def _size(pages: Pages) -> int:
    return sum(len(png) for png in pages.images)


PAGES = PageCache()


# The child process.


def encode_png(width: int, height: int, stride: int, rgb: bytes) -> bytes:
    """A PNG of 8-bit RGB rows `stride` bytes apart."""
    row = width * 3
    lines = b"".join(b"\x00" + rgb[y * stride : y * stride + row] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return _PNG + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(lines)) + _chunk(b"IEND")


def _chunk(tag: bytes, body: bytes = b"") -> bytes:
    return _LENGTH.pack(len(body)) + tag + body + _LENGTH.pack(zlib.crc32(tag + body))


def _limit() -> None:
    """Bound the process before it reads anything: memory, CPU time, no files written."""
    sys.dont_write_bytecode = True
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _render(data: bytes, max_pages: int, out: BinaryIO) -> None:
    import pypdfium2 as pdfium  # here, under the limits: the console never loads PDFium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(data)
    total = len(pdf)
    out.write(_LENGTH.pack(total))
    for number in range(min(total, max_pages)):
        page = pdf[number]
        width, height = page.get_size()
        scale = min(WIDTH / max(width, 1.0), MAX_HEIGHT / max(height, 1.0))
        bitmap = page.render(
            scale=scale,
            may_draw_forms=False,
            force_bitmap_format=pdfium_c.FPDFBitmap_BGR,
            rev_byteorder=True,  # RGB
        )
        png = encode_png(bitmap.width, bitmap.height, bitmap.stride, bytes(bitmap.buffer))
        out.write(_LENGTH.pack(len(png)) + png)


def main(argv: list[str]) -> int:
    """Render the PDF on stdin (see the module's docstring); exit 0, UNREADABLE or NO_MEMORY."""
    _limit()
    max_pages = int(argv[1]) if len(argv) > 1 else 20
    data = sys.stdin.buffer.read()
    try:
        _render(data, max_pages, sys.stdout.buffer)
    except MemoryError:
        return NO_MEMORY
    except Exception:  # the process boundary: whatever PDFium refuses, the console says so
        return UNREADABLE
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
