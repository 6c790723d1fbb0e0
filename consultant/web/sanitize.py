"""Sanitise mail HTML for the reviewer console: an allow-list, no fetches. Pure.

The HTML keeps the structure of the mail (paragraphs, tables, lists, links,
inline images), never the sender's stylesheet: <style> elements are dropped
with their content and style attributes keep a few harmless properties. Links
open in a new tab with no referrer; images show only when the mail carries
them (cid: parts, data: URIs), so opening a mail never tells a tracker it was
read. Remote images become "[image: alt]" or "[remote image blocked]". HTML
beyond 2 MB or 10,000 tags is cut with a note, which bounds the time a hostile
mail can cost.
"""

from __future__ import annotations

import re
from html import escape, unescape
from urllib.parse import unquote

import nh3

MAX_HTML = 2 * 1024 * 1024  # characters of HTML sanitised per mail; the rest is cut with a note
# Tags sanitised per mail. The HTML5 tree builder is quadratic in nesting depth
# (10,000 hostile tags take about a second), so a count bounds the time; real
# mail in the corpora has at most 1,426.
MAX_TAGS = 10_000
TRUNCATED = (
    "<p><em>[the HTML of this mail is too long to show in full (2 MB or 10,000 tags);"
    " the rest is not shown here]</em></p>"
)

TAGS = frozenset(
    {
        "p", "br", "div", "span", "b", "i", "u", "strong", "em", "ul", "ol", "li",
        "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "col", "colgroup",
        "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "a", "img",
        "font", "center", "sup", "sub", "small", "big", "s", "strike", "dl", "dt", "dd",
    }
)  # fmt: skip
# Dropped with everything inside them; other unknown tags (form, button, o:p) lose
# only the tag and keep their text.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "title", "template", "svg", "math", "iframe", "object",
        "applet", "noscript", "noembed", "noframes", "xml",
    }
)  # fmt: skip
_CELL = {"align", "valign", "width", "height", "bgcolor", "colspan", "rowspan", "nowrap", "scope"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "title", "dir", "lang", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "border"},
    "font": {"color", "face", "size"},
    "table": {"width", "height", "border", "cellpadding", "cellspacing", "bgcolor"},
    "td": _CELL,
    "th": _CELL,
    "tr": {"valign", "bgcolor", "height"},
    "thead": {"valign"},
    "tbody": {"valign"},
    "tfoot": {"valign"},
    "col": {"span", "width", "valign"},
    "colgroup": {"span", "width", "valign"},
    "ol": {"start", "type", "reversed"},
    "ul": {"type"},
    "li": {"value", "type"},
}
_SIDES = ("", "-top", "-right", "-bottom", "-left")
STYLE_PROPERTIES = frozenset(
    {
        "color", "background-color", "font-weight", "font-style", "text-decoration",
        "text-align", "font-size", "font-family", "width", "height", "vertical-align",
        "white-space", "border-collapse", "border-spacing", "border-radius",
        *(f"margin{side}" for side in _SIDES),
        *(f"padding{side}" for side in _SIDES),
        *(f"border{side}{part}" for side in _SIDES for part in ("", "-width", "-style", "-color")),
    }
)  # fmt: skip
CSS_FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla"})  # everything else (url, image-set,
# expression, var) could fetch, run or smuggle something

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # unpaired: neither nh3 nor a page can encode them
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_IMG_TAG = re.compile(r"<img((?:\s[^\s=\"]+=\"[^\"]*\")*)\s*/?>")
_TAG = re.compile(r"</?[A-Za-z]")  # what the HTML tokenizer may read as a tag
_ATTRIBUTE = re.compile(r'\s([^\s="]+)="([^"]*)"')
_SAFE_HREF = re.compile(r"(?:https?://|mailto:)", re.I)
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpe?g|webp);base64,([A-Za-z0-9+/=\s]*)", re.I)
_CLEAN_DATA_IMAGE = re.compile(r"data:image/(?:png|gif|jpeg|webp);base64,[A-Za-z0-9+/]*={0,2}")
_CSS_FUNCTION = re.compile(r"([\w-]+)\s*\(")


def sanitize_html(html: str, inline_images: dict[str, str] | None = None) -> tuple[str, int]:
    """Make mail HTML safe to show; return it and how many remote images were removed.

    `inline_images` maps a Content-ID (without <>) to the data: URI of its image.
    """
    html, cut, _ = cap_html(html, MAX_TAGS)
    safe, blocked = clean_html(html, inline_images or {})
    return (safe + TRUNCATED if cut else safe), blocked


def cap_html(html: str, max_tags: int) -> tuple[str, bool, int]:
    """`html` cut to MAX_HTML characters and `max_tags` tags: (kept, whether cut, tags kept)."""
    cut = len(html) > MAX_HTML
    html = html[:MAX_HTML]
    tags = 0
    for tag in _TAG.finditer(html):
        if tags == max_tags:
            return html[: tag.start()], True, tags
        tags += 1
    return html, cut, tags


# Sanitising: a first nh3 pass that keeps every image source, the images rewritten on
# its canonical output, then a strict second pass that has the last word.


def clean_html(html: str, images: dict[str, str]) -> tuple[str, int]:
    """Sanitise capped HTML: (safe HTML, remote images removed)."""
    html = _CONTROL.sub("", _XML_DECLARATION.sub("", _SURROGATE.sub("\ufffd", html)))
    cids = {k.strip("<> ").lower(): v for k, v in images.items()}
    html, blocked = _replace_images(FIRST_PASS.clean(html), cids)
    return CLEANER.clean(html), blocked


def _replace_images(html: str, cids: dict[str, str]) -> tuple[str, int]:
    """Inline cid: images, keep data: images, put text where any other image was.

    `html` is nh3's output: there every "<" in text or attribute values is escaped
    and every attribute is name="value", so a regex finds each <img> exactly.
    """
    blocked = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal blocked
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        source = unescape(attributes.get("src", "")).strip()
        keep = _image_source(source, cids)
        if keep is not None:
            attributes["src"] = escape(keep)
            return "<img" + "".join(f' {k}="{v}"' for k, v in attributes.items()) + ">"
        remote = bool(source) and not source.lower().startswith(("cid:", "data:"))
        blocked += int(remote)
        alt = " ".join(unescape(attributes.get("alt", "")).split())[:200]
        return escape(f"[image: {alt}]" if alt else _NO_ALT[remote], quote=False)

    return _IMG_TAG.sub(replace, html), blocked


_NO_ALT = {True: "[remote image blocked]", False: "[image]"}


def _image_source(source: str, cids: dict[str, str]) -> str | None:
    """The src an image may keep: its cid: part as a data: URI, or its own data: image."""
    if source.lower().startswith("cid:"):
        return cids.get(unquote(source[4:]).strip("<> ").lower())
    match = _DATA_IMAGE.fullmatch(source)
    if match is None:
        return None
    kind = match.group(1).lower().replace("jpg", "jpeg")
    payload = "".join(match.group(2).split())
    return f"data:image/{kind};base64,{payload}"


def _first_pass_attribute(tag: str, attribute: str, value: str) -> str | None:
    """As _keep_attribute, but an image keeps any source for _replace_images to judge."""
    return value if attribute == "src" else _keep_attribute(tag, attribute, value)


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: links to the web and mail only, images only as data."""
    if attribute == "href":
        value = value.strip()
        return value if _SAFE_HREF.match(value) else None
    if attribute == "src":
        return value if _CLEAN_DATA_IMAGE.fullmatch(value) else None
    if attribute == "style":
        return _filter_style(value)
    return value


def _filter_style(style: str) -> str | None:
    """The declarations of a style attribute that only colour, size and space text."""
    kept = []
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name = name.strip().lower()
        # A negative margin could move the mail over the console's own controls.
        negative = name.startswith("margin") and "-" in value
        if colon and name in STYLE_PROPERTIES and _harmless_css(value) and not negative:
            kept.append(f"{name}: {value.strip()}")
    return "; ".join(kept) or None


def _harmless_css(value: str) -> bool:
    """No escapes or comments that could hide a name, no function but colours."""
    if "\\" in value or "/*" in value:
        return False
    return all(name.lower() in CSS_FUNCTIONS for name in _CSS_FUNCTION.findall(value))


def _cleaner(*, first_pass: bool) -> nh3.Cleaner:
    """The allow-list; the first pass also lets image sources through to be counted."""
    return nh3.Cleaner(
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_first_pass_attribute if first_pass else _keep_attribute,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=_FIRST_PASS_SCHEMES if first_pass else {"http", "https", "mailto", "data"},
        url_relative="pass_through" if first_pass else "deny",
        filter_style_properties=STYLE_PROPERTIES,
    )


_FIRST_PASS_SCHEMES = {"http", "https", "mailto", "data", "cid", "ftp", "file"}
FIRST_PASS = _cleaner(first_pass=True)
CLEANER = _cleaner(first_pass=False)
