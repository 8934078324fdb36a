"""Two-factor (TOTP) enrolment, written and read exactly as Better Auth's two-factor plugin does.

Enrolling writes one `twoFactor` row (the secret and the backup codes encrypted with the server's
secret; `verified`, `failedVerificationCount` and `lockedUntil` only where the server version has
those columns) and sets `user.twoFactorEnabled`. Disabling removes the rows, clears the flag, and
forgets trusted devices and pending sign-in challenges, so that a locked-out user can sign in with the
password alone. OWOX's server does not enable the plugin: the owox flavor refuses before touching the
database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from owox_idp.clock import iso
from owox_idp.crypto.symmetric import Secrets
from owox_idp.errors import ConfigError, Conflict
from owox_idp.models import TwoFactorRow, User
from owox_idp.services.users import require_user

if TYPE_CHECKING:
    from owox_idp.deployment import Deployment
    from owox_idp.repository import Store

TRUST_DEVICE_PREFIX = "trust-device-"
CHALLENGE_PREFIX = "2fa-"
# rows that hang off a sign-in challenge `2fa-<id>` (their value is not the user id)
CHALLENGE_FOLLOWERS = ("2fa-attempts-", "2fa-otp-")
_STUCK = (
    "sign-in asks for a second factor but there is no verified TOTP enrolment to answer it with: "
    "`idp 2fa disable` or `idp 2fa enable --force` fixes it"
)


class EnrolmentUnreadable(ConfigError):
    """A stored enrolment does not decrypt with the configured secret (exit 6)."""

    def __init__(self, email: str, detail: str) -> None:
        super().__init__(
            f"the two-factor enrolment of {email} cannot be read: {detail}",
            hint="configure the server's own secret (IDP_BETTER_AUTH_SECRET, or BETTER_AUTH_SECRETS with "
            f"every version still in use), or re-enrol with `idp 2fa enable {email} --force`",
        )
        self.detail = detail


@dataclass(frozen=True)
class Enrolment:
    """A decrypted `twoFactor` row."""

    user_id: str
    secret: str  # the plaintext secret (the TOTP key is its UTF-8 bytes, see crypto.totp)
    backup_codes: list[str]
    verified: bool


@dataclass
class EnrolResult:
    user_id: str
    email: str
    otpauth_uri: str
    secret: str  # base32, what an authenticator app takes
    backup_codes: list[str]
    replaced: bool
    removed: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "otpauth_uri": self.otpauth_uri,
            "secret": self.secret,
            "backup_codes": self.backup_codes,
            "replaced": self.replaced,
        }


@dataclass
class DisableResult:
    user_id: str
    email: str
    changed: bool
    removed: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "two_factor_enabled": False,
            "changed": self.changed,
            "removed": self.removed,
        }


@dataclass
class TwoFactorStatus:
    user_id: str
    email: str
    two_factor_enabled: bool  # user.twoFactorEnabled
    enrolled: bool  # a twoFactor row exists
    verified: bool | None
    secret_decrypts: bool | None  # None: nothing to decrypt
    backup_codes_remaining: int | None
    failed_verification_count: int | None
    locked_until: datetime | None
    problem: str | None = None  # why the row cannot be read (EnrolmentUnreadable's detail)
    notes: list[str] = field(default_factory=list)  # what the state means at sign-in, for people

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "two_factor_enabled": self.two_factor_enabled,
            "enrolled": self.enrolled,
            "verified": self.verified,
            "secret_decrypts": self.secret_decrypts,
            "backup_codes_remaining": self.backup_codes_remaining,
            "failed_verification_count": self.failed_verification_count,
            "locked_until": iso(self.locked_until),
        }


# Other storage formats of the two-factor rows, by `Flavor.two_factor_format`: a module with the same
# `enable`, `disable` and `status` (Better Auth's own format is this module's).
FORMATS = {"rs-port": "owox_idp.services.twofactor_rs"}


def _format_module(store: Store) -> Any:
    """The module that handles the flavor's format, None for Better Auth's (this module)."""
    name = FORMATS.get(store.deployment.flavor.two_factor_format)
    if name is None:
        return None
    from importlib import import_module

    return import_module(name)


def ensure_supported(dep: Deployment) -> None:
    """Two-factor needs Better Auth's two-factor plugin (OWOX's server does not enable it)."""
    unavailable = dep.flavor.two_factor_unavailable
    if unavailable is not None:
        raise ConfigError(unavailable[0], hint=unavailable[1])
    if dep.discovery is not None and not dep.plugins.two_factor:
        raise ConfigError(
            "this deployment has no two-factor plugin (no twoFactor table, no user.twoFactorEnabled): "
            "the server would never ask for a code",
            hint="enable the two-factor plugin on the server, then declare it (IDP_PLUGINS=...,two-factor) "
            "and run `idp migrate`",
        )


def _is_verified(row: TwoFactorRow) -> bool:
    # the server treats only `verified === false` as "not yet verified" (NULL and 1.4 rows count)
    return row.verified is None or bool(row.verified)


def decrypt_secret(row: TwoFactorRow, secrets: Secrets, *, email: str) -> str:
    from owox_idp.crypto.symmetric import DecryptionError, decrypt

    try:
        return decrypt(row.secret, secrets)
    except DecryptionError as exc:
        raise EnrolmentUnreadable(email, f"its TOTP secret: {exc}") from None


def decrypt_backup_codes(row: TwoFactorRow, secrets: Secrets, *, email: str) -> list[str]:
    """The remaining backup codes; also reads codes stored as plain JSON (`storeBackupCodes: "plain"`)."""
    from owox_idp.crypto.symmetric import DecryptionError, decrypt

    try:
        text = decrypt(row.backup_codes, secrets)
    except DecryptionError as exc:
        text = row.backup_codes
        error: str | None = f"its backup codes: {exc}"
    else:
        error = None
    try:
        codes: Any = json.loads(text)
    except ValueError:
        codes = None
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise EnrolmentUnreadable(email, error or "its backup codes are not a JSON list of strings")
    return list(codes)


def read_enrolment(store: Store, *, user: User) -> Enrolment | None:
    """The user's enrolment, decrypted with the configured secret; None when not enrolled.

    Raises EnrolmentUnreadable (exit 6) when the row was encrypted with another secret, and ConfigError
    when no secret is configured.
    """
    row = store.two_factor.get(user.id)
    if row is None:
        return None
    secrets = store.deployment.settings.require_secrets()
    return Enrolment(
        user_id=user.id,
        secret=decrypt_secret(row, secrets, email=user.email),
        backup_codes=decrypt_backup_codes(row, secrets, email=user.email),
        verified=_is_verified(row),
    )


def _forget_devices(store: Store, user_id: str) -> tuple[int, int]:
    """Delete trusted devices and pending sign-in challenges; returns (devices, challenges)."""
    rows = store.verifications.for_user_id(user_id)
    trusted = [r for r in rows if r.identifier.startswith(TRUST_DEVICE_PREFIX)]
    challenges = [r for r in rows if r.identifier.startswith(CHALLENGE_PREFIX)]
    store.verifications.delete([r.id for r in trusted + challenges])
    store.verifications.delete_by_identifier(
        [prefix + r.identifier for r in challenges for prefix in CHALLENGE_FOLLOWERS]
    )
    return len(trusted), len(challenges)


def enable(store: Store, *, email: str, force: bool = False, now: datetime) -> EnrolResult:
    """Enrol the user in TOTP as the server's plugin stores it, verified and active at once."""
    from owox_idp.crypto.symmetric import encrypt
    from owox_idp.crypto.totp import base32_secret, generate_backup_codes, generate_totp_secret, otpauth_uri

    if (other := _format_module(store)) is not None:
        result: EnrolResult = other.enable(store, email=email, force=force, now=now)
        return result
    dep = store.deployment
    ensure_supported(dep)
    secrets = dep.settings.require_secrets()
    user = require_user(store, email)
    existing = store.two_factor.get(user.id)
    if user.two_factor_enabled and not force:
        note = ""
        if existing is not None:
            try:
                decrypt_secret(existing, secrets, email=user.email)
            except EnrolmentUnreadable as exc:
                note = f" (and its stored secret does not decrypt: {exc.detail})"
        raise Conflict(
            f"{user.email} already has two-factor enabled{note}",
            hint=f"`idp 2fa enable {user.email} --force` re-enrols (the current authenticator app and "
            f"backup codes stop working); `idp 2fa disable {user.email}` removes it",
        )

    secret = generate_totp_secret()
    codes = generate_backup_codes()
    values: dict[str, Any] = {
        "secret": encrypt(secret, secrets),
        "backupCodes": encrypt(json.dumps(codes, separators=(",", ":")), secrets),  # JSON.stringify
        "userId": user.id,
    }
    if store.two_factor.has_column("verified"):  # Better Auth 1.6+; 1.4 has only the four columns above
        values["verified"] = True
    if store.two_factor.has_column("failedVerificationCount"):
        values["failedVerificationCount"] = 0
    if store.two_factor.has_column("lockedUntil"):
        values["lockedUntil"] = None
    replaced = store.two_factor.delete_for_user(user.id)
    store.two_factor.insert(store.two_factor.with_id(values))
    devices, challenges = _forget_devices(store, user.id)
    store.users.update(user.id, {"twoFactorEnabled": True, "updatedAt": now})
    return EnrolResult(
        user_id=user.id,
        email=user.email,
        otpauth_uri=otpauth_uri(secret, issuer=dep.settings.totp_issuer, account=user.email),
        secret=base32_secret(secret),
        backup_codes=codes,
        replaced=replaced > 0,
        removed={"two_factor": replaced, "trusted_devices": devices, "challenges": challenges},
    )


def disable(store: Store, *, email: str, now: datetime) -> DisableResult:
    """Remove the enrolment, the flag, trusted devices and pending challenges (lockout recovery)."""
    if (other := _format_module(store)) is not None:
        result: DisableResult = other.disable(store, email=email, now=now)
        return result
    ensure_supported(store.deployment)
    user = require_user(store, email)
    rows = store.two_factor.delete_for_user(user.id)
    devices, challenges = _forget_devices(store, user.id)
    if user.two_factor_enabled:
        store.users.update(user.id, {"twoFactorEnabled": False, "updatedAt": now})
    changed = bool(rows or devices or challenges or user.two_factor_enabled)
    return DisableResult(
        user_id=user.id,
        email=user.email,
        changed=changed,
        removed={"two_factor": rows, "trusted_devices": devices, "challenges": challenges},
    )


def status(store: Store, *, email: str, now: datetime) -> TwoFactorStatus:
    """What the server will ask at sign-in, and whether the stored secret decrypts with ours."""
    if (other := _format_module(store)) is not None:
        result: TwoFactorStatus = other.status(store, email=email, now=now)
        return result
    ensure_supported(store.deployment)
    user = require_user(store, email)
    row = store.two_factor.get(user.id)
    if row is None:
        notes = []
        if user.two_factor_enabled:
            notes.append(_STUCK)
        return TwoFactorStatus(
            user.id, user.email, user.two_factor_enabled, False, None, None, None, None, None, notes=notes
        )
    secrets = store.deployment.settings.require_secrets()
    lock = store.two_factor.get_lock(user.id)
    failed, locked_until = lock if lock is not None else (None, None)
    if locked_until is not None and locked_until <= now:
        locked_until = None  # an expired lock is no lock
    verified = _is_verified(row)
    problem = None
    secret_decrypts: bool | None = True
    remaining: int | None = None
    try:
        decrypt_secret(row, secrets, email=user.email)
    except EnrolmentUnreadable as exc:
        secret_decrypts, problem = False, exc.detail
    try:
        remaining = len(decrypt_backup_codes(row, secrets, email=user.email))
    except EnrolmentUnreadable as exc:
        problem = problem or exc.detail
    notes = []
    if user.two_factor_enabled and not verified:
        notes.append(_STUCK)
    elif not user.two_factor_enabled:
        notes.append("the row is not used: user.twoFactorEnabled is off, so sign-in asks for no code")
    if locked_until is not None:
        notes.append(f"TOTP is locked after {failed} failed attempt(s); `idp 2fa unlock` lifts it")
    return TwoFactorStatus(
        user_id=user.id,
        email=user.email,
        two_factor_enabled=user.two_factor_enabled,
        enrolled=True,
        verified=verified,
        secret_decrypts=secret_decrypts,
        backup_codes_remaining=remaining,
        failed_verification_count=failed,
        locked_until=locked_until,
        problem=problem,
        notes=notes,
    )


# ----------------------------------------------------------------------------- unlock, backup codes


@dataclass
class UnlockResult:
    user_id: str
    email: str
    changed: bool
    failed_verification_count: int | None  # before the unlock
    locked_until: datetime | None  # before the unlock (None: it was not locked)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "changed": self.changed,
            "failed_verification_count": self.failed_verification_count,
            "locked_until": iso(self.locked_until),
            "locked": False,
        }


@dataclass
class BackupCodesResult:
    user_id: str
    email: str
    backup_codes: list[str]
    replaced: int  # how many unused codes stopped working

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "backup_codes": self.backup_codes,
            "replaced": self.replaced,
        }


def _require_enrolment(store: Store, user: User) -> TwoFactorRow:
    row = store.two_factor.get(user.id)
    if row is None:
        from owox_idp.errors import NotFound

        raise NotFound(
            f"{user.email} has no two-factor enrolment", hint=f"enrol them with `idp 2fa enable {user.email}`"
        )
    return row


def unlock(store: Store, *, email: str, now: datetime) -> UnlockResult:
    """Lift the account lock of Better Auth 1.6+ (accountLockout: `failedVerificationCount` reaching
    `maxFailedAttempts` sets `lockedUntil`), exactly as a successful verification does
    (better-auth/src/plugins/two-factor/verify-two-factor.ts, resetTwoFactorFailures). The enrolment,
    trusted devices and pending challenges stay."""
    dep = store.deployment
    ensure_supported(dep)
    user = require_user(store, email)
    _require_enrolment(store, user)
    lock = store.two_factor.get_lock(user.id)
    if lock is None:
        raise ConfigError(
            "this server version has no two-factor lock-out (the twoFactor table has no "
            "failedVerificationCount/lockedUntil columns, as in Better Auth 1.4): there is nothing to unlock",
            hint="IDP_BETTER_AUTH_SERVER_VERSION says which version the server runs",
        )
    failed, locked_until = lock
    changed = bool(failed) or locked_until is not None
    if changed:
        store.two_factor.reset_failures(user.id)
    shown_until = locked_until if locked_until is not None and locked_until > now else None
    return UnlockResult(user.id, user.email, changed, failed, shown_until)


def replace_backup_codes(store: Store, *, email: str, now: datetime) -> BackupCodesResult:
    """New backup codes, stored as the server stores them (better-auth/src/plugins/two-factor/
    backup-codes/index.ts, encodeBackupCodes: JSON.stringify, encrypted with the secret by default, plain
    JSON with `storeBackupCodes: "plain"`, kept as the row has it); the old ones stop working. The TOTP
    secret must decrypt with the configured secret, else the server could not read the new codes."""
    from owox_idp.crypto.symmetric import DecryptionError, decrypt, encrypt
    from owox_idp.crypto.totp import generate_backup_codes

    del now
    dep = store.deployment
    ensure_supported(dep)
    secrets = dep.settings.require_secrets()
    user = require_user(store, email)
    row = _require_enrolment(store, user)
    decrypt_secret(row, secrets, email=user.email)  # exit 6 before writing: another server's secret
    old = decrypt_backup_codes(row, secrets, email=user.email)
    try:
        decrypt(row.backup_codes, secrets)
        encrypted = True
    except DecryptionError:
        encrypted = False  # read as plain JSON above
    codes = generate_backup_codes()
    text = json.dumps(codes, separators=(",", ":"))
    store.two_factor.set_backup_codes(user.id, encrypt(text, secrets) if encrypted else text)
    return BackupCodesResult(user.id, user.email, codes, len(old))
