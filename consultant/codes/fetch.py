"""`consultant codes fetch`: download the CMS archives a catalogue lists, then import them.

The catalogue (consultant/codes/data/catalogue.yaml, and the operator's own file
named by CONSULTANT_CODE_CATALOGUE, whose entries replace or add to it by name)
lists each file's name, HTTPS address and, where known, size and sha256
(`shipped: false` in the operator's file sets the shipped list aside).
Downloads go to var/code-fetch/<name>.part and resume from where a cut left
them (an HTTP Range request; a server that ignores it starts the file again).
A finished file is checked against the size the server announced and the
catalogue's size and sha256; one that fails is removed and refused with the
reason. Good files are renamed to var/code-fetch/<name>, and a file already
there whose checksum matches is not fetched again.
"""

from __future__ import annotations

import http.client
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from consultant.codes.releases import file_sha256
from consultant.errors import CodeImportError
from consultant.settings import Settings

CHUNK = 1 << 16
TIMEOUT = 60.0
# Bytes done and the total when the server says it (else None), for a progress bar.
ByteProgress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    url: str
    page: str = ""
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    entry: Entry
    path: Path | None  # the good file, or None when refused
    bytes: int = 0  # downloaded this time (0: the file was already here)
    resumed_from: int = 0  # bytes kept from an earlier, cut download
    error: str = ""


def catalogue(settings: Settings) -> list[Entry]:
    """The entries of the shipped catalogue, replaced and extended by the operator's."""
    shipped = resources.files("consultant.codes").joinpath("data/catalogue.yaml").read_text()
    entries = {e["name"]: e for e in _entries(yaml.safe_load(shipped), "the shipped catalogue")}
    if settings.code_catalogue is not None:
        own = _read_yaml(settings.code_catalogue)
        if isinstance(own, dict) and own.get("shipped") is False:
            entries = {}  # the operator's list alone
        for entry in _entries(own, str(settings.code_catalogue)):
            entries[entry["name"]] = entry
    return [_entry(e) for e in entries.values() if e.get("enabled", True)]


def fetch_all(
    settings: Settings, entries: list[Entry], progress_for: Callable[[Entry], ByteProgress] | None
) -> list[Fetched]:
    """Download every entry into var/code-fetch; refusals are returned, not raised."""
    folder = settings.var_dir / "code-fetch"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    context = ssl.create_default_context(cafile=settings.code_fetch_ca_file)
    done = []
    for entry in entries:
        progress = progress_for(entry) if progress_for else None
        done.append(fetch_one(entry, folder, context, progress))
    return done


def fetch_one(
    entry: Entry, folder: Path, context: ssl.SSLContext, progress: ByteProgress | None = None
) -> Fetched:
    target, partial = folder / entry.name, folder / f"{entry.name}.part"
    if target.exists() and entry.sha256 and file_sha256(target) == entry.sha256:
        return Fetched(entry, target)
    kept = partial.stat().st_size if partial.exists() else 0
    try:
        got, total, resumed = _download(entry, partial, kept, context, progress)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return Fetched(
            entry, None, error=f"{entry.name}: download failed ({reason}); run again to resume"
        )
    if total is not None and (size := partial.stat().st_size) < total:  # cut: keep it
        cut = f"the download stopped at {size:,} of {total:,} bytes; run again to resume"
        return Fetched(entry, None, error=f"{entry.name}: {cut}")
    if (why := _check(entry, partial, total)) is not None:
        partial.unlink(missing_ok=True)
        return Fetched(entry, None, error=f"{entry.name}: {why}; the download was removed")
    os.replace(partial, target)
    return Fetched(entry, target, bytes=got, resumed_from=kept if resumed else 0)


def _download(
    entry: Entry, partial: Path, kept: int, context: ssl.SSLContext, progress: ByteProgress | None
) -> tuple[int, int | None, bool]:
    """Fetch into `partial`, from byte `kept` when the server allows; return the bytes
    received, the file's whole size as the server announced it, and whether it resumed."""
    if not entry.url.startswith("https://"):
        raise ValueError(f"{entry.url} is not an https:// address")
    request = urllib.request.Request(entry.url, headers={"User-Agent": "consultant codes fetch"})
    if kept:
        request.add_header("Range", f"bytes={kept}-")
    with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
        resumed = bool(kept) and response.status == 206
        length = response.headers.get("Content-Length")
        total = (int(length) + (kept if resumed else 0)) if length else None
        got = 0
        with partial.open("ab" if resumed else "wb") as out:
            start = kept if resumed else 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                got += len(chunk)
                if progress is not None:
                    progress(start + got, total)
    return got, total, resumed


def _check(entry: Entry, path: Path, announced: int | None) -> str | None:
    size = path.stat().st_size
    if announced is not None and size != announced:
        return f"{size:,} bytes arrived of the {announced:,} the server announced"
    if entry.size is not None and size != entry.size:
        return f"{size:,} bytes where the catalogue says {entry.size:,}"
    if entry.sha256 and (digest := file_sha256(path)) != entry.sha256.lower():
        return f"checksum mismatch: sha256 {digest}, the catalogue says {entry.sha256}"
    return None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CodeImportError(f"cannot read the catalogue {path}: {error}") from error


def _entries(document: Any, where: str) -> list[dict[str, Any]]:
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in files
    ):
        raise CodeImportError(f"{where}: expected `files:`, a list of entries with a name")
    for item in files:
        name = item["name"]
        if "/" in name or name.startswith(".") or not name:
            raise CodeImportError(f"{where}: {name!r} is not a plain file name")
        if item.get("enabled", True) and not isinstance(item.get("url"), str):
            raise CodeImportError(f"{where}: {name} has no url")
    return list(files)


def _entry(item: dict[str, Any]) -> Entry:
    size = item.get("size")
    return Entry(
        name=item["name"],
        url=item["url"],
        page=str(item.get("page", "")),
        size=int(size) if size is not None else None,
        sha256=str(item["sha256"]).lower() if item.get("sha256") else None,
    )
