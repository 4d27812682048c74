"""Placeholder."""

from __future__ import annotations

from console.drill.web import Registry

routes = Registry()
