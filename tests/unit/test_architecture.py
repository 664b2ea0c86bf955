"""The import rules of DESIGN.md: ledger/ and sms/ stay free of Flask, of the service and of each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "ledger": {"flask", "service", "sms", "rq", "redis", "twilio", "marshmallow"},
    "sms": {"flask", "sqlalchemy", "service", "ledger", "rq", "redis", "alembic"},
}
# The ledger may use the standard library and SQLAlchemy, nothing else.
LEDGER_ALLOWED_THIRD_PARTY = {"sqlalchemy"}


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
    import sys

    for path in sorted((ROOT / "ledger").rglob("*.py")):
        third_party = {
            name
            for name in imported_roots(path)
            if name not in sys.stdlib_module_names and name != "__future__"
        }
        assert third_party <= LEDGER_ALLOWED_THIRD_PARTY, (path, third_party)
