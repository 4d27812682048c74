"""The store's exceptions; each knows the database file it is about (for the message)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["StoreCorruptError", "StoreError", "StoreFullError"]


class StoreError(RuntimeError):
    """The store cannot be used (newer schema, unsafe path, bad argument)."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class StoreCorruptError(StoreError):
    """``PRAGMA quick_check`` reported damage, or the file is not a SQLite database."""


class StoreFullError(StoreError):
    """The disk (or quota) holding the database is full: nothing is damaged."""
