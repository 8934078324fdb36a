"""`idp check-user EMAIL`: can this user sign in now, by which ways, and every reason they cannot, each
with the command that fixes it. Built from what `show-user`, `2fa status` and `info` already know.

How the server decides (better-auth 1.6 / 1.7):
- a ban refuses every sign-in and the session lookup; a timed ban whose `banExpires` has passed is
  lifted at the next sign-in (admin plugin, `session.create.before` hook), so it is no reason;
- `/sign-in/email` needs a credential account; with two-factor enabled it then asks for a code, which
  a lock-out (`lockedUntil`), a secret the server cannot decrypt or an unverified enrolment refuse;
- a magic link signs in without the second factor (the two-factor plugin hooks the password sign-ins
  only) and verifies the email;
- `requireEmailVerification` refuses a password sign-in of an unverified email;
- OWOX: a user without a member row gets a session but no role: OWOX answers "Access denied".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from owox_idp.clock import iso

if TYPE_CHECKING:
    from owox_idp.repository import Store


ObstacleCode = Literal[
    "banned",
    "no-way-in",
    "two-factor-locked",
    "two-factor-unreadable",
    "two-factor-unverified",
    "no-role",
    "email-unverified",
]


@dataclass(frozen=True)
class Obstacle:
    code: ObstacleCode
    message: str
    fix: str | None  # the command that removes it, runnable as it is

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fix": self.fix}


@dataclass
class CheckUserResult:
    user_id: str
    email: str
    can_sign_in: bool
    ways: list[str] = field(default_factory=list)  # password, two-factor, pending-link, session
    reasons: list[Obstacle] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "can_sign_in": self.can_sign_in,
            "ways": self.ways,
            "reasons": [r.to_json() for r in self.reasons],
        }


def check_user(store: Store, *, email: str, now: datetime, require_verified: bool = False) -> CheckUserResult:
    from owox_idp.services import links, twofactor
    from owox_idp.services.users import require_user

    dep = store.deployment
    user = require_user(store, email)
    target = user.email
    reasons: list[Obstacle] = []

    banned = user.banned and (user.ban_expires is None or user.ban_expires > now)
    if banned:
        until = f" until {iso(user.ban_expires)}" if user.ban_expires else " with no end"
        why = f" ({user.ban_reason})" if user.ban_reason else ""
        reasons.append(Obstacle("banned", f"banned{until}{why}", f"idp unban {target}"))

    # a ban of the owox flavor took the role and the password away to give them back at unban: judge
    # the rest by what the unban restores, so that the ban is the reason, not its side effects
    role, has_password = user.role, user.has_password
    if banned and dep.flavor.frozen_while_banned:
        kept = store.owox_bans.get(user.id)
        if kept is not None:
            role, has_password = kept.previous_role, kept.password_hash is not None

    pending = len(links.pending_links(store, user.email, now))
    active_sessions = store.sessions.count(user_id=user.id, active_after=now)

    # the password way, and what the second factor does to it
    password_ok = has_password
    if has_password and require_verified and not user.email_verified:
        password_ok = False
        reasons.append(
            Obstacle(
                "email-unverified",
                "the email is not verified and the server requires verification for password sign-in "
                "(a sign-in link verifies it)",
                f"idp reset-password {target} --yes",
            )
        )
    two_factor_asked = False
    if has_password and user.two_factor_enabled and dep.flavor.two_factor_unavailable is None:
        disable = f"idp 2fa disable {target} --yes"
        # without a secret nothing can be decrypted: say what the server asks, not what it finds
        status = None if dep.settings.secrets is None else twofactor.status(store, email=user.email, now=now)
        if status is None:
            two_factor_asked = True
        elif not status.enrolled or not status.verified:
            password_ok = False
            reasons.append(
                Obstacle(
                    "two-factor-unverified",
                    "two-factor is switched on but the enrolment is missing or was never verified: "
                    "the server asks for a code no app produces",
                    disable,
                )
            )
        elif status.secret_decrypts is False:
            password_ok = False
            reasons.append(
                Obstacle(
                    "two-factor-unreadable",
                    "the stored two-factor secret does not decrypt with the configured secret "
                    "(if idp has the server's secret, the server cannot read it either; `idp doctor` "
                    "checks the secret)",
                    disable,
                )
            )
        elif status.locked_until is not None:
            password_ok = False
            reasons.append(
                Obstacle(
                    "two-factor-locked",
                    f"two-factor is locked until {iso(status.locked_until)} after "
                    f"{status.failed_verification_count} failed code(s)",
                    disable,
                )
            )
        else:
            two_factor_asked = True

    if not has_password and not pending:
        reasons.append(
            Obstacle(
                "no-way-in",
                "no password and no pending sign-in link (the fix prints a new one)",
                f"idp reset-password {target} --yes",
            )
        )

    if dep.flavor.warn_users_without_role and not role:
        reasons.append(
            Obstacle(
                "no-role",
                "no role in OWOX: the user signs in but OWOX refuses access",
                f"idp set-role {target} viewer",
            )
        )

    ways: list[str] = []
    if not banned:
        if password_ok:
            ways.append("password")
            if two_factor_asked:
                ways.append("two-factor")
        if pending:
            ways.append("pending-link")
        if active_sessions:
            ways.append("session")
    blocking = banned or any(r.code == "no-role" for r in reasons)
    can = bool(ways) and not blocking
    return CheckUserResult(user.id, user.email, can, ways, reasons)
