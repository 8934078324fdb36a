"""Docs ship with the code: every command has a page, and the recipes run verbatim."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer

from owox_idp.cli import app

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"


def _command_names() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_has_a_docs_page() -> None:
    missing = [name for name in _command_names() if not (DOCS / "commands" / f"{name}.md").exists()]
    assert not missing, f"commands without docs/commands/<name>.md: {missing}"


def test_every_command_page_is_linked_from_the_index() -> None:
    index = (DOCS / "index.md").read_text()
    missing = [name for name in _command_names() if f"commands/{name}.md" not in index]
    assert not missing


def test_recipes_run_verbatim(tmp_path: Path) -> None:
    idp = shutil.which("idp")
    if idp is None:
        pytest.skip("the idp command is not installed (pip install -e .)")
    blocks = re.findall(r"```bash\n(.*?)```", (DOCS / "recipes.md").read_text(), flags=re.S)
    assert len(blocks) >= 4
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IDP_", "BETTER_AUTH", "DB_", "DATABASE_URL"))
    }
    env["HOME"] = str(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / ".config")
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ops@example.com created" in result.stdout
    assert "4 users" in result.stdout
    assert "https://data.example.com/auth/magic-link?token=" in result.stdout  # the recovery link
    links = (tmp_path / "links.csv").read_text().splitlines()
    assert links[0] == "email,magic_link,expires_at" and len(links) == 4  # the re-run kept the links
    assert (tmp_path / "links.csv").stat().st_mode & 0o077 == 0
    more = (tmp_path / "more-links.csv").read_text().splitlines()
    # every user without a password: the two just imported, and those invited before who have not set one
    assert {line.split(",")[0] for line in more[1:]} >= {"dan@example.com", "erin@example.com"}
    assert not any(line.startswith("ci-bot@") for line in more)
    assert (tmp_path / "alice-link.txt").read_text().startswith("https://data.example.com/auth/magic-link?")
    assert "robert@example.com ['name', 'email']" in result.stdout
    assert "Unlocked" not in result.stderr and "not locked out" in result.stderr
    import json

    assert len(json.loads((tmp_path / "dave-codes.json").read_text())["backup_codes"]) == 10
