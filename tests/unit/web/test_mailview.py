"""mailview: hostile HTML made safe, attachments in parse's order, real mails from ../shared.

Every check of sanitised HTML parses it with lxml and looks at each element and
attribute; a substring test would miss what a browser would still run.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage

import lxml.html
import pytest

from consultant.errors import Quarantine
from consultant.pipeline.parse import parse
from consultant.web import mailview
from consultant.web.mailview import AttachmentInfo, attachment, display_name, view_mail
from consultant.web.sanitize import MAX_HTML, TRUNCATED, sanitize_html
from tests.conftest import need, shared_dir

CORPORA = shared_dir() / "corpus"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"

# What the brief allows, written out here rather than imported, so a widened
# allow-list in the module fails these tests.
ALLOWED_TAGS = {
    "p", "br", "div", "span", "b", "i", "u", "strong", "em", "ul", "ol", "li", "blockquote",
    "pre", "code", "hr", "a", "img", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
    "caption", "col", "colgroup", "h1", "h2", "h3", "h4", "h5", "h6", "font", "center", "sup",
    "sub", "small", "big", "s", "strike", "dl", "dt", "dd",
}  # fmt: skip
STYLE_NAMES = {
    "color", "background-color", "font-weight", "font-style", "text-decoration", "text-align",
    "font-size", "font-family", "width", "height", "vertical-align", "white-space",
}  # fmt: skip
LINK_SCHEMES = ("http://", "https://", "mailto:")
DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/]*={0,2}")


def elements(html: str) -> list[lxml.html.HtmlElement]:
    """Every element of a sanitised fragment (none for empty output)."""
    if not html.strip():
        return []
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return [el for el in root.iter() if el is not root]


def assert_safe(html: str) -> None:
    """Fail on any element, attribute, URL or style a browser could act on."""
    for el in elements(html):
        assert isinstance(el.tag, str), f"comment or processing instruction kept: {el!r}"
        assert el.tag in ALLOWED_TAGS, f"<{el.tag}> kept"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"<{el.tag} {name}> kept"
            assert name not in ("background", "srcset", "class", "id", "action", "formaction")
            if name == "href":
                assert el.tag == "a" and value.lower().startswith(LINK_SCHEMES), value
            if name == "src":
                assert el.tag == "img" and DATA_IMAGE.fullmatch(value), value[:80]
            if name == "style":
                assert_style_safe(value)
        if el.tag == "a":
            assert el.get("target") == "_blank"
            assert set(el.get("rel", "").split()) >= {"noopener", "noreferrer", "nofollow"}


def assert_style_safe(style: str) -> None:
    lowered = style.lower()
    for bad in ("url", "expression", "image", "\\", "javascript", "behavior", "binding", "@"):
        assert bad not in lowered, style
    for declaration in filter(None, (d.strip() for d in style.split(";"))):
        name = declaration.split(":", 1)[0].strip().lower()
        box = name.startswith(("margin", "padding", "border")) and "image" not in name
        assert name in STYLE_NAMES or box, style


def html_mail(html: str, text: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Pat Coder <pat@clinic.example>"
    msg["To"] = "consult@casepilot.example, second@casepilot.example"
    msg["Cc"] = "boss@clinic.example"
    msg["Subject"] = "Modifier 25 question"
    msg["Date"] = "Tue, 03 Mar 2026 10:15:00 +0000"
    if text is None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
    return msg


def html_part(msg: EmailMessage) -> EmailMessage:
    """The text/html alternative of a mail made by html_mail."""
    part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
    assert isinstance(part, EmailMessage)
    return part


def sanitized(html: str, images: dict[str, str] | None = None) -> tuple[str, int]:
    safe, blocked = sanitize_html(html, images)
    assert_safe(safe)
    return safe, blocked


def text_of(html: str) -> str:
    """The text a browser would show for a sanitised fragment."""
    if not html.strip():
        return ""
    return str(lxml.html.fragment_fromstring(html, create_parent="div").text_content())


# Hostile HTML.


def test_script_and_style_are_dropped_with_their_content() -> None:
    safe, _ = sanitized(
        "<p>Hi</p><script>alert('s')</script><SCRIPT SRC=http://x/a.js></SCRIPT>"
        "<style>p{background:url(http://x/t.png)}</style><p>there</p>"
    )
    assert [(el.tag, el.text) for el in elements(safe)] == [("p", "Hi"), ("p", "there")]


def test_event_handler_attributes_are_removed() -> None:
    safe, _ = sanitized(
        '<body onload="alert(1)"><p onclick="x()" OnMouseOver="y()">a</p>'
        '<img src=x onerror="alert(1)"><div onfocus=z tabindex=0>b</div></body>'
    )
    assert "a" in text_of(safe) and "b" in text_of(safe)


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JAVASCRIPT&colon;alert(1)",
        "&#106;avascript:alert(1)",
        "java&#x09;script:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/",
        "relative/page.html",
    ],
)
def test_links_to_anything_but_the_web_and_mail_lose_their_href(href: str) -> None:
    safe, _ = sanitized(f'<a href="{href}">click</a>')
    (link,) = elements(safe)
    assert link.get("href") is None
    assert link.text == "click"


def test_web_and_mail_links_open_in_a_new_tab_without_referrer() -> None:
    safe, _ = sanitized(
        '<a href="https://www.cms.gov/ncci?x=1&amp;y=2" target="_self" rel="opener">NCCI</a>'
        '<a href="mailto:pat@clinic.example">mail</a><a href="http://example.org">old</a>'
    )
    links = elements(safe)
    assert [a.get("href") for a in links] == [
        "https://www.cms.gov/ncci?x=1&y=2",
        "mailto:pat@clinic.example",
        "http://example.org",
    ]
    assert all(a.get("target") == "_blank" for a in links)
    assert all(a.get("rel") == "noopener noreferrer nofollow" for a in links)


def test_active_and_embedding_elements_are_removed() -> None:
    safe, _ = sanitized(
        '<meta http-equiv="refresh" content="0;url=http://evil.example/">'
        '<base href="http://evil.example/"><link rel=stylesheet href="http://x/s.css">'
        "<svg onload=alert(1)><text>svg text</text></svg>"
        '<iframe src="http://evil.example/">frame text</iframe>'
        '<object data="http://x/f.swf">object text</object><embed src="http://x/e.swf">'
        '<form action="http://evil.example/steal"><input name="pw" value="secret">'
        "<button formaction=http://x>Send</button></form>"
        "<math><mi>x</mi></math><template><p>template text</p></template>"
        "<p>kept</p>"
    )
    shown = text_of(safe)
    assert "Send" in shown and "kept" in shown  # a form's text stays, its controls go
    for gone in ("svg text", "frame text", "object text", "template text", "secret", "x"):
        assert gone not in shown


def test_style_keeps_colour_and_spacing_but_never_a_url_or_expression() -> None:
    safe, _ = sanitized(
        '<p style="color: red; font-weight: bold; background: url(http://x/a.png); '
        "background-image: url('http://x/b.png'); border-image: url(http://x/c.png) 30; "
        "width: expression(alert(1)); list-style-image: url(http://x/d.png); "
        "position: fixed; behavior: url(x.htc); -moz-binding: url(x.xml#b); "
        "margin-top: -900px; padding: 2px; c\\olor: blue; "
        'background-color: u\\72l(http://x/e.png)">text</p>'
        '<td style="background:url(http://x)">cell</td>'
    )
    paragraph = elements(safe)[0]
    assert paragraph.get("style") == "color:red;font-weight:bold;padding:2px"


def test_background_attributes_are_removed() -> None:
    safe, blocked = sanitized(
        '<body background="http://x/body.png"><table background="http://x/t.png" '
        'bgcolor="#eeeeee"><tr><td background="http://x/td.png">cell</td></tr></table></body>'
    )
    table = next(el for el in elements(safe) if el.tag == "table")
    assert table.get("bgcolor") == "#eeeeee"
    assert blocked == 0  # only <img> is counted


def test_remote_images_become_their_alt_text_and_are_counted() -> None:
    safe, blocked = sanitized(
        '<p>Logo: <img src="https://cdn.example/logo.png" alt="Clinic logo"></p>'
        '<img src="http://cdn.example/banner.jpg">'
        '<img src="https://track.example/open?id=1" width="1" height="1">'
        '<img src="//cdn.example/protocol-relative.png" alt="rel">'
        '<img src="images/relative.png"><img src="file:///C:/x.png">'
        '<image src="http://cdn.example/image-tag.png">'
    )
    assert blocked == 7
    assert not [el for el in elements(safe) if el.tag == "img"]
    assert text_of(safe) == (
        "Logo: [image: Clinic logo][remote image blocked][remote image blocked]"
        "[image: rel][remote image blocked][remote image blocked][remote image blocked]"
    )


def test_image_sources_that_are_not_remote_are_removed_without_counting() -> None:
    safe, blocked = sanitized(
        '<img src="javascript:alert(1)"><img src="data:image/svg+xml;base64,PHN2Zz4=" alt="s">'
        '<img src="data:text/html,<script>alert(1)</script>"><img src="cid:missing@x" alt="m">'
    )
    assert blocked == 0
    assert text_of(safe) == "[image][image: s][image][image: m]"


def test_data_images_of_raster_types_are_kept() -> None:
    png = base64.b64encode(PNG).decode()
    safe, blocked = sanitized(
        f'<img src="data:image/png;base64,{png}" alt="a">'
        '<img src="DATA:IMAGE/JPG;base64,/9j/ 4AA=">'
    )
    assert blocked == 0
    assert [img.get("src") for img in elements(safe)] == [
        f"data:image/png;base64,{png}",
        "data:image/jpeg;base64,/9j/4AA=",
    ]


def test_alt_text_and_img_like_attribute_values_stay_text() -> None:
    safe, blocked = sanitized(
        "<span title='<img src=\"http://x/t.png\" onerror=alert(1)>'>t</span>"
        '<img src="http://x/a.png" alt="<b onclick=alert(1)>bold</b>">'
    )
    assert blocked == 1
    span = elements(safe)[0]
    assert span.get("title") == '<img src="http://x/t.png" onerror=alert(1)>'
    assert span.tail == "[image: <b onclick=alert(1)>bold</b>]"


def test_comments_and_conditional_comments_are_removed() -> None:
    safe, _ = sanitized('<!--[if mso]><img src="http://x/o.png"><![endif]--><p>a</p><!-- x -->')
    assert safe.strip() == "<p>a</p>"


def test_harmless_formatting_survives() -> None:
    html = (
        "<h2>Claim</h2><p><b>Bold</b> <i>it</i> <u>u</u> <strong>s</strong> <em>e</em>"
        '<font color="#ff0000" face="Arial">red</font> x<sup>2</sup> H<sub>2</sub>O</p>'
        "<ul><li>one</li></ul><ol start=3><li>three</li></ol><dl><dt>CPT</dt><dd>99214</dd></dl>"
        '<table border=1 cellpadding=2><caption>Codes</caption><colgroup><col width="50">'
        "</colgroup><thead><tr><th>Code</th></tr></thead><tbody><tr><td colspan=2 "
        'style="text-align: center">99214</td></tr></tbody></table>'
        "<blockquote>quoted</blockquote><pre>pre  text</pre><code>25</code><hr>"
        "<center>c</center><small>s</small><big>b</big><s>x</s><strike>y</strike>"
    )
    safe, blocked = sanitized(html)
    assert blocked == 0
    tags = {el.tag for el in elements(safe)}
    assert tags >= {"h2", "b", "i", "u", "strong", "em", "font", "sup", "sub", "ul", "ol"}
    assert tags >= {"dl", "dt", "dd", "table", "caption", "col", "th", "td", "blockquote"}
    assert tags >= {"pre", "code", "hr", "center", "small", "big", "s", "strike", "li"}
    cell = next(el for el in elements(safe) if el.tag == "td")
    assert (cell.get("colspan"), cell.get("style")) == ("2", "text-align:center")
    font = next(el for el in elements(safe) if el.tag == "font")
    assert (font.get("color"), font.get("face")) == ("#ff0000", "Arial")


def test_html_longer_than_the_cap_is_cut_with_a_note() -> None:
    safe, _ = sanitized("<p>" + "x" * MAX_HTML + "tail-marker</p>")
    assert safe.endswith(TRUNCATED)
    assert "tail-marker" not in safe


def test_very_deep_nesting_is_cut_with_a_note_not_parsed_forever() -> None:
    safe, _ = sanitize_html("<div>" * 50_000 + "end-marker")
    assert safe.endswith(TRUNCATED)
    assert "end-marker" not in safe


def test_moderately_deep_nesting_keeps_all_content() -> None:
    safe, blocked = sanitized(
        "<div>" * 400 + '<img src="http://x/a.png" alt="A"> after' + "</div>" * 400 + "<p>tail</p>"
    )
    assert blocked == 1
    assert "[image: A] after" in safe and "tail" in safe


def test_lone_surrogates_and_control_characters_do_not_break_sanitising() -> None:
    safe, _ = sanitized("<p>a\ud800b\x00c\x1bd\udfffe</p>")
    assert text_of(safe) == "a\ufffdbcd\ufffde"


# Whole mails.


def test_view_mail_gives_headers_split_text_and_sanitised_html() -> None:
    msg = html_mail(
        "<p>Can we bill 99214-25 with 20610?</p><script>alert(1)</script>"
        '<img src="https://track.example/p.gif" width=1 height=1>',
        text="Can we bill 99214-25 with 20610?\n\n-- \nPat\n\n"
        "On Mon, 2 Mar 2026, Desk wrote:\n> Please send details.\n",
    )
    view = view_mail(msg.as_bytes())
    assert (view.subject, view.sender, view.sender_name) == (
        "Modifier 25 question",
        "pat@clinic.example",
        "Pat Coder",
    )
    assert view.to == ("consult@casepilot.example", "second@casepilot.example")
    assert view.cc == ("boss@clinic.example",)
    assert view.date == datetime(2026, 3, 3, 10, 15, tzinfo=UTC)
    assert view.new_text == "Can we bill 99214-25 with 20610?"
    assert "Please send details." in view.quoted
    assert view.signature.strip().endswith("Pat")
    assert view.html is not None
    assert_safe(view.html)
    assert view.remote_images_blocked == 1
    assert text_of(view.html).startswith("Can we bill 99214-25 with 20610?")
    assert view.attachments == ()


def test_view_mail_without_an_html_part_has_no_html() -> None:
    msg = EmailMessage()
    msg["From"] = "pat@clinic.example"
    msg["Subject"] = "plain"
    msg.set_content("Is G0439 billable with 99397?\n")
    view = view_mail(msg.as_bytes())
    assert view.html is None
    assert view.remote_images_blocked == 0
    assert view.new_text == "Is G0439 billable with 99397?"


def test_cid_image_becomes_a_data_uri_made_from_its_part() -> None:
    msg = html_mail('<p>See <img src="cid:scan.1@clinic.example" alt="scan"></p>', text="See")
    html_part(msg).add_related(PNG, "image", "png", cid="<scan.1@clinic.example>")
    view = view_mail(msg.as_bytes())
    assert view.html is not None
    assert_safe(view.html)
    (img,) = [el for el in elements(view.html) if el.tag == "img"]
    assert img.get("src") == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert view.remote_images_blocked == 0


def test_cid_part_that_is_not_an_image_is_not_inlined() -> None:
    msg = html_mail('<p><img src="cid:page@x" alt="page"></p>', text="x")
    html_part(msg).add_related(b"<svg onload=alert(1)></svg>", "image", "png", cid="<page@x>")
    view = view_mail(msg.as_bytes())
    assert view.html is not None and "[image: page]" in view.html
    assert not [el for el in elements(view.html) if el.tag == "img"]


def test_cid_image_over_the_size_limit_is_not_inlined(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailview, "MAX_INLINE_IMAGE", len(PNG) - 1)
    msg = html_mail('<p><img src="cid:scan@x" alt="scan"></p>', text="x")
    html_part(msg).add_related(PNG, "image", "png", cid="<scan@x>")
    view = view_mail(msg.as_bytes())
    assert view.html is not None and "[image: scan]" in view.html


def test_base64_html_keeps_its_last_characters() -> None:
    msg = html_mail("x")
    msg.set_content("<p>Is 99214 billable? END", subtype="html", cte="base64")
    view = view_mail(msg.as_bytes())
    assert view.html is not None and text_of(view.html).rstrip() == "Is 99214 billable? END"


def test_view_mail_lets_quarantine_through() -> None:
    with pytest.raises(Quarantine, match="empty message"):
        view_mail(b"  \r\n")


# Attachments.


def mail_with_attachments() -> EmailMessage:
    msg = html_mail("<p>see attached</p>", text="see attached")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="op note.pdf")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="../../etc/passwd")
    return msg


def test_attachments_are_listed_and_downloaded_in_parse_order() -> None:
    raw = mail_with_attachments().as_bytes()
    view = view_mail(raw)
    assert [(a.index, a.filename, a.content_type) for a in view.attachments] == [
        (0, "op note.pdf", "application/pdf"),
        (1, "passwd", "image/png"),
    ]
    assert [a.filename for a in parse(raw).attachments] == ["op note.pdf", "passwd"]
    assert attachment(raw, 0) == (view.attachments[0], PDF)
    assert attachment(raw, 1) == (view.attachments[1], PNG)


def test_listed_size_is_the_downloaded_size() -> None:
    raw = mail_with_attachments().as_bytes()
    assert [a.size for a in view_mail(raw).attachments] == [len(PDF), len(PNG)]


@pytest.mark.parametrize("index", [2, -1, 99])
def test_attachment_outside_the_list_raises_lookup_error(index: int) -> None:
    raw = mail_with_attachments().as_bytes()
    with pytest.raises(LookupError, match=f"no attachment {index}: the mail has 2"):
        attachment(raw, index)


def test_forwarded_mail_attachments_keep_parse_order() -> None:
    inner = EmailMessage()
    inner["From"] = "payer@insurer.example"
    inner["Subject"] = "Denial"
    inner.set_content("Denied: modifier missing.")
    inner.add_attachment(b"EOB DATA", maintype="application", subtype="pdf", filename="eob.pdf")
    msg = mail_with_attachments()
    msg.add_attachment(inner)
    raw = msg.as_bytes()
    listed = [(a.filename, a.size) for a in view_mail(raw).attachments]
    assert listed == [(a.filename, a.size) for a in parse(raw).attachments]
    assert [attachment(raw, i)[1] for i in range(len(listed))] == [PDF, PNG, b"EOB DATA"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override spoofing
        ("a\x00b\x07c\x1bd\x7fe.txt", "abcde.txt"),
        ("C:\\Users\\pat\\claim.pdf", "claim.pdf"),
        ("a/b\\c", "c"),
        ("..", "attachment-3"),
        ("", "attachment-3"),
        ("   ", "attachment-3"),
    ],
)
def test_attachment_file_names_are_safe_to_show(name: str, shown: str) -> None:
    msg = html_mail("<p>x</p>", text="x")
    for i in range(3):
        msg.add_attachment(b"x", maintype="text", subtype="csv", filename=f"f{i}.csv")
    part = EmailMessage()
    part.set_content(b"data", maintype="application", subtype="octet-stream")
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", name, header="Content-Disposition")
    msg.attach(part)
    view = view_mail(msg.as_bytes())
    assert view.attachments[3].filename == shown
    assert display_name(name, 3) == shown


def test_uuencoded_file_in_the_text_can_be_downloaded() -> None:
    chunks = [PDF[i : i + 45] for i in range(0, len(PDF), 45)]
    lines = [binascii.b2a_uu(chunk, backtick=True).decode().rstrip("\n") for chunk in chunks]
    body = "Here is the file:\n\nbegin 644 codes.pdf\n" + "\n".join(lines) + "\n`\nend\n"
    msg = EmailMessage()
    msg["From"] = "pat@clinic.example"
    msg.set_content(body)
    raw = msg.as_bytes()
    (info,) = view_mail(raw).attachments
    assert info.filename == "codes.pdf"
    assert attachment(raw, 0) == (info, PDF)


# Real mail, read in place from ../shared.


@pytest.mark.parametrize(
    ("corpus", "at_least"),
    [
        # Measured: 1,003 of 1,015 parse, 118 with HTML, 35 with a cid: image
        # inlined, 147 attachments (9 of them TNEF winmail.dat, downloaded as is).
        ("mail-robustness", {"viewed": 1000, "html": 100, "inlined": 30, "attachments": 140}),
        ("questions-dev", {"viewed": 60}),
    ],
)
def test_every_corpus_mail_views_safely(corpus: str, at_least: dict[str, int]) -> None:
    folder = CORPORA / corpus
    need(folder.is_dir(), f"the {corpus} corpus is not beside the checkout ({folder})")
    found: Counter[str] = Counter()
    for path in sorted(folder.rglob("*.eml")):
        raw = path.read_bytes()
        try:
            parsed = parse(raw)
        except Quarantine:
            with pytest.raises(Quarantine):
                view_mail(raw)
            found["quarantined"] += 1
            continue
        view = view_mail(raw)
        found["viewed"] += 1
        if view.html is not None:
            assert_safe(view.html)
            found["html"] += 1
            found["inlined"] += 'src="data:image/' in view.html
        assert [(a.filename, a.content_type, a.size) for a in view.attachments] == [
            (display_name(a.filename, i), a.content_type, a.size)
            for i, a in enumerate(parsed.attachments)
        ], path
        found.update(check_downloads(raw, view.attachments))
    print(f"\n{corpus}: {dict(found)}")
    for what, minimum in at_least.items():
        assert found[what] >= minimum, (what, found)


def check_downloads(raw: bytes, listed: tuple[AttachmentInfo, ...]) -> Counter[str]:
    """Download every listed attachment with a size; its bytes are as long as listed."""
    found: Counter[str] = Counter()
    for info in listed:
        found["attachments"] += 1
        if info.size == 0:
            found["empty attachments"] += 1
            continue
        got, data = attachment(raw, info.index)
        assert got == info
        assert len(data) == info.size or info.size > 4 * 1024 * 1024, (info, len(data))
        if info.filename.lower() == "winmail.dat" or "tnef" in info.content_type:
            found["tnef"] += 1
    return found
