"""Two-factor in the Rust port's format (`crates/api/src/plugins/two_factor.rs` at 0.10.x; PORT.md §7).

The port stores the TOTP secret as plain upper-case base32 (`Secret::generate_secret().to_encoded()`,
181-182) and the backup codes as a compact JSON array of their argon2id hashes in a TEXT column
(138-144); nothing is encrypted, so no server secret is involved. Enabling inserts the `two_factor` row
and sets `users.two_factor_enabled` at once (198-215): there is no "verified" step. Sign-in then asks
for a second factor (`email_password.rs:370`); the flag without a row is a lock-out ("Two-factor
authentication not enabled", 342-346). The 2FA-pending rows are `2fa_pending:2fa_<uuid>` -> user id
and `2fa_otp:<user id>` (PORT.md §8). `owox_idp.services.twofactor` hands its commands here when the
flavor's `two_factor_format` is "rs-port".
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import TYPE_CHECKING

from owox_idp.errors import Conflict
from owox_idp.services.users import require_user

if TYPE_CHECKING:
    from owox_idp.models import TwoFactorRow
    from owox_idp.repository import Store
    from owox_idp.services.twofactor import DisableResult, EnrolResult, TwoFactorStatus

PENDING_PREFIX = "2fa_pending:"  # email_password.rs:371-377
OTP_PREFIX = "2fa_otp:"  # two_factor.rs:392-396
_BASE32 = re.compile(r"[A-Z2-7]+")  # base32 0.5.1 Rfc4648 {padding: false}: no lower case, no '='
_LOCKED_OUT = (
    "sign-in asks for a second factor but there is no two_factor row to answer it with (the port "
    "answers 'Two-factor authentication not enabled'): `idp 2fa disable` or `idp 2fa enable --force` "
    "fixes it"
)


def secret_problem(secret: str) -> str | None:
    """Why the port could not use this secret, None when it can: `Secret::Encoded(..).to_bytes()` must
    decode (two_factor.rs:348-351) and `TOTP::new` needs at least 16 bytes (totp-rs rfc.rs:48-54)."""
    if not _BASE32.fullmatch(secret or ""):
        return "the TOTP secret is not upper-case unpadded base32 (the port fails to decode it)"
    try:
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))[: len(secret) * 5 // 8]
    except binascii.Error:
        return "the TOTP secret is not base32 (the port fails to decode it)"
    if len(key) < 16:
        return f"the TOTP secret has {len(key)} bytes; the port's TOTP library needs at least 16"
    return None


def backup_codes_left(row: TwoFactorRow) -> tuple[int | None, str | None]:
    """(remaining codes, problem): NULL means none (two_factor.rs:469-471); anything but a JSON list of
    strings is an internal error on the port (473-474)."""
    if row.backup_codes is None:
        return 0, None
    try:
        codes = json.loads(row.backup_codes)
    except ValueError:
        codes = None
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        return None, "the backup codes are not a JSON list of strings (the port fails on them)"
    return len(codes), None


def _forget_challenges(store: Store, user_id: str) -> int:
    """Pending second steps (`2fa_pending:*` whose value is the user id) and the email OTP row."""
    pending = [r for r in store.verifications.for_user_id(user_id) if r.identifier.startswith(PENDING_PREFIX)]
    removed = store.verifications.delete([r.id for r in pending])
    return removed + store.verifications.delete_by_identifier([OTP_PREFIX + user_id])


def enable(store: Store, *, email: str, force: bool = False, now: datetime) -> EnrolResult:
    """`enable_core` (two_factor.rs:172-221) without its password check: a new secret and ten codes, the
    row, and `two_factor_enabled = true`, all at once."""
    from owox_idp.crypto.rs_port import (
        generate_backup_codes,
        generate_totp_secret,
        hash_backup_codes,
        totp_uri,
    )
    from owox_idp.services.twofactor import EnrolResult, ensure_supported

    dep = store.deployment
    ensure_supported(dep)
    user = require_user(store, email)
    if user.two_factor_enabled and not force:
        raise Conflict(
            f"{user.email} already has two-factor enabled",
            hint=f"`idp 2fa enable {user.email} --force` re-enrols (the current authenticator app and "
            f"backup codes stop working); `idp 2fa disable {user.email}` removes it",
        )
    secret = generate_totp_secret()
    codes = generate_backup_codes()
    uri = totp_uri(secret, user.email, dep.settings.totp_issuer)  # refuses ':' before anything is written
    replaced = store.two_factor.delete_for_user(user.id)  # UNIQUE(user_id): one row per user
    store.two_factor.insert(
        {
            "id": dep.flavor.new_id(),
            "secret": secret,
            "backupCodes": hash_backup_codes(codes),
            "userId": user.id,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    challenges = _forget_challenges(store, user.id)
    store.users.update(user.id, {"twoFactorEnabled": True, "updatedAt": now})
    return EnrolResult(
        user_id=user.id,
        email=user.email,
        otpauth_uri=uri,
        secret=secret,
        backup_codes=codes,
        replaced=replaced > 0,
        removed={"two_factor": replaced, "trusted_devices": 0, "challenges": challenges},
    )


def disable(store: Store, *, email: str, now: datetime) -> DisableResult:
    """`disable_core` (two_factor.rs:223-243): the row deleted and the flag false; idp also drops pending
    second steps, so that a locked-out user signs in with the password alone."""
    from owox_idp.services.twofactor import DisableResult, ensure_supported

    ensure_supported(store.deployment)
    user = require_user(store, email)
    rows = store.two_factor.delete_for_user(user.id)
    challenges = _forget_challenges(store, user.id)
    if user.two_factor_enabled:
        store.users.update(user.id, {"twoFactorEnabled": False, "updatedAt": now})
    return DisableResult(
        user_id=user.id,
        email=user.email,
        changed=bool(rows or challenges or user.two_factor_enabled),
        removed={"two_factor": rows, "trusted_devices": 0, "challenges": challenges},
    )


def status(store: Store, *, email: str, now: datetime) -> TwoFactorStatus:
    """What the port will ask at sign-in, and whether it can use the stored secret and codes."""
    from owox_idp.services.twofactor import TwoFactorStatus, ensure_supported

    del now
    ensure_supported(store.deployment)
    user = require_user(store, email)
    row = store.two_factor.get(user.id)
    if row is None:
        notes = [_LOCKED_OUT] if user.two_factor_enabled else []
        return TwoFactorStatus(
            user.id, user.email, user.two_factor_enabled, False, None, None, None, None, None, notes=notes
        )
    problem = secret_problem(row.secret)
    remaining, codes_problem = backup_codes_left(row)
    notes = []
    if not user.two_factor_enabled:
        notes.append("the row is not used: users.two_factor_enabled is off, so sign-in asks for no code")
    return TwoFactorStatus(
        user_id=user.id,
        email=user.email,
        two_factor_enabled=user.two_factor_enabled,
        enrolled=True,
        verified=True,  # the port has no verification step: a row is in use at once
        secret_decrypts=problem is None,  # nothing is encrypted: "usable by the port"
        backup_codes_remaining=remaining,
        failed_verification_count=None,
        locked_until=None,
        problem=problem or codes_problem,
        notes=notes,
    )
