"""An attachment's view page, the one the case page frames: images and the drawn pages
of a PDF as data: images, text escaped, the rest only named; headers that make it a
sandbox loading nothing; only for a logged-in reviewer, only from the mail's own case."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.settings import Settings
from consultant.web import pdfpages
from consultant.web.app import create_app
from tests.attachment_mail import NAMES, question_with_attachments, tiny_png
from tests.conftest import set_env
from tests.unit.web.conftest import REVIEWER, log_in, process

Login = Callable[[tuple[str, str]], tuple[TestClient, str]]
VIEW_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
IMAGE = re.compile(r'<img src="data:(image/[a-z]+);base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(autouse=True)
def no_kept_pages() -> Iterator[None]:
    """Every test renders its PDFs itself."""
    pdfpages.PAGES.clear()
    yield
    pdfpages.PAGES.clear()


@pytest.fixture
def mail(console_db: Settings) -> tuple[str, int]:
    """(case reference, inbound id) of a question carrying NAMES."""
    message = question_with_attachments()
    ref = process(console_db, bytes(message))
    with session_scope(console_db) as session:
        inbound_id = session.scalars(
            select(InboundMessage.id).where(InboundMessage.rfc_message_id == message["Message-ID"])
        ).one()
    return ref, inbound_id


def view_url(mail: tuple[str, int], index: int) -> str:
    return f"/cases/{mail[0]}/mail/{mail[1]}/attachments/{index}/view"


def images(page: str) -> list[tuple[str, bytes]]:
    return [(kind, base64.b64decode(data)) for kind, data in IMAGE.findall(page)]


def test_a_pdf_is_shown_as_one_png_per_page_in_a_sandbox(
    client_for: Login, mail: tuple[str, int]
) -> None:
    client, _ = client_for(REVIEWER)
    response = client.get(view_url(mail, NAMES.index("op-note.pdf")))
    assert response.status_code == 200
    shown = images(response.text)
    assert len(shown) == 3
    assert all(kind == "image/png" and data.startswith(b"\x89PNG") for kind, data in shown)
    assert all(int.from_bytes(data[16:20], "big") == pdfpages.WIDTH for _, data in shown)
    headers = response.headers
    assert headers["content-security-policy"] == VIEW_CSP
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "<script" not in response.text.lower()


def test_a_pdf_longer_than_the_page_limit_shows_its_first_pages_and_says_so(
    console_db: Settings, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = set_env(monkeypatch, env, pdf_view_pages="2")
    message = question_with_attachments("long-pdf", pdf_pages=5)
    ref = process(settings, bytes(message))
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        log_in(client, REVIEWER)
        page = client.get(f"/cases/{ref}").text
        found = re.search(rf'/cases/{ref}/mail/(\d+)/attachments/0"', page)
        assert found, "no download link for the PDF on the case page"
        response = client.get(view_url((ref, int(found.group(1))), 0))
    assert len(images(response.text)) == 2
    assert "First 2 of 5 pages shown." in response.text


def test_an_image_is_shown_as_itself_whatever_type_the_mail_declares(
    client_for: Login, mail: tuple[str, int]
) -> None:
    client, _ = client_for(REVIEWER)
    response = client.get(view_url(mail, NAMES.index("knee.png")))  # sent as octet-stream
    assert images(response.text) == [("image/png", tiny_png())]
    assert response.headers["content-security-policy"] == VIEW_CSP


def test_text_is_shown_escaped_in_its_own_charset(client_for: Login, mail: tuple[str, int]) -> None:
    client, _ = client_for(REVIEWER)
    response = client.get(view_url(mail, NAMES.index("op-note.txt")))
    assert response.status_code == 200
    assert "<script>" not in response.text
    escaped = "Op note: &lt;script&gt;alert(&#39;text&#39;)&lt;/script&gt; 27447 dérecha knee"
    assert f"<pre>{escaped}\n</pre>" in response.text  # é read as latin-1
    assert images(response.text) == []


def test_svg_is_never_shown_as_an_image(client_for: Login, mail: tuple[str, int]) -> None:
    client, _ = client_for(REVIEWER)
    response = client.get(view_url(mail, NAMES.index("drawing.svg")))
    assert response.status_code == 200
    assert "<img" not in response.text and "<svg" not in response.text
    assert "&lt;svg" in response.text  # its source, as text


def test_a_broken_pdf_says_so_in_one_line(client_for: Login, mail: tuple[str, int]) -> None:
    client, _ = client_for(REVIEWER)
    response = client.get(view_url(mail, NAMES.index("broken.pdf")))
    assert response.status_code == 200
    (note,) = re.findall(r'<p class="note">(.*)</p>', response.text)
    assert note.startswith("This PDF cannot be shown: it is damaged")
    assert "Download it from the case page." in note
    assert "<img" not in response.text


def test_any_other_file_is_only_offered_for_download(
    client_for: Login, mail: tuple[str, int]
) -> None:
    client, _ = client_for(REVIEWER)
    response = client.get(view_url(mail, NAMES.index("data.bin")))
    assert response.status_code == 200
    assert "data.bin (47 bytes) cannot be shown here" in response.text
    assert "<img" not in response.text and "<pre" not in response.text


def test_a_view_is_found_only_under_the_mails_own_case(
    client_for: Login, mail: tuple[str, int], case_ref: str
) -> None:
    client, _ = client_for(REVIEWER)
    assert client.get(view_url((case_ref, mail[1]), 0)).status_code == 404
    assert client.get(view_url(mail, len(NAMES))).status_code == 404
    assert client.get(view_url((mail[0], mail[1] + 1000), 0)).status_code == 404


def test_a_view_needs_a_login(app: object, mail: tuple[str, int]) -> None:
    with TestClient(app, base_url="http://testserver") as client:  # type: ignore[arg-type]
        response = client.get(view_url(mail, 0), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "data:image" not in response.text


def test_other_pages_keep_refusing_to_be_framed(client_for: Login, mail: tuple[str, int]) -> None:
    client, _ = client_for(REVIEWER)
    page = client.get(f"/cases/{mail[0]}")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    download = client.get(f"/cases/{mail[0]}/mail/{mail[1]}/attachments/0")
    assert download.headers["x-frame-options"] == "DENY"
    assert download.headers["content-type"] == "application/octet-stream"


def test_the_api_gives_a_view_url_for_what_can_be_viewed(
    client_for: Login, mail: tuple[str, int]
) -> None:
    client, _ = client_for(REVIEWER)
    (message,) = client.get(f"/api/v1/cases/{mail[0]}").json()["messages"]
    views = [a["view_url"] for a in message["attachments"]]
    base = f"/cases/{mail[0]}/mail/{mail[1]}/attachments"
    assert views == [f"{base}/{i}/view" for i in range(len(NAMES) - 1)] + [None]  # data.bin
