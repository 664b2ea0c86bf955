"""The collector app's shell as served (no browser): the page under its CSP, the service worker
and what it precaches, the shell's version, the manifest and its icons, the size budget, and
nothing fetched from anywhere but Kolekt itself."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import sms
from service.web.collector_app import (
    CONTENT_SECURITY_POLICY,
    SHELL_DIR,
    load_shell,
    shell_files,
    shell_version,
)

GZIP_BUDGET = 200 * 1024
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def precached(client: FlaskClient) -> list[str]:
    """The URLs the service worker says it keeps for offline use."""
    found = re.search(r"^const PRECACHE = (\[.*\]);$", client.get("/app/sw.js").text, re.MULTILINE)
    assert found, "sw.js names no PRECACHE list"
    urls: list[str] = json.loads(found.group(1))
    return urls


def version_of(client: FlaskClient) -> str:
    found = re.search(r'^const VERSION = "([0-9a-f]+)";$', client.get("/app/sw.js").text, re.MULTILINE)
    assert found
    return found.group(1)


def assert_app_headers(response: TestResponse) -> None:
    assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_is_served_under_the_strict_csp(client: FlaskClient) -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP
    bare = client.get("/app")
    assert bare.status_code in (301, 308) and bare.headers["Location"].endswith("/app/")
    assert_app_headers(bare)

    page = client.get("/app/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_app_headers(page)
    assert page.headers["Cache-Control"] == "no-cache"
    html = page.text
    assert '<link rel="manifest" href="/app/manifest.webmanifest">' in html
    # Nothing the CSP would block: no inline script or style, no handler attributes.
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == []
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    # Each input has a label.
    for input_id in re.findall(r'<input id="([^"]+)"', html):
        assert f'<label for="{input_id}">' in html, input_id
    # Unknown paths under /app keep the app's headers too.
    missing = client.get("/app/static/nope/nothing.js")
    assert missing.status_code == 404
    assert_app_headers(missing)


def test_the_service_worker_precaches_every_shell_file(client: FlaskClient) -> None:
    worker = client.get("/app/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    assert_app_headers(worker)
    version = version_of(client)
    assert version == shell_version()

    static_dir = SHELL_DIR / "static"
    every_static = sorted(
        f"/app/static/{version}/{p.relative_to(static_dir).as_posix()}" for p in shell_files(static_dir)
    )
    assert len(every_static) >= 8  # the page's scripts, the stylesheet and three icons at least
    urls = precached(client)
    assert sorted(urls) == sorted(["/app/", "/app/manifest.webmanifest", *every_static])
    # Everything the page loads is precached, so it opens with no connection.
    page = client.get("/app/").text
    for url in re.findall(r'(?:src|href)="(/app/[^"]*)"', page):
        assert url in urls, url
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_app_headers(response)
        if "/static/" in url:
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
    # Every module a script imports is precached too (relative imports resolve beside it).
    for name in (p.name for p in static_dir.glob("*.js")):
        for imported in re.findall(r'from "\./([^"]+)"', (static_dir / name).read_text()):
            assert f"/app/static/{version}/{imported}" in urls, (name, imported)


def test_an_old_versions_url_still_answers_but_is_not_kept(client: FlaskClient) -> None:
    response = client.get("/app/static/0000000000000000/app.js")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    assert client.get(f"/app/static/{version_of(client)}/not-a-shell-file.js").status_code == 404
    assert client.get(f"/app/static/{version_of(client)}/../__init__.py").status_code == 404


def test_the_version_changes_when_any_shell_file_changes(tmp_path: Path) -> None:
    copy = tmp_path / "shell"
    shutil.copytree(SHELL_DIR, copy)
    original = shell_version(copy)
    assert original == shell_version(SHELL_DIR), "the version depends on the files only"
    loaded = load_shell(copy)
    assert f'const VERSION = "{original}";' in loaded.pages["sw.js"].decode()

    seen = {original}
    for path in shell_files(copy):
        kept = path.read_bytes()
        path.write_bytes(kept + b"\n")
        changed = shell_version(copy)
        assert changed not in seen, path.relative_to(copy)
        assert f'const VERSION = "{changed}";' in load_shell(copy).pages["sw.js"].decode()
        seen.add(changed)
        path.write_bytes(kept)
    assert shell_version(copy) == original
    # A renamed file is a change too.
    (copy / "static" / "app.css").rename(copy / "static" / "app2.css")
    assert shell_version(copy) not in seen


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a well-formed 8-bit RGBA PNG (every chunk's CRC right, and the image
    data as long as its size says)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.setdefault(kind, b"")
        chunks[kind] += body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 6)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + width * 4)
    assert b"IEND" in chunks
    return width, height


def test_the_manifest_makes_the_app_installable(client: FlaskClient) -> None:
    response = client.get("/app/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    assert_app_headers(response)
    manifest = json.loads(response.text)
    assert manifest["name"] and manifest["short_name"]
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/app/", "/app/", "standalone")
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    purposes: dict[str, set[str]] = {}
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png"
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png", icon["src"]
        width, height = png_size(image.data)
        assert icon["sizes"] == f"{width}x{height}"
        purposes.setdefault(icon.get("purpose", "any"), set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= purposes["any"]
    assert "512x512" in purposes["maskable"]


def shell_bodies(client: FlaskClient) -> dict[str, bytes]:
    """Every file of the app as served: what the worker precaches, and the worker itself."""
    return {url: client.get(url).data for url in [*precached(client), "/app/sw.js"]}


def test_the_new_household_form_offers_every_language_english_first(client: FlaskClient) -> None:
    """The languages households are texted in (sms.LANGUAGES), by the names the texts use."""
    html = client.get("/app/").text
    select = re.search(r'<select id="household-language" name="language">(.*?)</select>', html, re.DOTALL)
    assert select, "no language in the new household form"
    options = re.findall(r'<option value="([A-Z]+)"( selected)?>([^<]+)</option>', select.group(1))
    assert [(code, name) for code, _, name in options] == [
        (code, sms.LANGUAGE_NAMES[code]) for code in sms.LANGUAGES
    ]
    assert [code for code, selected, _ in options if selected] == ["EN"] == [sms.LANGUAGES[0]]


def test_the_whole_app_is_small(client: FlaskClient) -> None:
    bodies = shell_bodies(client)
    compressed = sum(len(gzip.compress(body, compresslevel=9)) for body in bodies.values())
    assert compressed < GZIP_BUDGET, f"{compressed:,} bytes gzipped"


def test_nothing_comes_from_another_origin(client: FlaskClient) -> None:
    for url, body in shell_bodies(client).items():
        assert b"http://" not in body and b"https://" not in body, url
        assert b"//cdn" not in body, url
