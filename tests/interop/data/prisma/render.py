"""The SQL `prisma migrate dev` creates from a Better Auth `schema.prisma`, for PostgreSQL and MySQL.

Prisma's schema engine is a native binary that is downloaded at install time, which this machine
cannot do, so this reproduces its output for the small subset of Prisma that Better Auth's CLI emits
(scalar String/Boolean/DateTime/Int fields, `?`, `@id`, `@default(...)`, `@updatedAt`, `@@unique`,
`@@index` (with MySQL's `length:` prefix), `@@map`, relations with `onDelete`). The rendering follows Prisma's migration SQL
(prisma-engines, schema-engine/connectors/sql-schema-connector/src/sql_renderer/{postgres,mysql}_renderer.rs):

- native types: PostgreSQL String -> TEXT, Boolean -> BOOLEAN, DateTime -> TIMESTAMP(3) (without time
  zone), Int -> INTEGER; MySQL String -> VARCHAR(191), Boolean -> BOOLEAN (tinyint(1)), DateTime ->
  DATETIME(3), Int -> INTEGER.
- `@default(now())` -> DEFAULT CURRENT_TIMESTAMP (PostgreSQL) / CURRENT_TIMESTAMP(3) (MySQL);
  `@updatedAt` has no database default (the client sets it).
- the primary key is a named constraint `<table>_pkey` (PostgreSQL) / `PRIMARY KEY (id)` (MySQL);
  unique indexes are `<table>_<cols>_key`, indexes `<table>_<cols>_idx`, foreign keys
  `<table>_<col>_fkey` with `ON DELETE ... ON UPDATE CASCADE`; MySQL puts the indexes inside
  CREATE TABLE and closes it with `DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`, and
  writes NULL for nullable columns.

    python render.py postgresql/schema.prisma > postgresql/migration.sql
    python render.py mysql/schema.prisma > mysql/migration.sql
    python render.py --no-map postgresql/schema.prisma > postgresql-nomap/migration.sql
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

SCALARS = {"String", "Boolean", "DateTime", "Int"}


@dataclass
class PField:
    name: str
    type: str
    optional: bool
    attrs: str


@dataclass
class PModel:
    name: str
    table: str
    fields: list[PField] = field(default_factory=list)
    uniques: list[list[str]] = field(default_factory=list)
    indexes: list[list[str]] = field(default_factory=list)
    relations: list[tuple[str, str, str, str]] = field(default_factory=list)  # col, model, refcol, onDelete


def parse(text: str, *, use_map: bool) -> tuple[str, list[PModel]]:
    provider = re.search(r'datasource db \{[^}]*provider\s*=\s*"(\w+)"', text, re.S)
    assert provider
    models: list[PModel] = []
    for m in re.finditer(r"model (\w+) \{(.*?)\n\}", text, re.S):
        name, body = m.group(1), m.group(2)
        mapped = re.search(r'@@map\("([^"]+)"\)', body)
        model = PModel(name, mapped.group(1) if (mapped and use_map) else name)
        for line in body.strip().splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("@@unique"):
                model.uniques.append(_index_columns(line))
            elif line.startswith("@@index"):
                model.indexes.append(_index_columns(line))
            elif not line.startswith("@@"):
                parts = line.split(None, 2)
                fname, ftype = parts[0], parts[1]
                attrs = parts[2] if len(parts) > 2 else ""
                base = ftype.rstrip("?").rstrip("[]")
                if base in SCALARS:
                    model.fields.append(PField(fname, base, ftype.endswith("?"), attrs))
                elif "@relation" in attrs:
                    col = re.search(r"fields: \[(\w+)\]", attrs)
                    ref = re.search(r"references: \[(\w+)\]", attrs)
                    on_delete = re.search(r"onDelete: (\w+)", attrs)
                    assert col and ref
                    model.relations.append(
                        (col.group(1), base, ref.group(1), on_delete.group(1) if on_delete else "Restrict")
                    )
        models.append(model)
    return provider.group(1), models


def _index_columns(line: str) -> list[str]:
    """`@@index([userId(length: 191)])` -> ["userId:191"] (MySQL prefix index, as the CLI writes it)."""
    inner = line.split("[", 1)[1].rsplit("]", 1)[0]
    out = []
    for m in re.finditer(r"(\w+)(?:\(length:\s*(\d+)\))?", inner):
        out.append(m.group(1) + (f":{m.group(2)}" if m.group(2) else ""))
    return out


def _cols(provider: str, cols: list[str]) -> str:
    parts = []
    for c in cols:
        name, _, length = c.partition(":")
        parts.append(_q(provider, name) + (f"({length})" if length else ""))
    return ", ".join(parts)


def _iname(cols: list[str]) -> str:
    return "_".join(c.partition(":")[0] for c in cols)


def _type(provider: str, f: PField) -> str:
    if provider == "postgresql":
        return {"String": "TEXT", "Boolean": "BOOLEAN", "DateTime": "TIMESTAMP(3)", "Int": "INTEGER"}[f.type]
    return {"String": "VARCHAR(191)", "Boolean": "BOOLEAN", "DateTime": "DATETIME(3)", "Int": "INTEGER"}[
        f.type
    ]


def _default(provider: str, f: PField) -> str:
    m = re.search(r"@default\((.*?)\)(\s|$)", f.attrs + " ")
    if not m:
        return ""
    value = m.group(1)
    if value == "now()":
        return " DEFAULT CURRENT_TIMESTAMP" + ("(3)" if provider == "mysql" else "")
    if value.startswith('"'):
        return " DEFAULT '" + value.strip('"') + "'"
    return f" DEFAULT {value}"


def _q(provider: str, name: str) -> str:
    return f'"{name}"' if provider == "postgresql" else f"`{name}`"


def render(provider: str, models: list[PModel]) -> str:
    tables = {m.name: m.table for m in models}
    out: list[str] = []
    q = lambda n: _q(provider, n)  # noqa: E731
    for m in models:
        lines = []
        for f in m.fields:
            null = " NOT NULL" if not f.optional else (" NULL" if provider == "mysql" else "")
            lines.append(f"    {q(f.name)} {_type(provider, f)}{null}{_default(provider, f)}")
        if provider == "postgresql":
            lines.append("")
            lines.append(f'    CONSTRAINT "{m.table}_pkey" PRIMARY KEY ("id")')
            body = ",\n".join(lines[:-2]) + ",\n\n" + lines[-1]
            out.append(f"-- CreateTable\nCREATE TABLE {q(m.table)} (\n{body}\n);\n")
        else:
            for cols in m.indexes:
                lines.append(f"    INDEX `{m.table}_{_iname(cols)}_idx`({_cols(provider, cols)})")
            for cols in m.uniques:
                lines.append(f"    UNIQUE INDEX `{m.table}_{_iname(cols)}_key`({_cols(provider, cols)})")
            lines.append("    PRIMARY KEY (`id`)")
            out.append(
                f"-- CreateTable\nCREATE TABLE {q(m.table)} (\n"
                + ",\n".join(lines)
                + "\n) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"
            )
    if provider == "postgresql":
        for m in models:
            for cols in m.uniques:
                out.append(
                    f'-- CreateIndex\nCREATE UNIQUE INDEX "{m.table}_{_iname(cols)}_key" '
                    f'ON "{m.table}"({_cols(provider, cols)});\n'
                )
            for cols in m.indexes:
                out.append(
                    f'-- CreateIndex\nCREATE INDEX "{m.table}_{_iname(cols)}_idx" '
                    f'ON "{m.table}"({_cols(provider, cols)});\n'
                )
    actions = {"Cascade": "CASCADE", "Restrict": "RESTRICT", "SetNull": "SET NULL", "NoAction": "NO ACTION"}
    for m in models:
        for col, target, ref, on_delete in m.relations:
            out.append(
                f"-- AddForeignKey\nALTER TABLE {q(m.table)} ADD CONSTRAINT {q(f'{m.table}_{col}_fkey')} "
                f"FOREIGN KEY ({q(col)}) REFERENCES {q(tables[target])}({q(ref)}) "
                f"ON DELETE {actions[on_delete]} ON UPDATE CASCADE;\n"
            )
    return "\n".join(out)


def main(argv: list[str]) -> None:
    use_map = "--no-map" not in argv
    path = Path(next(a for a in argv if not a.startswith("--")))
    provider, models = parse(path.read_text(), use_map=use_map)
    sys.stdout.write(render(provider, models))


if __name__ == "__main__":
    main(sys.argv[1:])
