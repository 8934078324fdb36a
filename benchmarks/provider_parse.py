"""Parsing an Auth0 export versus idp's own CSV: `owox_idp.services.providers.read_auth0` over N users of Auth0's
bulk export (NDJSON, the fields a migration requests, half of them with a bcrypt `passwordHash` as in
the password hash export), each record turned into the importer's row (`to_input_row("bcrypt")`),
against `owox_idp.services.reading.read_rows` over the same users as idp's CSV (email, name, role,
password_hash). Parsing only: no database. Target: within 1.2x, so that `idp import --from auth0` of a
million users costs what `idp import` of them does. Best of --repeat runs each, files in memory.

    python benchmarks/provider_parse.py [--users 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time

from _common import header, report

from owox_idp.services.providers import read_auth0
from owox_idp.services.reading import read_rows

# one real bcrypt hash (cost 10) reused: parsing does not look inside it
BCRYPT = "$2b$10$pPNbkjWjNx9NMXQmr9v1ZuswXzlw.ug17Ri9/Qsj9WNo87T8XQmDi"


def make_files(users: int) -> tuple[bytes, bytes]:
    auth0 = io.StringIO()
    idp = io.StringIO()
    writer = csv.writer(idp, lineterminator="\n")
    writer.writerow(["email", "name", "role", "password_hash"])
    for i in range(users):
        email = f"user{i:07d}@example.com"
        record: dict[str, object] = {
            "user_id": f"auth0|{i:024x}",
            "email": email,
            "email_verified": i % 3 != 0,
            "name": f"User Number {i}",
            "created_at": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T10:20:30.{i % 1000:03d}Z",
            "identities": [
                {"connection": "Username-Password-Authentication", "provider": "auth0", "isSocial": False}
            ],
            "app_metadata": {"roles": ["admin" if i % 100 == 0 else "user"]},
        }
        if i % 2 == 0:
            record["passwordHash"] = BCRYPT
        auth0.write(json.dumps(record, separators=(",", ":")) + "\n")
        writer.writerow(
            [email, f"User Number {i}", "admin" if i % 100 == 0 else "user", BCRYPT if i % 2 == 0 else ""]
        )
    return auth0.getvalue().encode(), idp.getvalue().encode()


def best(repeat: int, job: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    header(f"parse {args.users:,} users: Auth0 NDJSON export vs idp CSV")
    auth0, idp = make_files(args.users)
    print(f"   files: Auth0 {len(auth0) / 2**20:.1f} MiB, idp CSV {len(idp) / 2**20:.1f} MiB")

    def provider() -> None:
        rows = [r.to_input_row("bcrypt") for r in read_auth0(io.BytesIO(auth0), "auth0.json")]
        assert len(rows) == args.users and rows[0].fields["password_hash"] == BCRYPT

    def own_csv() -> None:
        _, rows = read_rows(io.BytesIO(idp), name="users.csv")
        assert len(rows) == args.users

    def provider_records_only() -> None:
        count = sum(1 for _ in read_auth0(io.BytesIO(auth0), "auth0.json"))
        assert count == args.users

    anchor = best(args.repeat, own_csv)
    figure = best(args.repeat, provider)
    records = best(args.repeat, provider_records_only)
    rate = args.users / figure
    report("read_auth0 + to_input_row", figure, "s", "read_rows (idp CSV)", anchor, figure / anchor, "<= 1.2")
    print(f"   read_auth0 alone (records, no rows): {records:.3f} s; {rate:,.0f} users/s with rows")
    print(
        f"   extrapolated to 1,000,000 users: {figure * 1_000_000 / args.users:.1f} s vs {anchor * 1_000_000 / args.users:.1f} s"
    )


if __name__ == "__main__":
    main()
