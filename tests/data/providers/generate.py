"""Writes the sample exports in this folder (run from the repository root: python
tests/data/providers/generate.py). The hashes are real: each sample user's password is in README.md, and
tests/test_providers.py verifies them. bcrypt salts are random, so a re-run changes the hash strings
but not what the tests check."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

import bcrypt
from argon2.low_level import Type, hash_secret_raw

HERE = Path(__file__).parent


def bcrypt_hash(password: str, prefix: str = "$2a$") -> str:
    stored = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    return prefix + stored[4:]


def auth0() -> None:
    # bulk user export, "format": "json": NDJSON, one user a line (fields as requested in the job)
    bulk = [
        {
            "user_id": "auth0|65a1f0c2e4b0a1b2c3d4e5f6",
            "email": "ann@example.com",
            "email_verified": True,
            "name": "Ann Lee",
            "created_at": "2023-01-15T10:20:30.123Z",
            "identities": [
                {"connection": "Username-Password-Authentication", "provider": "auth0", "isSocial": False}
            ],
            "app_metadata": {"roles": ["admin"]},
        },
        {
            "user_id": "auth0|65a1f0c2e4b0a1b2c3d4e5f7",
            "email": "bob@example.com",
            "email_verified": False,
            "name": "bob@example.com",
            "given_name": "Bob",
            "family_name": "Stone",
            "created_at": "2023-02-01T08:00:00.000Z",
            "identities": [
                {"connection": "Username-Password-Authentication", "provider": "auth0", "isSocial": False}
            ],
        },
        {
            "user_id": "google-oauth2|104857600000000000001",
            "email": "cleo@example.com",
            "email_verified": True,
            "name": "Cleo Park",
            "created_at": "2023-03-05T12:00:00.000Z",
            "identities": [{"connection": "google-oauth2", "provider": "google-oauth2", "isSocial": True}],
            "app_metadata": {"authorization": {"roles": ["user"], "groups": []}},
        },
    ]
    # password hash export from Auth0 support: NDJSON, bcrypt $2b$10$, Mongo-style _id and $date
    hashes = [
        {
            "_id": {"$oid": "65a1f0c2e4b0a1b2c3d4e5f8"},
            "email_verified": True,
            "email": "dana@example.com",
            "passwordHash": bcrypt_hash("auth0-dana-pass", "$2b$"),
            "password_set_date": {"$date": "2023-04-01T09:30:00.000Z"},
            "tenant": "example-tenant",
            "connection": "Username-Password-Authentication",
            "_tmp_is_unique": True,
        },
        {
            "_id": {"$oid": "65a1f0c2e4b0a1b2c3d4e5f9"},
            "passwordHash": bcrypt_hash("auth0-eve-pass", "$2b$"),
            "tenant": "example-tenant",
            "connection": "Username-Password-Authentication",
            "_tmp_is_unique": True,
            "identifiers": [{"type": "email", "value": "eve@example.com", "verified": False}],
            "alt_id": "eve",
        },
    ]
    lines = [json.dumps(u, separators=(",", ":")) for u in bulk]
    lines.append('{"user_id": "auth0|broken", "email": "frank@example.com",')  # a cut line
    lines.append('["not", "an", "object"]')
    lines += [json.dumps(u, separators=(",", ":")) for u in hashes]
    text = "\n".join(lines) + "\n"
    (HERE / "auth0.json").write_text(text)
    with gzip.open(HERE / "auth0.json.gz", "wt") as handle:
        handle.write(text)


SUPABASE_COLUMNS = (  # noqa: SIM905 - kept as Supabase lists them
    "instance_id,id,aud,role,email,encrypted_password,email_confirmed_at,invited_at,confirmation_token,"
    "confirmation_sent_at,recovery_token,recovery_sent_at,email_change_token_new,email_change,"
    "email_change_sent_at,last_sign_in_at,raw_app_meta_data,raw_user_meta_data,is_super_admin,created_at,"
    "updated_at,phone,phone_confirmed_at,phone_change,phone_change_token,phone_change_sent_at,confirmed_at,"
    "email_change_token_current,email_change_confirm_status,banned_until,reauthentication_token,"
    "reauthentication_sent_at,is_sso_user,deleted_at,is_anonymous"
).split(",")


def supabase() -> None:
    instance = "00000000-0000-0000-0000-000000000000"

    def user(
        uid: str,
        email: str,
        password: str | None,
        confirmed: str | None,
        created: str,
        meta: dict[str, object],
        app: dict[str, object],
        **extra: object,
    ) -> dict[str, object]:
        row: dict[str, object] = dict.fromkeys(SUPABASE_COLUMNS, "")
        row.update(
            instance_id=instance,
            id=uid,
            aud="authenticated",
            role="authenticated",
            email=email,
            encrypted_password=bcrypt_hash(password) if password else "",
            email_confirmed_at=confirmed or "",
            confirmed_at=confirmed or "",
            raw_app_meta_data=json.dumps(app),
            raw_user_meta_data=json.dumps(meta),
            created_at=created,
            updated_at=created,
            is_sso_user="false",
            is_anonymous="false",
            email_change_confirm_status="0",
            confirmation_token="",
            recovery_token="",
        )
        row.update(extra)
        return row

    rows = [
        user(
            "5f2b9a1e-0000-4000-8000-000000000001",
            "gail@example.com",
            "supabase-gail-pass",
            "2024-01-02 03:05:00.000000+00",
            "2024-01-02 03:04:05.123456+00",
            {"full_name": "Gail Ross"},
            {"provider": "email", "providers": ["email"], "roles": ["admin"]},
        ),
        user(
            "5f2b9a1e-0000-4000-8000-000000000002",
            "hugo@example.com",
            "supabase-hugo-pass",
            None,
            "2024-02-10 11:00:00+00",
            {"name": "Hugo"},
            {"provider": "email", "providers": ["email"]},
        ),
        user(
            "5f2b9a1e-0000-4000-8000-000000000003",
            "ines@example.com",
            None,
            "2024-03-01 09:00:00+00",
            "2024-03-01 09:00:00+00",
            {"full_name": "Ines Diaz", "avatar_url": "https://example.com/i.png"},
            {"provider": "github", "providers": ["github"]},
        ),
        user(
            "5f2b9a1e-0000-4000-8000-000000000004",
            "jon@example.com",
            "supabase-jon-pass",
            "2024-03-02 09:00:00+00",
            "2024-03-02 09:00:00+00",
            {},
            {"provider": "email"},
            deleted_at="2024-05-01 00:00:00+00",
        ),
        user(
            "5f2b9a1e-0000-4000-8000-000000000005",
            "",
            None,
            None,
            "2024-03-03 09:00:00+00",
            {},
            {},
            is_anonymous="true",
        ),
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUPABASE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text = out.getvalue() + "garbage,row\n"  # a row with the wrong number of fields
    (HERE / "supabase.csv").write_text(text)
    # JSON Lines as `select row_to_json(u) from auth.users u`: jsonb as objects, ISO timestamps
    json_lines = []
    for row in rows[:3]:
        obj = {k: (v if v != "" else None) for k, v in row.items()}
        obj["raw_app_meta_data"] = json.loads(str(row["raw_app_meta_data"]))
        obj["raw_user_meta_data"] = json.loads(str(row["raw_user_meta_data"]))
        for key in ("created_at", "updated_at", "email_confirmed_at", "confirmed_at"):
            if obj[key]:
                obj[key] = str(obj[key]).replace(" ", "T") + ":00"
        obj["is_sso_user"], obj["is_anonymous"], obj["email_change_confirm_status"] = False, False, 0
        json_lines.append(json.dumps(obj))
    (HERE / "supabase.jsonl").write_text("\n".join(json_lines) + "\n")


# firebase/scrypt's README vector (the project's hash config and one user): password "user1password"
FIREBASE_HASH_CONFIG = {
    "algorithm": "SCRYPT",
    "base64_signer_key": "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    "base64_salt_separator": "Bw==",
    "rounds": 8,
    "mem_cost": 14,
}


def firebase() -> None:
    users = [
        {
            "localId": "Yx1PnA2bQ3cR4dS5eT6fU7gV8hW9",
            "email": "kim@example.com",
            "emailVerified": True,
            "passwordHash": "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
            "salt": "42xEC+ixf3L2lw==",
            "displayName": "Kim Yu",
            "lastSignedInAt": "1700000000000",
            "createdAt": "1486324027000",
            "customAttributes": '{"roles":["admin"]}',
            "providerUserInfo": [],
        },
        {
            "localId": "Ab1CdE2fG3hI4jK5lM6nO7pQ8rS9",
            "email": "lou@example.com",
            "emailVerified": False,
            "displayName": "Lou",
            "createdAt": "1600000000000",
            "disabled": False,
            "providerUserInfo": [
                {
                    "providerId": "google.com",
                    "rawId": "1098",
                    "email": "lou@example.com",
                    "displayName": "Lou",
                    "photoUrl": "https://example.com/l.png",
                }
            ],
        },
        {
            "localId": "Zz9YyX8wW7vV6uU5tT4sS3rR2qQ1",
            "phoneNumber": "+15555550100",
            "createdAt": "1650000000000",
        },
        {
            "localId": "Mm1Nn2Oo3Pp4Qq5Rr6Ss7Tt8Uu9",
            "email": "max@example.com",
            "emailVerified": True,
            "createdAt": "yesterday",
        },
    ]
    # as firebase-tools writes it: '{"users": [' + users, each JSON.stringify(u, null, 2), ",\n" between
    body = ",\n".join(json.dumps(u, indent=2) for u in users)
    (HERE / "firebase.json").write_text('{"users": [\n' + body + "\n]}")


def clerk() -> None:
    columns = [
        "id",
        "first_name",
        "last_name",
        "username",
        "primary_email_address",
        "primary_phone_number",
        "verified_email_addresses",
        "unverified_email_addresses",
        "verified_phone_numbers",
        "unverified_phone_numbers",
        "totp_secret",
        "password_digest",
        "password_hasher",
    ]
    argon = hash_secret_raw(
        b"clerk-pia-pass",
        b"clerksalt1234567",
        time_cost=2,
        memory_cost=19456,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    argon_phc = (
        "$argon2id$v=19$m=19456,t=2,p=1$"
        + base64.b64encode(b"clerksalt1234567").decode().rstrip("=")
        + "$"
        + base64.b64encode(argon).decode().rstrip("=")
    )
    rows = [
        [
            "user_2aBcDeFgHiJkLmNoPqRsTuVwXy1",
            "Nia",
            "Hall",
            "",
            "nia@example.com",
            "",
            "nia@example.com|nia.hall@example.org",
            "",
            "",
            "",
            "",
            bcrypt_hash("clerk-nia-pass"),
            "bcrypt",
        ],
        [
            "user_2aBcDeFgHiJkLmNoPqRsTuVwXy2",
            "Oto",
            "",
            "oto",
            "oto@example.com",
            "+15555550111",
            "",
            "oto@example.com",
            "+15555550111",
            "",
            "",
            "",
            "",
        ],
        [
            "user_2aBcDeFgHiJkLmNoPqRsTuVwXy3",
            "Pia",
            "Lind",
            "",
            "pia@example.com",
            "",
            "pia@example.com",
            "",
            "",
            "",
            "",
            argon_phc,
            "argon2id",
        ],
        [
            "user_2aBcDeFgHiJkLmNoPqRsTuVwXy4",
            "Quin",
            "",
            "",
            "quin@example.com",
            "",
            "quin@example.com",
            "",
            "",
            "",
            "",
            "pbkdf2_sha256$260000$c2FsdA$aGFzaA==",
            "pbkdf2_sha256_django",
        ],
        [
            "user_2aBcDeFgHiJkLmNoPqRsTuVwXy5",
            "",
            "",
            "phoneonly",
            "",
            "+15555550122",
            "",
            "",
            "+15555550122",
            "",
            "",
            "",
            "",
        ],
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    out.write("user_broken,only,three\n")
    (HERE / "clerk.csv").write_text(out.getvalue())


def keycloak() -> None:
    salt = b"kcsalt0123456789"
    argon = hash_secret_raw(
        b"keycloak-rui-pass", salt, time_cost=5, memory_cost=7168, parallelism=1, hash_len=32, type=Type.ID
    )
    pbkdf2 = hashlib.pbkdf2_hmac("sha256", b"keycloak-sam-pass", b"kcsalt-pbkdf2-01", 27500, 64)

    def credential(data: dict[str, object], secret: dict[str, object]) -> dict[str, object]:
        return {
            "id": "c0ffee00-0000-4000-8000-000000000001",
            "type": "password",
            "userLabel": "My password",
            "createdDate": 1700000000000,
            "secretData": json.dumps(secret),
            "credentialData": json.dumps(data),
        }

    users = [
        {
            "id": "d1e2f3a4-0000-4000-8000-000000000001",
            "username": "rui",
            "firstName": "Rui",
            "lastName": "Sá",
            "email": "rui@example.com",
            "emailVerified": True,
            "createdTimestamp": 1700000000000,
            "enabled": True,
            "totp": False,
            "credentials": [
                credential(
                    {
                        "hashIterations": 5,
                        "algorithm": "argon2",
                        "additionalParameters": {
                            "hashLength": ["32"],
                            "memory": ["7168"],
                            "type": ["id"],
                            "version": ["1.3"],
                            "parallelism": ["1"],
                        },
                    },
                    {
                        "value": base64.b64encode(argon).decode(),
                        "salt": base64.b64encode(salt).decode(),
                        "additionalParameters": {},
                    },
                )
            ],
            "disableableCredentialTypes": [],
            "requiredActions": [],
            "realmRoles": ["default-roles-example", "admin", "offline_access"],
            "notBefore": 0,
            "groups": [],
        },
        {
            "id": "d1e2f3a4-0000-4000-8000-000000000002",
            "username": "sam",
            "firstName": "Sam",
            "email": "sam@example.com",
            "emailVerified": False,
            "createdTimestamp": 1600000000000,
            "enabled": True,
            "credentials": [
                credential(
                    {"hashIterations": 27500, "algorithm": "pbkdf2-sha256", "additionalParameters": {}},
                    {
                        "value": base64.b64encode(pbkdf2).decode(),
                        "salt": base64.b64encode(b"kcsalt-pbkdf2-01").decode(),
                        "additionalParameters": {},
                    },
                )
            ],
            "realmRoles": ["default-roles-example"],
            "notBefore": 0,
            "groups": [],
        },
        {
            "id": "d1e2f3a4-0000-4000-8000-000000000003",
            "username": "service-account-backend",
            "emailVerified": False,
            "createdTimestamp": 1650000000000,
            "enabled": True,
            "serviceAccountClientId": "backend",
            "realmRoles": ["default-roles-example"],
        },
        {
            "id": "d1e2f3a4-0000-4000-8000-000000000004",
            "username": "tia",
            "email": "tia@example.com",
            "emailVerified": True,
            "createdTimestamp": 1650000000000,
            "enabled": True,
            "credentials": [credential({"hashIterations": 5, "algorithm": "argon2"}, {"salt": "c2FsdA=="})],
        },
    ]
    realm = {
        "id": "example",
        "realm": "example",
        "displayName": "Example",
        "notBefore": 0,
        "accessTokenLifespan": 300,
        "enabled": True,
        "sslRequired": "external",
        "roles": {
            "realm": [
                {
                    "id": "r1",
                    "name": "admin",
                    "composite": False,
                    "clientRole": False,
                    "containerId": "example",
                    "attributes": {},
                }
            ],
            "client": {"account": []},
        },
        "groups": [],
        "defaultRole": {"id": "r0", "name": "default-roles-example", "composite": True},
        "requiredCredentials": ["password"],
        "passwordPolicy": "hashAlgorithm(argon2)",
        "users": users,
        "clients": [
            {
                "id": "k1",
                "clientId": "account",
                "enabled": True,
                "redirectUris": ["/realms/example/account/*"],
            }
        ],
        "components": {},
        "keycloakVersion": "26.0.0",
    }
    # kc.sh export writes Jackson's pretty printer: `"key" : value`, two-space indent
    text = json.dumps(realm, indent=2, ensure_ascii=False).replace('": ', '" : ')
    (HERE / "keycloak-realm.json").write_text(text)
    (HERE / "keycloak-users-0.json").write_text(
        json.dumps({"realm": "example", "users": users[:2]}, indent=2, ensure_ascii=False).replace(
            '": ', '" : '
        )
    )


if __name__ == "__main__":
    auth0()
    supabase()
    firebase()
    clerk()
    keycloak()
