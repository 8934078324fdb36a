"""The layering of docs/architecture.md, read from the source with ast (no import, under a second):
every import of owox_idp (at module level or inside a function, not under TYPE_CHECKING) points down the
layers; no cycle among module-level imports; crypto and db/engine import no config; only context.py
opens connections; a flavor is decided by name only where it is chosen."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "owox_idp"

# Lowest first. A module may import its own layer and those below, never one above.
LAYERS: list[tuple[str, ...]] = [
    (
        "owox_idp",  # the package itself: `__version__` (its lazy `Admin` export is the one way up)
        "owox_idp.errors",
        "owox_idp.clock",
        "owox_idp.models",
        "owox_idp.urls",
        "owox_idp.safefile",
        "owox_idp.output",
        "owox_idp.validation",
        "owox_idp.crypto",
    ),
    ("owox_idp.db",),
    ("owox_idp.repository",),
    ("owox_idp.flavors",),
    ("owox_idp.config",),
    ("owox_idp.deployment",),
    ("owox_idp.context",),
    ("owox_idp.services",),
    ("owox_idp.api",),
    ("owox_idp.cli", "owox_idp.__main__"),
]


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _target(name: str) -> str | None:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES and name.startswith("owox_idp") else None


def _imports(module: str) -> list[tuple[str, bool, int]]:
    """(imported owox_idp module, at module level, line) of every runtime import in `module`."""
    path = MODULES[module]
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test):
                for other in child.orelse:
                    visit_one(other, top)
                continue
            visit_one(child, top)

    def visit_one(node: ast.AST, top: bool) -> None:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for name in names:
            target = _target(name)
            if target is not None and target != module:
                found.append((target, top, node.lineno))
        inner = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        visit(node, top and not inner)

    visit(ast.parse(path.read_text(), str(path)), True)
    return found


IMPORTS = {module: _imports(module) for module in MODULES}


def _layer(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer)
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), rank)
    assert best[1] >= 0, f"{module} is in no layer of tests/test_layering.py: add it"
    return best[1]


def test_every_import_points_down_the_layers() -> None:
    upward = [
        f"{module}:{line} imports {target}"
        for module, imports in IMPORTS.items()
        for target, _top, line in imports
        if _layer(target) > _layer(module)
        and not (module == "owox_idp" and target == "owox_idp.api")  # the lazy `from owox_idp import Admin`
    ]
    assert upward == []


def test_no_import_cycle_at_module_level() -> None:
    graph = {module: {t for t, top, _ in imports if top} for module, imports in IMPORTS.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == []


def test_crypto_and_the_engine_import_no_config() -> None:
    bad = [
        f"{module}:{line} imports {target}"
        for module, imports in IMPORTS.items()
        if module.startswith("owox_idp.crypto") or module == "owox_idp.db.engine"
        for target, _top, line in imports
        if target == "owox_idp.config"
    ]
    assert bad == []
    assert "owox_idp.crypto.qr" not in MODULES  # a terminal drawing: cli/qr.py


def test_only_context_opens_connections() -> None:
    """create_engine and connect (db/engine.py's, SQLAlchemy's, a driver's) are called in context.py
    alone: services, the API and the CLI get connections from `Env`."""
    opener = re.compile(r"\b(create_engine|connect|raw_connection)\s*\(")
    allowed = {"owox_idp.context", "owox_idp.db.engine"}
    bad = []
    for module, path in MODULES.items():
        if module in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if opener.search(code) and not code.lstrip().startswith(("def ", '"', "'")):
                bad.append(f"{module}:{number}: {line.strip()}")
        for target, _top, line in IMPORTS[module]:
            if target == "owox_idp.db.engine":
                text = path.read_text().splitlines()[line - 1]
                if re.search(r"\b(create_engine|connect)\b", text):
                    bad.append(f"{module}:{line}: {text.strip()}")
    assert bad == []


def test_the_flavor_is_decided_by_name_only_where_it_is_chosen() -> None:
    """A rule that differs between flavors is data or a method of owox_idp/flavors/; outside it no
    code compares a flavor's name or asks for a flavor's class (config picks the flavor by name)."""
    sideways = re.compile(
        r"is_owox|flavor\s*[!=]=|(dep|deployment|flavor)\.name\s*[!=]=|[!=]=\s*\"(owox|better-auth(-rs)?)\""
        r"|isinstance\([^)]*Flavor\b"
    )
    bad = []
    for module, path in MODULES.items():
        if module.startswith("owox_idp.flavors"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if sideways.search(line):
                bad.append(f"{module}:{number}: {line.strip()}")
    assert bad == []


def test_the_repository_names_owox_organization_as_the_flavor_does() -> None:
    from owox_idp.flavors.owox import ORG_ID
    from owox_idp.repository.roles import OWOX_ORG_ID

    assert OWOX_ORG_ID == ORG_ID


def test_repository_sections_are_named_by_table_not_by_issue() -> None:
    """Regression (issue 9): repository sections were headed by the issue that added them."""
    heading = re.compile(r"#.*\bissue\s*#?\d+", re.IGNORECASE)
    bad = [
        f"{module}:{number}: {line.strip()}"
        for module, path in MODULES.items()
        if module.startswith("owox_idp.repository")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if heading.search(line)
    ]
    assert bad == []
