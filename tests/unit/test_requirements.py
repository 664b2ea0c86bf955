"""What is installed: the runtime's requirements apart from the test tools (the run command installs
only what running needs), the same pins in pyproject.toml, and nothing the service imports left
out of the runtime's list."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"pytest", "pytest-xdist", "hypothesis", "ruff", "mypy", "playwright", "schemathesis"}


def pins(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-r"))
    ]


def name(pin: str) -> str:
    return pin.split("==")[0].split("[")[0].lower()


def test_pyproject_declares_the_same_pins_as_the_requirements_files() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == pins(ROOT / "requirements.txt")
    assert project["optional-dependencies"]["dev"] == pins(ROOT / "requirements-dev.txt")
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_the_runtime_installs_no_test_tool() -> None:
    runtime = {name(pin) for pin in pins(ROOT / "requirements.txt")}
    assert runtime.isdisjoint(TOOLS)
    assert {name(pin) for pin in pins(ROOT / "requirements-dev.txt")} == TOOLS


def test_nothing_the_running_code_imports_is_a_test_tool() -> None:
    imported: set[str] = set()
    for package in ("service", "sms", "ledger"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
    assert imported.isdisjoint(TOOLS | {"_pytest"}), imported & TOOLS
    assert {"flask", "sqlalchemy", "babel"} <= imported  # the walk read real imports
