"""The project's own documents hold: every reply the SMS protocol can send is in
docs/sms-protocol.md, every document the README or another document points to exists, and none
depends on anything outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sms.templates import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_english_reply_is_in_the_protocol() -> None:
    protocol = (ROOT / "docs" / "sms-protocol.md").read_text()
    missing = sorted(key for key in TEMPLATES["EN"] if f"`{key}`" not in protocol)
    assert missing == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_lead_to_files_of_the_project(document: Path) -> None:
    text = document.read_text()
    broken = [
        target
        for target in LINK.findall(text)
        if not target.startswith(("http://", "https://", "mailto:"))
        and not (document.parent / target).resolve().exists()
    ]
    assert broken == []
    assert "../shared" not in text and "SMS-PROTOCOL.md" not in text and "DESIGN.md" not in text


def test_the_readme_is_a_newcomers_path() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    for command in ("python3 service/bootstrap.py run", "python3 service/bootstrap.py test"):
        assert command in readme
