"""Issue 6 on the real server: users made by `idp import` sign in — with a password, with an existing
hash made by Better Auth's own `hashPassword`, and with the magic link written to the --links file — and
`idp export`'s CSV re-imports as a no-op; `idp cleanup` removes only what the server no longer accepts."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest
from interop_support import NODE_DIR, PASSWORD, Stack, unique_email

pytestmark = pytest.mark.interop


def _node_hash(password: str) -> str:
    script = (
        "import { hashPassword } from 'better-auth/crypto';"
        f"process.stdout.write(await hashPassword({password!r}));"
    )
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_imported_users_sign_in(stack: Stack, tmp_path: Path) -> None:
    low = "viewer" if stack.owox else "user"
    with_password = unique_email("imp-pw")
    with_hash = unique_email("imp-hash")
    with_link = unique_email("imp-link")
    hashed = _node_hash("hash-from-better-auth")
    source = tmp_path / "users.csv"
    with source.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "name", "role", "password", "password_hash"])
        writer.writerow([with_password, "Pat", "editor", PASSWORD, ""])
        writer.writerow([with_hash, "Hal", low, "", hashed])
        writer.writerow([with_link.upper(), "", "admin", "", ""])
    links = tmp_path / "links.csv"
    r = stack.idp("import", str(source), "--links", str(links))
    assert r.exit_code == 0, r
    assert "Created 3" in r.stderr, r.stderr

    browser = stack.signed_in(with_password, PASSWORD)
    assert stack.server_role(browser) == "editor"
    browser = stack.signed_in(with_hash, "hash-from-better-auth")
    assert stack.server_role(browser) == low
    rows = list(csv.DictReader(io.StringIO(links.read_text())))
    assert [row["email"] for row in rows] == [with_link]
    browser = stack.link_works(rows[0]["magic_link"])
    assert stack.server_role(browser) == "admin"
    stack.link_fails(rows[0]["magic_link"])  # once only

    # export -> import --if-missing changes nothing
    exported = tmp_path / "export.csv"
    r = stack.idp("export", "--format", "csv")
    assert r.exit_code == 0, r
    exported.write_text(r.stdout)
    assert hashed not in r.stdout and "$" not in r.stdout.replace("$argon", "")
    r = stack.idp("import", str(exported), "--if-missing")
    assert r.exit_code == 0, r
    assert "Created 0" in r.stderr, r.stderr
    stack.signed_in(with_password, PASSWORD)  # untouched


def test_cleanup_keeps_what_the_server_still_accepts(stack: Stack) -> None:
    user = stack.add_user("cleanup", password=PASSWORD)
    browser = stack.signed_in(user["email"], PASSWORD)
    r = stack.idp("cleanup", "--json")
    assert r.exit_code == 0, r
    assert stack.session_user(browser) is not None  # a live session survives cleanup
    stack.link_works(user["magic_link"])  # and so does a live link
