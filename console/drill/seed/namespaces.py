"""Groups, projects and memberships: the company tree and who may do what in it."""

from __future__ import annotations

from datetime import datetime

from console.drill.model import Group, Member, Project
from console.drill.seed.clock import Clock
from console.drill.seed.names import SEEDED_MAX
from console.drill.state import DrillState

_GROUPS = (
    (1, "ACME", "acme", None, "Top-level company group", 1400),
    (2, "Platform", "platform", 1, "Core platform services", 1300),
    (3, "Infrastructure", "infrastructure", 1, "Terraform, Ansible and Kubernetes", 1300),
    (4, "Web", "web", 1, "Customer-facing web apps", 1200),
    (5, "Mobile", "mobile", 1, "iOS and Android", 1000),
    (6, "Security", "security", 1, "Security tooling", 900),
    (7, "Data", "data", 1, "Pipelines and warehouse", 800),
    (8, "Partners", "partners", None, "Shared with external vendors", 600),
)

_PROJECTS = (
    (1, "API Gateway", "api-gateway", 2),
    (2, "Auth Service", "auth-service", 2),
    (3, "Terraform", "terraform", 3),
    (4, "Ansible", "ansible", 3),
    (5, "K8s Manifests", "k8s-manifests", 3),
    (6, "Storefront", "storefront", 4),
    (7, "Admin Portal", "admin-portal", 4),
    (8, "iOS App", "ios-app", 5),
    (9, "Android App", "android-app", 5),
    (10, "Vuln Scanner", "vuln-scanner", 6),
    (11, "ETL Pipelines", "etl-pipelines", 7),
    (12, "Warehouse", "warehouse", 7),
    (13, "ACME Integration", "acme-integration", 8),
    (14, "Billing", "billing", 2),
)


def seed_namespaces(state: DrillState, clock: Clock, total: int) -> None:
    for gid, name, path, parent, desc, age in _GROUPS:
        full = path if parent is None else f"{state.groups[parent].full_path}/{path}"
        state.groups[gid] = Group(gid, name, path, full, desc, clock.at(age), parent_id=parent)
    state.groups[6].require_two_factor_authentication = True
    state.groups[6].two_factor_grace_period = 0
    for pid, name, path, gid in _PROJECTS:
        state.projects[pid] = Project(
            pid,
            name,
            path,
            gid,
            f"{name} repository",
            clock.at(1100 - pid * 40),
            creator_id=4,
            last_activity_at=clock.at(pid % 5 + 0.5),
        )
    m = state.members.append
    for admin in (1, 4, 5):
        m(Member("Namespace", 1, admin, 50, clock.at(1300), 1))
    m(Member("Namespace", 8, 1, 50, clock.at(600), 1))
    m(Member("Namespace", 8, 23, 30, clock.at(300), 4))
    m(Member("Namespace", 8, 24, 20, clock.at(60), 1))
    m(Member("Namespace", 2, 7, 40, clock.at(800), 4))  # mchen Maintainer of platform
    # mchen was a Developer of infrastructure until the attacker raised him to Owner.
    m(Member("Namespace", 3, 7, 50, clock.at(790), 5))
    m(Member("Project", 3, 7, 40, clock.at(700), 5))  # mchen also directly on terraform
    m(Member("Namespace", 3, 8, 40, clock.at(750), 5))  # lnguyen Maintainer
    m(Member("Namespace", 3, 9, 40, clock.at(1.95), 7))  # ops-helper added by mchen
    m(Member("Namespace", 3, 37, 40, clock.at(340), 5))
    m(Member("Namespace", 3, 27, 40, clock.at(330), 7))  # group bot
    m(Member("Namespace", 3, 29, 40, clock.at(400), 5))  # terraform service account
    m(Member("Namespace", 4, 10, 30, clock.at(590), 4))  # jlee Developer of web
    m(Member("Project", 6, 10, 40, clock.at(500), 4))  # jlee Maintainer of storefront
    m(Member("Namespace", 4, 38, 30, clock.at(290), 4))
    m(Member("Namespace", 2, 32, 30, clock.at(640), 4))
    m(Member("Namespace", 2, 35, 30, clock.at(410), 4))
    m(Member("Namespace", 2, 40, 30, clock.at(140), 4))
    m(Member("Namespace", 5, 34, 40, clock.at(470), 4))
    m(Member("Namespace", 6, 31, 50, clock.at(690), 1))
    m(Member("Namespace", 7, 33, 40, clock.at(490), 4))
    m(Member("Namespace", 4, 39, 20, clock.at(190), 4))
    m(Member("Namespace", 2, 36, 20, clock.at(370), 4))
    m(Member("Project", 5, 25, 40, clock.at(200), 5))  # project bots
    m(Member("Project", 8, 26, 40, clock.at(150), 6))
    m(Member("Namespace", 6, 6, 50, clock.at(880), 1))
    m(Member("Namespace", 1, 6, 40, clock.at(880), 1))
    m(Member("Namespace", 4, 11, 10, clock.at(44), 4))  # support-desk Guest
    m(Member("Project", 12, 30, 20, clock.at(250), 4))  # monitoring SA Reporter
    levels = (30, 30, 30, 20, 40, 10)
    for uid in range(SEEDED_MAX + 1, min(total, SEEDED_MAX + 260) + 1):
        u = state.users[uid]
        gid = 2 + uid % 6
        created_days = (state.now - datetime.fromisoformat(u.created_at)).total_seconds() / 86400
        m(
            Member(
                "Namespace",
                gid,
                uid,
                levels[uid % len(levels)],
                clock.at(max(created_days - 1, 0.5)),
                4 + uid % 2,
            )
        )
