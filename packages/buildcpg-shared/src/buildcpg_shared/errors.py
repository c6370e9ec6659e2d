"""Typed errors. Each one carries a message meant to be read by a person, in one line."""

from __future__ import annotations


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


class LoadError(BuildCPGError):
    """A raw file could not be loaded (header mismatch, unreadable file, too many rejects)."""


class StepError(BuildCPGError):
    """A pipeline step failed; the message says which and why."""


class HttpSourceError(BuildCPGError):
    """An HTTP source could not be polled (HTTP error, timeout, bad page, missing or expired token)."""


class ScaffoldError(BuildCPGError):
    """A lab could not be created, adopted or removed (nothing was left half-made)."""


class AlertDeliveryError(BuildCPGError):
    """An alert route could not deliver (the run it reports on is not failed by this)."""


def first_line(err: BaseException) -> str:
    """The first line of an error's message (DuckDB's run over several lines)."""
    return (str(err).splitlines() or [type(err).__name__])[0]


def os_problem(err: OSError) -> str:
    """A file-system error as 'path: problem' (a file where a folder must be is said in words)."""
    where = err.filename if err.filename is not None else "?"
    if isinstance(err, FileExistsError | NotADirectoryError):
        return f"{where}: a file is in the way where a folder must be"
    return f"{where}: {err.strerror or err}"
