"""Attachment viewer: what an attachment's view frame shows. Pure, except that a PDF
is handed to consultant.web.pdfpages, which renders it in a child process.

Input: an attachment's decoded bytes with its declared type, charset and name.
Output: its viewer kind (`viewer_kind`: image, pdf, text, or download only) and an
AttachmentPage for the frame template. No state changes.

The kind is read from the bytes' first bytes, never from what the mail claims: a
part that says image/png but holds SVG (which can carry script) is not an image.
Text is shown as text (escaped by the template), whatever markup it holds.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from enum import StrEnum

from consultant import mime
from consultant.web import pdfpages

SNIFF_BYTES = 1024  # PDF allows its header anywhere in the first 1024 bytes
MAX_TEXT = 1024 * 1024  # bytes of a text attachment shown; the rest is cut
MAX_IMAGE = 10 * 1024 * 1024  # bytes of an image put into the page as a data: URI
TEXT_TYPES = frozenset(
    {
        "message/rfc822",  # an attached mail, shown as its source
        "image/svg+xml",  # SVG is markup: shown as text, never drawn
        "application/json",
        "application/xml",
        "application/csv",
        "application/x-csv",
    }
)
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".log", ".json", ".xml", ".svg", ".eml")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ViewKind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    TEXT = "text"
    DOWNLOAD = "download"


def image_type(data: bytes) -> str | None:
    """The image type by its first bytes, not by what the part claims (no SVG)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def viewer_kind(head: bytes, content_type: str, filename: str = "") -> ViewKind:
    """How the console can show an attachment whose bytes start with `head`."""
    if image_type(head) is not None:
        return ViewKind.IMAGE
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return ViewKind.PDF
    declared = content_type.lower().split(";", 1)[0].strip()
    if declared.startswith("text/") or declared in TEXT_TYPES:
        return ViewKind.TEXT
    generic = declared in ("", "application/octet-stream")
    if generic and filename.lower().endswith(TEXT_SUFFIXES):
        return ViewKind.TEXT
    return ViewKind.DOWNLOAD


@dataclass(frozen=True, slots=True)
class AttachmentPage:
    """What the view frame of one attachment shows."""

    kind: ViewKind
    filename: str
    images: tuple[str, ...] = ()  # data: URIs, one per image or PDF page
    text: str = ""
    note: str = ""  # one line: pages shown, text cut, or why it cannot be shown


def attachment_page(
    data: bytes, content_type: str, charset: str, filename: str, max_pages: int
) -> AttachmentPage:
    """The frame's content for an attachment's bytes (a PDF is rendered, page by page)."""
    kind = viewer_kind(data[:SNIFF_BYTES], content_type, filename)
    if kind is ViewKind.IMAGE:
        if len(data) > MAX_IMAGE:
            note = f"This image is over {MAX_IMAGE // (1024 * 1024)} MB and is not shown here."
            return AttachmentPage(ViewKind.DOWNLOAD, filename, note=note)
        return AttachmentPage(kind, filename, images=(data_uri(image_type(data) or "", data),))
    if kind is ViewKind.PDF:
        return _pdf_page(data, filename, max_pages)
    if kind is ViewKind.TEXT:
        text, cut = attachment_text(data, charset)
        note = f"Only the first {MAX_TEXT // 1024} KB are shown." if cut else ""
        return AttachmentPage(kind, filename, text=text, note=note)
    return AttachmentPage(kind, filename)


def _pdf_page(data: bytes, filename: str, max_pages: int) -> AttachmentPage:
    try:
        pages = pdfpages.PAGES.render(data, max_pages)
    except pdfpages.RenderFailed as error:
        return AttachmentPage(ViewKind.PDF, filename, note=f"This PDF cannot be shown: {error}.")
    images = tuple(data_uri("image/png", png) for png in pages.images)
    note = ""
    if len(images) < pages.total:
        note = f"First {len(images)} of {pages.total} pages shown."
    return AttachmentPage(ViewKind.PDF, filename, images=images, note=note)


def attachment_text(data: bytes, charset: str) -> tuple[str, bool]:
    """The text of an attachment, at most MAX_TEXT bytes of it, without control
    characters; and whether it was cut."""
    cut, end = len(data) > MAX_TEXT, MAX_TEXT
    while cut and end > MAX_TEXT - 3 and data[end] & 0xC0 == 0x80:
        end -= 1  # not inside a UTF-8 sequence, which would make the text look like no UTF-8
    text = mime.decode_bytes(data[:end], charset or None)[0]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text), cut


def data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
