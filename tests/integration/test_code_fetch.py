"""`consultant codes fetch` against a local HTTPS server (a CA of the test's own;
nothing leaves the machine): a download cut half-way resumes with a Range
request when run again, the archives are then imported; a file whose sha256 is
not the catalogue's is removed and refused, and nothing is imported."""

from __future__ import annotations

import hashlib
import http.server
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from consultant.db.models.codes import CodeRelease
from consultant.db.session import session_scope
from consultant.settings import Settings
from tests.cms_archives import PTP_SUBSET, mue_archive, ptp_archives, ptp_rows
from tests.conftest import need, set_env
from tests.integration.conftest import run_cli
from tests.integration.test_imap_security import Certificates, make_certificates

pytestmark = [pytest.mark.integration]


@dataclass
class Site:
    """What the server holds, which file it cuts once, and the requests it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_once: set[str] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Range header)
    port: int = 0


def handler(site: Site) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            ranged = self.headers.get("Range", "")
            site.seen.append((name, ranged))
            body = site.files.get(name)
            if body is None:
                self.send_error(404)
                return
            start = int(ranged.removeprefix("bytes=").rstrip("-")) if ranged else 0
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if name in site.cut_once:  # the connection drops half-way, once
                site.cut_once.discard(name)
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body[start:])

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def https_site(tmp_path: Path) -> Iterator[tuple[Site, Certificates]]:
    (tmp_path / "ca").mkdir()
    certificates = make_certificates(tmp_path / "ca")
    site = Site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(site))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.cert, certificates.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    site.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, certificates
    server.shutdown()
    server.server_close()


def releases(settings: Settings) -> dict[str, tuple[str, int]]:
    with session_scope(settings) as session:
        rows = session.execute(select(CodeRelease.kind, CodeRelease.label, CodeRelease.rows))
        return {kind: (label, count) for kind, label, count in rows}


def catalogue_file(path: Path, site: Site, sha256: dict[str, str] | None = None) -> Path:
    files = [
        {"name": name, "url": f"https://127.0.0.1:{site.port}/{name}", "page": "test site"}
        | ({"sha256": sha256[name]} if sha256 and name in sha256 else {})
        for name in site.files
    ]
    path.write_text(yaml.safe_dump({"shipped": False, "files": files}))
    return path


def use_catalogue(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], path: Path, certificates: Certificates
) -> None:
    """`codes fetch` reads this catalogue and trusts the test's CA."""
    set_env(monkeypatch, env, code_catalogue=str(path), code_fetch_ca_file=str(certificates.ca))


def test_a_cut_download_resumes_and_the_archives_are_imported(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    https_site: tuple[Site, Certificates],
    tmp_path: Path,
) -> None:
    need(PTP_SUBSET.is_file(), "the shared CMS files are missing")
    site, certificates = https_site
    archives = [*ptp_archives(tmp_path, ptp_rows(8_000)), mue_archive(tmp_path, "Practitioner")]
    site.files = {archive.name: archive.read_bytes() for archive in archives}
    first = archives[0].name
    site.cut_once.add(first)
    use_catalogue(monkeypatch, env, catalogue_file(tmp_path / "catalogue.yaml", site), certificates)
    listed = run_cli(env, "codes", "fetch", "--list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == list(site.files)

    cut = run_cli(env, "codes", "fetch", check=False)
    assert cut.returncode == 1
    half = len(site.files[first]) // 2
    assert (
        f"refused {first}: the download stopped at {half:,} of {len(site.files[first]):,} bytes; "
        "run again to resume"
    ) in cut.stderr
    assert "nothing imported" in cut.stderr
    assert releases(migrated) == {}
    assert (migrated.var_dir / "code-fetch" / f"{first}.part").stat().st_size == half

    again = run_cli(env, "codes", "fetch")
    assert f"fetched {first}: {len(site.files[first]) - half:,} bytes, resumed after {half:,}" in (
        again.stdout + again.stderr
    )
    assert (first, f"bytes={half}-") in site.seen
    assert releases(migrated) == {"ncci-ptp": ("2024 Q3", 8_000), "mue": ("2024 Q3", 14_677)}
    fetched = migrated.var_dir / "code-fetch" / first
    assert (
        hashlib.sha256(fetched.read_bytes()).digest() == hashlib.sha256(site.files[first]).digest()
    )


def test_a_checksum_mismatch_is_refused_and_nothing_is_imported(
    migrated: Settings,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    https_site: tuple[Site, Certificates],
    tmp_path: Path,
) -> None:
    site, certificates = https_site
    archive = mue_archive(tmp_path, "Practitioner")
    site.files = {archive.name: archive.read_bytes()}
    wrong = {archive.name: "0" * 64}
    use_catalogue(
        monkeypatch, env, catalogue_file(tmp_path / "catalogue.yaml", site, wrong), certificates
    )
    result = run_cli(env, "codes", "fetch", check=False)
    assert result.returncode == 1
    digest = hashlib.sha256(site.files[archive.name]).hexdigest()
    assert (
        f"refused {archive.name}: checksum mismatch: sha256 {digest}, the catalogue says "
        f"{'0' * 64}; the download was removed"
    ) in result.stderr
    assert list((migrated.var_dir / "code-fetch").iterdir()) == []
    assert releases(migrated) == {}


def test_the_shipped_catalogue_names_cms_addresses_only(migrated: Settings) -> None:
    from consultant.codes.fetch import catalogue

    entries = catalogue(migrated)
    assert entries and all(e.url.startswith("https://www.cms.gov/files/zip/") for e in entries)
    assert all(e.url.endswith(e.name) for e in entries)
