"""Textual stylesheets (``*.tcss``), shipped as package data for non-editable installs."""

from __future__ import annotations

from pathlib import Path

STYLES_DIR = Path(__file__).resolve().parent


def stylesheet(name: str) -> Path:
    return STYLES_DIR / name
