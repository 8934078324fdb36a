"""Exit codes and the error hierarchy. Services raise these; the CLI turns them into exit codes once."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    INVALID_INPUT = 5
    CONFIG = 6
    SCHEMA = 7
    REFUSED = 8
    CHECK_FAILED = 9
    INTERRUPTED = 130


class IdpError(Exception):
    """Base of every error a user may see. `message` is one line; `exit_code` is documented."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class OperationalError(IdpError):
    exit_code = ExitCode.FAILURE


class DatabaseUnreachable(OperationalError):
    pass


class DatabaseBusy(OperationalError):
    """Another connection held a lock longer than the lock timeout (`IDP_LOCK_TIMEOUT`): exit 1, the
    contract's code for an operational failure (it has none of its own for "busy")."""


class UsageError(IdpError):
    exit_code = ExitCode.USAGE


class NotFound(IdpError):
    exit_code = ExitCode.NOT_FOUND


class UserNotFound(NotFound):
    def __init__(self, email: str) -> None:
        super().__init__(f"no user with email {email}")


class SessionNotFound(NotFound):
    pass


class Conflict(IdpError):
    exit_code = ExitCode.CONFLICT


class UserExists(Conflict):
    def __init__(self, email: str) -> None:
        super().__init__(
            f"a user with email {email} already exists",
            hint="use --if-missing to accept an existing user",
        )


class InvalidInput(IdpError):
    exit_code = ExitCode.INVALID_INPUT


class ConfigError(IdpError):
    exit_code = ExitCode.CONFIG


class SchemaError(IdpError):
    exit_code = ExitCode.SCHEMA


class Refused(IdpError):
    exit_code = ExitCode.REFUSED


class CheckFailed(IdpError):
    """`idp doctor` found a `fail`, or `idp check-user` found that the user cannot sign in."""

    exit_code = ExitCode.CHECK_FAILED


class Interrupted(IdpError):
    exit_code = ExitCode.INTERRUPTED
