"""The collector app under ``/app``: a progressive web app for the cheap Android phones collectors
carry on their bikes, where data comes and goes for hours.

Everything it needs is in ``shell/`` and is served from this origin, under a strict CSP:

- ``shell/index.html``, ``shell/sw.js`` and ``shell/manifest.webmanifest`` are rendered with the
  shell's version (and, for the service worker, the list of files it precaches);
- ``shell/static/**`` is served at ``/app/static/<version>/<name>`` with a year-long cache: a new
  version is a new URL, so a phone never mixes an old script with a new page.

The version is a hash of every shell file, computed once at start: when any file changes, the
service worker's text changes, the browser installs the new worker, it precaches the new files
and deletes the old cache on activation. The pages hold no secrets and need no CSRF token (the
app calls the JSON API with a bearer token it keeps on the phone).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

PREFIX = "/app"
SHELL_DIR = Path(__file__).resolve().parent / "shell"
# Rendered with the version; every other shell file is under static/ and served as it is.
PAGES = ("index.html", "sw.js", "manifest.webmanifest")
EXTENSION = "kolekt.collector_app"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
# Versioned URLs never change content; everything else is checked with the server on each use.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

MIMETYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}

blueprint = Blueprint("collector_app", __name__, url_prefix=PREFIX)


def shell_files(root: Path = SHELL_DIR) -> list[Path]:
    """Every file of the shell, in a stable order (hidden files such as editors' left out)."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def shell_version(root: Path = SHELL_DIR) -> str:
    """A hash of every shell file's name and bytes: any change to any of them changes it."""
    digest = hashlib.sha256()
    for path in shell_files(root):
        name = path.relative_to(root).as_posix().encode()
        content = path.read_bytes()
        # Lengths first, so no two different sets of files can run together into the same bytes.
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)))
        digest.update(content)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Shell:
    """The shell as read at start: its version, its rendered pages and its static files' bytes
    (held in memory: what is served always matches the version, whatever happens on disk)."""

    version: str
    pages: dict[str, bytes]
    static: dict[str, bytes]

    @property
    def static_base(self) -> str:
        return f"{PREFIX}/static/{self.version}/"

    def precache(self) -> list[str]:
        """What the service worker keeps for offline use: the page, the manifest, every file."""
        return [f"{PREFIX}/", f"{PREFIX}/manifest.webmanifest", *(self.static_base + n for n in self.static)]


def _render(template: str, version: str, static_base: str, precache: list[str]) -> bytes:
    # Plain placeholders, not Jinja: three values to fill in, and nothing in the scripts to escape.
    return (
        template.replace("{{VERSION}}", version)
        .replace("{{STATIC}}", static_base)
        .replace("{{PRECACHE}}", json.dumps(precache))
        .encode()
    )


def load_shell(root: Path = SHELL_DIR) -> Shell:
    version = shell_version(root)
    static_dir = root / "static"
    static = {path.relative_to(static_dir).as_posix(): path.read_bytes() for path in shell_files(static_dir)}
    unrendered = Shell(version, {}, static)
    precache = unrendered.precache()
    pages = {
        name: _render((root / name).read_text(), version, unrendered.static_base, precache) for name in PAGES
    }
    return Shell(version, pages, static)


@blueprint.record_once
def _load(state: BlueprintSetupState) -> None:
    state.app.extensions[EXTENSION] = load_shell()


def shell() -> Shell:
    loaded: Shell = current_app.extensions[EXTENSION]
    return loaded


def _mimetype(name: str) -> str:
    return MIMETYPES.get(Path(name).suffix, "application/octet-stream")


def _send(body: bytes, name: str, etag: str, cache: str) -> Response:
    response = Response(body, mimetype=_mimetype(name))
    response.headers["Cache-Control"] = cache
    response.set_etag(etag)
    response.make_conditional(request)  # a 304 when the phone's copy is current
    return response


def _page(name: str) -> Response:
    loaded = shell()
    return _send(loaded.pages[name], name, f"{loaded.version}-{name}", REVALIDATE)


@blueprint.get("")
def bare() -> ResponseReturnValue:
    return redirect(f"{PREFIX}/", code=301)


@blueprint.get("/")
def index() -> ResponseReturnValue:
    return _page("index.html")


@blueprint.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    # Served from /app/ so its scope is /app/ without a Service-Worker-Allowed header; never
    # cached, so a phone with data sees a new version at its next visit.
    return _page("sw.js")


@blueprint.get("/manifest.webmanifest")
def manifest() -> ResponseReturnValue:
    return _page("manifest.webmanifest")


@blueprint.get("/static/<version>/<path:name>")
def static_file(version: str, name: str) -> ResponseReturnValue:
    loaded = shell()
    body = loaded.static.get(name)
    if body is None:
        raise NotFound()
    # An old version's URL (a tab open across a deploy) gets today's file, but not for keeps.
    cache = IMMUTABLE if version == loaded.version else REVALIDATE
    return _send(body, name, f"{loaded.version}-{name}", cache)


def _headers(response: Response) -> Response:
    """The app's CSP on everything under /app, errors included (the app-wide headers, set
    afterwards with setdefault, add the rest without replacing these)."""
    if request.path == PREFIX or request.path.startswith(f"{PREFIX}/"):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


blueprint.after_app_request(_headers)
