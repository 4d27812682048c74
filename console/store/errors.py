"""The store's two exceptions."""

from __future__ import annotations

__all__ = ["StoreCorruptError", "StoreError"]


class StoreError(RuntimeError):
    """The store cannot be used (newer schema, unsafe path, bad argument)."""


class StoreCorruptError(StoreError):
    """``PRAGMA quick_check`` reported damage."""
