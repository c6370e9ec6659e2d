"""Typed errors. Each one carries a message meant to be read by a person, in one line."""

from __future__ import annotations

import re
from pathlib import Path


class BuildCPGError(Exception):
    """Base of every error this project raises on purpose (shown without a traceback)."""


class ConfigError(BuildCPGError):
    """A lab.yaml (or other config file) is missing, unreadable or invalid."""


class LabNotFoundError(BuildCPGError):
    """A lab name that the registry does not know."""


class WorkspaceNotFoundError(BuildCPGError):
    """No BuildCPG workspace above the current directory."""


class WrongDatabaseError(BuildCPGError):
    """The resolved database lies outside the lab or belongs to another lab."""


class LabBusyError(BuildCPGError):
    """Another process holds the lab's write lock."""


class StateError(BuildCPGError):
    """The state database (history, incidents, the lease) cannot be reached or used; password masked."""


class DamagedDatabaseError(BuildCPGError):
    """A lab database file is corrupt or truncated; ``buildcpg run LAB --rebuild`` moves it aside."""

    def __init__(self, lab_name: str, shown_path: str, err: BaseException) -> None:
        super().__init__(
            f"{shown_path} is damaged ({first_line(err)}): run `buildcpg run {lab_name} --rebuild` "
            "to move it aside and rebuild from data/raw"
        )


class LoadError(BuildCPGError):
    """A raw file could not be loaded (header mismatch, unreadable file, too many rejects)."""


class StepError(BuildCPGError):
    """A pipeline step failed; the message says which and why."""


class HttpSourceError(BuildCPGError):
    """An HTTP source could not be polled (HTTP error, timeout, bad page, missing or expired token)."""


class ScaffoldError(BuildCPGError):
    """A lab could not be created, adopted or removed (nothing was left half-made)."""


class StorageError(BuildCPGError):
    """Object storage (S3 API) could not be reached or refused a request; the message holds no secret."""


class StaleWriterError(StorageError):
    """A newer version was published meanwhile: this writer may never move the pointer back."""


class ObjectChangedError(StorageError):
    """An object's ETag is no longer the one it was read for (``If-Match`` failed): it was replaced
    (a raw drop rewritten after Check listed it, or a version written behind the platform)."""


class ObjectGoneError(StorageError):
    """An object that was listed is gone (deleted between the listing and the download)."""


class AlertDeliveryError(BuildCPGError):
    """An alert route could not deliver (the run it reports on is not failed by this)."""


def first_line(err: BaseException) -> str:
    """The first line of an error's message (DuckDB's run over several lines)."""
    return (str(err).splitlines() or [type(err).__name__])[0]


# what DuckDB says of a corrupt or truncated database file (a lock conflict is never damage)
_DAMAGE_MARKS = (
    "could not read enough bytes",
    "not a valid duckdb database file",
    "checksum",
    "corrupt database",
)


def is_lock_conflict(err: BaseException) -> bool:
    """Does a DuckDB error say another process holds the file? (DuckDB's words, not a path with "lock" in it)."""
    text = first_line(err).lower()
    return "could not set lock" in text or "conflicting lock" in text


def is_damage(err: BaseException) -> bool:
    """Does a DuckDB error mean the database file itself is corrupt or truncated?"""
    text = str(err).lower()
    if is_lock_conflict(err):
        return False
    return type(err).__name__ == "SerializationException" or any(mark in text for mark in _DAMAGE_MARKS)


_DUCKDB_WRITE = re.compile(r'Could not (?:write|fsync|truncate)[^"]*"(?P<path>[^"]+)"[^:]*: (?P<why>.+)$')


def duckdb_write_problem(err: BaseException) -> str | None:
    """DuckDB's failed write of a file (a full disk) as 'could not write <path>: <problem>', else None."""
    found = _DUCKDB_WRITE.search(first_line(err))
    return f"could not write {found['path']}: {found['why']}" if found else None


def write_problem(err: BaseException, path: Path | str) -> str:
    """A failed write as 'could not write <path>: <problem>' (an OSError, or DuckDB's IO error of a file)."""
    if isinstance(err, OSError):
        return f"could not write {os_problem(err, path)}"
    return duckdb_write_problem(err) or f"could not write {path}: {first_line(err)}"


def os_problem(err: OSError, path: Path | str | None = None) -> str:
    """A file-system error as 'path: problem' (a file where a folder must be is said in words).

    ``path`` names the file when the OS error does not (a failed write of an open file has no name).
    """
    where = err.filename if err.filename is not None else (path if path is not None else "?")
    if isinstance(err, FileExistsError | NotADirectoryError):
        return f"{where}: a file is in the way where a folder must be"
    return f"{where}: {err.strerror or err}"
