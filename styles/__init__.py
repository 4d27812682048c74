"""Textual stylesheets (``*.tcss``), shipped as package data so a non-editable install finds them."""

from __future__ import annotations

from pathlib import Path

STYLES_DIR = Path(__file__).resolve().parent


def stylesheet(name: str) -> Path:
    return STYLES_DIR / name
