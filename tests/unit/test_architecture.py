"""The house rules of docs/architecture.md, read from the source: imports go one way.

- ``ledger/`` and ``sms/`` stay free of Flask, of the service and of each other;
- inside ``service/``, no module imports one that imports it back (no cycle), and each room
  imports only the rooms below it (the doors: channels, web, cli, jobs; the use cases and reads;
  the base);
- no registry built by importlib, and no job named by a dotted string;
- the rooms stay rooms: at most 12 modules directly in ``service/``, none over 500 lines.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "ledger": {"flask", "service", "sms", "rq", "redis", "twilio", "marshmallow"},
    "sms": {"flask", "sqlalchemy", "service", "ledger", "rq", "redis", "alembic"},
}
# The ledger may use the standard library and SQLAlchemy, nothing else.
LEDGER_ALLOWED_THIRD_PARTY = {"sqlalchemy"}

# Each room of service/ and the rooms it may import (its own included). "base" is service/'s own
# modules and the providers; "app" is the application factory, which puts every room together.
ROOMS = {
    "base": {"base"},
    "usecases": {"base", "usecases"},
    "reads": {"base", "usecases", "reads"},
    # The inbox's retries act on stored texts as the webhook does: through the conversation.
    "jobs": {"base", "usecases", "channels", "jobs"},
    # The webhooks and the simulator are served over HTTP: they use the web's request helpers.
    "channels": {"base", "usecases", "reads", "channels", "web.base"},
    "web": {"base", "usecases", "reads", "web"},
    "cli": {"base", "usecases", "reads", "jobs", "channels", "cli"},
    "app": {"base", "usecases", "reads", "jobs", "channels", "web", "cli", "app"},
}
MAX_TOP_LEVEL_MODULES = 12
MAX_LINES = 500


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_it_must_not(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offending = {str(f.relative_to(ROOT)): imported_roots(f) & FORBIDDEN[package] for f in files}
    assert {f: sorted(bad) for f, bad in offending.items() if bad} == {}


def test_ledger_uses_only_the_standard_library_and_sqlalchemy() -> None:
    for path in sorted((ROOT / "ledger").rglob("*.py")):
        third_party = {
            name
            for name in imported_roots(path)
            if name not in sys.stdlib_module_names and name != "__future__"
        }
        assert third_party <= LEDGER_ALLOWED_THIRD_PARTY, (path, third_party)


# --- inside service/ -------------------------------------------------------------------------------


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "service").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every service module this file imports, wherever the import stands (in a function too)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: imports are absolute"
            if node.module and node.module.split(".")[0] == "service":
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    yield node.lineno, full if full in MODULES else node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "service":
                    yield node.lineno, alias.name


GRAPH = {name: {module for _, module in _imports(path)} - {name} for name, path in MODULES.items()}


def room_of(module: str) -> str:
    parts = module.split(".")
    if module in ("service", "service.app"):
        return "app"
    if module == "service.web.base":
        return "web.base"
    if parts[1] in ROOMS:
        return parts[1]
    return "base"  # service's own modules, the models and the providers


def _allowed(importer: str, imported: str) -> bool:
    mine, theirs = room_of(importer), room_of(imported)
    wanted = ROOMS["web" if mine == "web.base" else mine]
    return theirs in wanted or (theirs == "web.base" and "web" in wanted)


def test_every_module_is_in_a_room() -> None:
    assert {room_of(module) for module in MODULES} <= {*ROOMS, "web.base"}


def test_imports_go_one_way_down_the_rooms() -> None:
    wrong = [
        f"{MODULES[importer].relative_to(ROOT)}:{line} ({room_of(importer)}) imports {imported} "
        f"({room_of(imported)})"
        for importer, path in MODULES.items()
        for line, imported in _imports(path)
        if imported in MODULES and not _allowed(importer, imported)
    ]
    assert wrong == []


def _cycle() -> list[str] | None:
    """One import cycle among service's modules, if there is any (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(GRAPH[module] & MODULES.keys()):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (found := visit(imported)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(MODULES):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycle() is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    saved = dict(GRAPH)
    try:
        GRAPH["service.db"] = GRAPH["service.db"] | {"service.runtime"}  # runtime imports db
        assert _cycle() is not None
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_a_use_case_importing_a_door_is_refused() -> None:
    assert not _allowed("service.usecases.pickups", "service.channels.inbox")
    assert not _allowed("service.jobs.sending", "service.web.base")
    assert not _allowed("service.runtime", "service.jobs.queue")
    assert _allowed("service.channels.webhooks", "service.web.base")
    assert _allowed("service.web.dashboard.base", "service.usecases.audit")


def test_nothing_is_found_by_importlib() -> None:
    users = [str(path.relative_to(ROOT)) for path in MODULES.values() if "importlib" in imported_roots(path)]
    assert users == []


def test_no_job_is_named_by_a_dotted_string() -> None:
    """Jobs are named by ``service.unit_of_work.Job`` or enqueued as functions: a module moved
    must not leave a job that RQ can no longer find."""
    named = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for path in MODULES.values()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("service.")
        and " " not in node.value
    ]
    assert named == []


def test_the_rooms_stay_rooms() -> None:
    top = sorted(path.name for path in (ROOT / "service").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_job_has_a_function_on_a_queue_a_worker_listens_to() -> None:
    from service.jobs.registry import JOBS, QUEUES
    from service.unit_of_work import Job

    assert set(JOBS) == set(Job)
    for job, spec in JOBS.items():
        assert spec.queue in QUEUES, job
        module = sys.modules[spec.function.__module__]
        assert getattr(module, spec.function.__name__) is spec.function, job
