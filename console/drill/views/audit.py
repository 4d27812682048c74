"""The audit event entity (``API::Entities::AuditEvent``), shared by every audit route."""

from __future__ import annotations

from typing import Any

from console.drill.model import AuditEvent


def audit_event(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "author_id": e.author_id,
        "entity_id": e.entity_id,
        "entity_type": e.entity_type,
        "event_name": e.event_name,
        "details": e.details,
        "created_at": e.created_at,
    }
