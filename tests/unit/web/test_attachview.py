"""The attachment viewer's pure parts: the kind read from the bytes, text decoding and
its cap, the list partial, and the PDF renderer's answer and cache (no process started
except where a test says so)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from consultant.web import attachview, pdfpages
from consultant.web.app import templates
from consultant.web.attachview import ViewKind, attachment_page, attachment_text, viewer_kind
from consultant.web.mailview import AttachmentInfo, view_mail
from tests.attachment_mail import SVG, tiny_pdf, tiny_png

PNG = tiny_png()


@pytest.mark.parametrize(
    ("head", "declared", "filename", "kind"),
    [
        (PNG, "image/png", "x.png", ViewKind.IMAGE),
        (PNG, "application/octet-stream", "scan", ViewKind.IMAGE),  # the bytes decide
        (b"GIF89a\x01\x00", "image/gif", "", ViewKind.IMAGE),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", "", ViewKind.IMAGE),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp", "", ViewKind.IMAGE),
        (b"%PDF-1.7\n", "application/octet-stream", "note", ViewKind.PDF),
        (b"\r\n" * 100 + b"%PDF-1.4", "application/pdf", "", ViewKind.PDF),
        (b"plain words", "text/plain", "", ViewKind.TEXT),
        (b"<b>markup</b>", "text/html", "", ViewKind.TEXT),  # shown as text, escaped
        (b"a,b\n1,2\n", "application/octet-stream", "Export.CSV", ViewKind.TEXT),
        (SVG, "image/svg+xml", "d.svg", ViewKind.TEXT),  # markup, never drawn
        (SVG, "image/png", "d.png", ViewKind.DOWNLOAD),  # claims an image, is none
        (b"not a pdf", "application/pdf", "x.pdf", ViewKind.DOWNLOAD),
        (b"PK\x03\x04", "application/zip", "x.zip", ViewKind.DOWNLOAD),
        (b"MZ\x90\x00", "application/octet-stream", "setup.exe", ViewKind.DOWNLOAD),
        (b"", "", "", ViewKind.DOWNLOAD),
    ],
)
def test_viewer_kind_reads_the_bytes_before_the_declared_type(
    head: bytes, declared: str, filename: str, kind: ViewKind
) -> None:
    assert viewer_kind(head, declared, filename) is kind


def test_text_is_decoded_with_its_charset_without_control_characters() -> None:
    text, cut = attachment_text("a\x00b\x1bc\r\nd\té".encode("cp1252"), "windows-1252")
    assert (text, cut) == ("abc\nd\té", False)


def test_long_text_is_cut_at_the_cap_but_never_inside_a_character(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attachview, "MAX_TEXT", 10)
    text, cut = attachment_text("abcdefghié and more".encode(), "")  # é: bytes 10 and 11
    assert (text, cut) == ("abcdefghi", True)


def test_an_image_over_the_cap_is_not_put_into_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachview, "MAX_IMAGE", len(PNG) - 1)
    page = attachment_page(PNG, "image/png", "", "x.png", 20)
    assert page.kind is ViewKind.DOWNLOAD and page.images == () and "not shown" in page.note


def test_the_mail_view_lists_each_attachment_with_its_kind_and_charset() -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.org", "consult@localhost", "files"
    mail.set_content("See attached.")
    mail.add_attachment(PNG, maintype="application", subtype="octet-stream", filename="a")
    mail.add_attachment("dérecha\n", subtype="plain", charset="latin-1", filename="b.txt")
    mail.add_attachment(b"\x00\x01", maintype="application", subtype="x-thing", filename="c")
    (image, text, other) = view_mail(bytes(mail)).attachments
    assert (image.kind, text.kind, other.kind) == (ViewKind.IMAGE, ViewKind.TEXT, "download")
    # Sent 8-bit: the bytes the console holds are the stdlib's decoded text, in UTF-8.
    assert text.charset == "utf-8"


def test_the_attachment_list_frames_only_what_can_be_viewed() -> None:
    listed = (
        AttachmentInfo(0, 'op "note".pdf', "application/pdf", 10, ViewKind.PDF),
        AttachmentInfo(1, "setup.exe", "application/octet-stream", 20, ViewKind.DOWNLOAD),
    )
    html = (
        templates()
        .env.get_template("_attachments.html.j2")
        .render(case_ref="CC-1", inbound_id=7, attachments=listed)
    )
    url = "/cases/CC-1/mail/7/attachments"
    assert html.count("<iframe") == 1
    assert (
        '<iframe class="attachment" sandbox loading="lazy" title="op &#34;note&#34;.pdf" '
        f'src="{url}/0/view"></iframe>'
    ) in html
    assert "<summary>View op &#34;note&#34;.pdf</summary>" in html
    assert f'<a href="{url}/0" download>' in html and f'<a href="{url}/1" download>' in html


def test_a_cut_answer_from_the_renderer_is_a_failure() -> None:
    png = tiny_png()
    whole = pdfpages.Pages((png,), 3)
    answer = (3).to_bytes(4, "big") + len(png).to_bytes(4, "big") + png
    assert pdfpages.read_pages(answer) == whole
    for cut in (answer[:2], answer[:-1], answer[:6]):
        with pytest.raises(pdfpages.RenderFailed):
            pdfpages.read_pages(cut)


def test_the_page_cache_renders_a_pdf_once_and_keeps_within_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered: list[bytes] = []

    def render(data: bytes, max_pages: int) -> pdfpages.Pages:
        rendered.append(data)
        return pdfpages.Pages((b"\x89PNG" + data,), 1)

    monkeypatch.setattr(pdfpages, "render_pdf", render)
    cache = pdfpages.PageCache(budget=30)
    for data in (b"a" * 10, b"a" * 10, b"b" * 10, b"c" * 20, b"a" * 10):
        assert cache.render(data, 5).images == (b"\x89PNG" + data,)
    # "a" kept for its second showing; "c" (24 bytes) pushed out both, so "a" again.
    assert rendered == [b"a" * 10, b"b" * 10, b"c" * 20, b"a" * 10]


def test_the_renderer_draws_each_page_at_the_fixed_width_in_a_child_process() -> None:
    pages = pdfpages.render_pdf(tiny_pdf(2), 5)
    assert pages.total == 2 and len(pages.images) == 2
    for png in pages.images:
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width == pdfpages.WIDTH
        assert abs(height - pdfpages.WIDTH * 792 / 612) < 1.5  # a letter page's proportions


def test_a_render_past_its_deadline_is_a_failure_and_the_child_is_ended() -> None:
    with pytest.raises(pdfpages.RenderFailed, match="took longer than 0 seconds"):
        pdfpages.render_pdf(tiny_pdf(1), 5, timeout=0)  # already past: nothing can finish
