"""The named cast (user ids 1 … ``SEEDED_MAX``): root, admins, the taken-over ``mchen``, the
attacker's helper account, bots, service accounts, hostile-text users and every user state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from console.drill.model import HUMAN, PROJECT_BOT, SERVICE_ACCOUNT, User
from console.drill.seed.clock import Clock
from console.drill.seed.names import ATTACKER_IP, COMPROMISED_USERNAME, HELPER_USERNAME
from console.drill.state import DrillState


@dataclass
class Cast:
    id: int
    username: str
    name: str
    admin: bool = False
    two_factor: bool = True
    state: str = "active"
    user_type: str = HUMAN
    external: bool = False
    created_days: float = 700
    last_sign_days: float | None = 2
    ip: str = "10.20.1.10"
    prev_ip: str | None = None
    created_by: int | None = None
    note: str | None = None
    email: str | None = None
    job: str = ""
    identities: tuple[tuple[str, str], ...] = ()


def cast_of(seed: int) -> list[Cast]:
    hexes = [
        hashlib.md5(f"{seed}:{i}".encode(), usedforsecurity=False).hexdigest()[:32]
        for i in range(6)
    ]
    return [
        Cast(
            1,
            "root",
            "Administrator",
            admin=True,
            created_days=1500,
            last_sign_days=0.05,
            ip="10.20.0.5",
            prev_ip="10.20.0.5",
            email="gitlab-admin@corp.example.com",
        ),
        Cast(
            2,
            "alert-bot",
            "GitLab Alert Bot",
            two_factor=False,
            user_type="alert_bot",
            created_days=1400,
            last_sign_days=None,
            email="alert@gitlab.invalid",
        ),
        Cast(
            3,
            "support-bot",
            "GitLab Support Bot",
            two_factor=False,
            user_type="support_bot",
            created_days=1400,
            last_sign_days=None,
            email="support@gitlab.invalid",
        ),
        Cast(
            4,
            "agarcia",
            "Ana García",
            admin=True,
            created_days=1300,
            last_sign_days=0.4,
            ip="10.20.3.14",
            prev_ip="198.51.100.14",
            job="Engineering Manager",
            identities=(("google_oauth2", "109876543210987654321"),),
        ),
        Cast(
            5,
            "bwilson",
            "Ben Wilson",
            admin=True,
            created_days=1100,
            last_sign_days=1.2,
            ip="10.20.3.27",
            prev_ip="10.20.3.27",
            job="SRE",
        ),
        Cast(
            6,
            "dpatel",
            "Deepa Patel",
            admin=True,
            two_factor=False,
            created_days=900,
            last_sign_days=6,
            ip="198.51.100.61",
            prev_ip="10.20.4.61",
            job="Release Manager",
        ),
        Cast(
            7,
            COMPROMISED_USERNAME,
            "Michael Chen",
            admin=True,
            created_days=820,
            last_sign_days=3,
            ip=ATTACKER_IP,
            prev_ip="10.40.12.23",
            job="Platform Engineer",
            created_by=1,
        ),
        Cast(
            8,
            "lnguyen",
            "Linh Nguyen",
            two_factor=False,
            created_days=760,
            last_sign_days=0.8,
            ip="10.40.12.88",
            prev_ip="10.40.12.88",
            job="Infrastructure Engineer",
        ),
        Cast(
            9,
            HELPER_USERNAME,
            "Ops Helper",
            admin=True,
            two_factor=False,
            created_days=2.1,
            last_sign_days=1.9,
            ip=ATTACKER_IP,
            prev_ip=ATTACKER_IP,
            email="ops.helper.gl@mailbox.example.org",
        ),
        Cast(
            10,
            "jlee",
            "Jordan Lee",
            created_days=600,
            last_sign_days=0.2,
            ip="10.20.7.31",
            prev_ip="198.51.100.31",
            job="Frontend Developer",
        ),
        Cast(
            11,
            "support-desk",
            "[@click=app.quit]Support[/]",
            two_factor=False,
            created_days=45,
            last_sign_days=10,
            ip="10.20.9.4",
            prev_ip="10.20.9.4",
        ),
        Cast(
            12,
            "jdoe-it",
            "Jane \x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUvc2ggfCBzaA==\x07Doe \u202egpj.exe\u202c",
            two_factor=False,
            created_days=30,
            last_sign_days=12,
            ip="10.20.9.5",
            prev_ip="10.20.9.5",
        ),
        Cast(
            13,
            "sysadmin",
            "\u0410dministrator",
            two_factor=False,
            created_days=25,
            last_sign_days=9,
            ip="198.51.100.200",
            prev_ip="198.51.100.200",
        ),
        Cast(
            14,
            "r00t",
            "Administrator",
            two_factor=False,
            created_days=19,
            last_sign_days=8,
            ip="198.51.100.201",
            prev_ip="198.51.100.201",
            created_by=6,
            note="requested by release team",
        ),
        Cast(
            15,
            "tkowalski",
            "Tomasz Kowalski",
            state="blocked",
            created_days=1000,
            last_sign_days=200,
            ip="10.20.2.40",
            prev_ip="10.20.2.40",
            note="Left company 2025; blocked by HR offboarding",
        ),
        Cast(
            16,
            "rbrown",
            "Rachel Brown",
            state="blocked",
            created_days=950,
            last_sign_days=150,
            ip="10.20.2.41",
            prev_ip="10.20.2.41",
        ),
        Cast(
            17,
            "cheap-seo-77",
            "Cheap SEO Services",
            two_factor=False,
            state="banned",
            created_days=120,
            last_sign_days=119,
            ip="192.0.2.77",
            prev_ip="192.0.2.77",
            email="seo77@mailbox.example.org",
        ),
        Cast(
            18,
            "free-crypto",
            "Free Crypto Airdrop",
            two_factor=False,
            state="banned",
            created_days=90,
            last_sign_days=89,
            ip="192.0.2.78",
            prev_ip="192.0.2.78",
            email="airdrop@mailbox.example.org",
        ),
        Cast(
            19,
            "akhan",
            "Ahmed Khan",
            state="deactivated",
            created_days=1200,
            last_sign_days=260,
            ip="10.20.2.50",
            prev_ip="10.20.2.50",
        ),
        Cast(
            20,
            "old.contractor",
            "Old Contractor",
            state="deactivated",
            external=True,
            two_factor=False,
            created_days=800,
            last_sign_days=300,
            ip="198.51.100.90",
            prev_ip="198.51.100.90",
            created_by=1,
        ),
        Cast(
            21,
            "newhire.one",
            "New Hire One",
            two_factor=False,
            state="blocked_pending_approval",
            created_days=4,
            last_sign_days=None,
        ),
        Cast(
            22,
            "newhire.two",
            "New Hire Two",
            two_factor=False,
            state="blocked_pending_approval",
            created_days=1.5,
            last_sign_days=None,
        ),
        Cast(
            23,
            "vendor-acme",
            "ACME Vendor Support",
            external=True,
            two_factor=False,
            created_days=300,
            last_sign_days=20,
            ip="192.0.2.10",
            prev_ip="192.0.2.10",
            created_by=4,
            email="support@vendor.example.org",
        ),
        Cast(
            24,
            "ext-auditor",
            "External Auditor",
            external=True,
            created_days=60,
            last_sign_days=30,
            ip="192.0.2.11",
            prev_ip="192.0.2.11",
            created_by=1,
            email="auditor@audit-firm.example.org",
        ),
        Cast(
            25,
            f"project_5_bot_{hexes[0]}",
            "argo-deployer",
            two_factor=False,
            user_type=PROJECT_BOT,
            created_days=200,
            last_sign_days=None,
            created_by=5,
            email=f"project_5_bot_{hexes[0]}@noreply.drill.invalid",
        ),
        Cast(
            26,
            f"project_8_bot_{hexes[1]}",
            "release-bot",
            two_factor=False,
            user_type=PROJECT_BOT,
            created_days=150,
            last_sign_days=None,
            created_by=6,
            email=f"project_8_bot_{hexes[1]}@noreply.drill.invalid",
        ),
        Cast(
            27,
            f"group_3_bot_{hexes[2]}",
            "renovate",
            two_factor=False,
            user_type=PROJECT_BOT,
            created_days=330,
            last_sign_days=None,
            created_by=7,
            email=f"group_3_bot_{hexes[2]}@noreply.drill.invalid",
        ),
        Cast(
            28,
            f"service_account_{hexes[3][:16]}",
            "Backup Service",
            two_factor=False,
            user_type=SERVICE_ACCOUNT,
            created_days=500,
            last_sign_days=None,
            created_by=1,
            email=f"service_account_{hexes[3][:16]}@noreply.drill.invalid",
        ),
        Cast(
            29,
            f"service_account_group_2_{hexes[4][:16]}",
            "Terraform CI",
            two_factor=False,
            user_type=SERVICE_ACCOUNT,
            created_days=400,
            last_sign_days=None,
            created_by=5,
            email=f"service_account_group_2_{hexes[4][:16]}@noreply.drill.invalid",
        ),
        Cast(
            30,
            f"service_account_{hexes[5][:16]}",
            "Monitoring Exporter",
            two_factor=False,
            user_type=SERVICE_ACCOUNT,
            created_days=250,
            last_sign_days=None,
            created_by=4,
            email=f"service_account_{hexes[5][:16]}@noreply.drill.invalid",
        ),
        Cast(
            31,
            "kmurphy",
            "Kevin Murphy",
            created_days=700,
            last_sign_days=1,
            ip="10.20.5.2",
            prev_ip="10.20.5.2",
            job="Security Engineer",
        ),
        Cast(
            32,
            "swright",
            "Sofia Wright",
            created_days=650,
            last_sign_days=0.3,
            ip="10.20.5.3",
            prev_ip="198.51.100.33",
            job="Backend Developer",
        ),
        Cast(
            33,
            "pkaur",
            "Priya Kaur",
            created_days=500,
            last_sign_days=2,
            ip="10.20.5.4",
            prev_ip="10.20.5.4",
            job="Data Engineer",
        ),
        Cast(
            34,
            "ldubois",
            "Louis Dubois",
            created_days=480,
            last_sign_days=4,
            ip="10.20.5.5",
            prev_ip="10.20.5.5",
            job="Mobile Developer",
        ),
        Cast(
            35,
            "hsato",
            "Haruto Sato",
            created_days=420,
            last_sign_days=0.6,
            ip="10.20.5.6",
            prev_ip="10.20.5.6",
            job="Backend Developer",
            identities=(("github", "4410021"),),
        ),
        Cast(
            36,
            "mrossi",
            "Marta Rossi",
            created_days=380,
            last_sign_days=5,
            ip="10.20.5.7",
            prev_ip="10.20.5.7",
            job="QA Engineer",
        ),
        Cast(
            37,
            "omehta",
            "Omar Mehta",
            created_days=350,
            last_sign_days=3,
            ip="10.20.5.8",
            prev_ip="10.20.5.8",
            job="SRE",
        ),
        Cast(
            38,
            "yokafor",
            "Yemi Okafor",
            created_days=300,
            last_sign_days=1.5,
            ip="10.20.5.9",
            prev_ip="10.20.5.9",
            job="Frontend Developer",
        ),
        Cast(
            39,
            "enovak",
            "Eva Novak",
            created_days=200,
            last_sign_days=7,
            ip="10.20.5.10",
            prev_ip="10.20.5.10",
            job="Designer",
        ),
        Cast(
            40,
            "tsilva",
            "Thiago Silva",
            created_days=150,
            last_sign_days=2.5,
            ip="10.20.5.11",
            prev_ip="10.20.5.11",
            job="Backend Developer",
        ),
    ]


def seed_cast(state: DrillState, clock: Clock) -> None:
    for c in cast_of(state.seed):
        signed = c.last_sign_days
        human = c.user_type == HUMAN
        if signed is not None:  # nobody signs in before their account exists
            signed = min(signed, c.created_days - 0.05)
        current = clock.at(signed) if signed is not None else None
        last = (
            clock.at(min(signed + 6.3, max(signed, c.created_days - 0.05)))
            if signed is not None
            else None
        )
        if c.username == COMPROMISED_USERNAME:
            last = clock.at(9.2)  # his previous, normal sign-in
        activity = clock.date(max(signed - 0.01, 0)) if signed is not None else None
        if c.user_type != HUMAN and c.user_type != "alert_bot" and c.user_type != "support_bot":
            activity = clock.date(0.3)  # bots are active through their tokens
        email = c.email or f"{c.username}@corp.example.com"
        user = User(
            id=c.id,
            username=c.username,
            name=c.name,
            email=email,
            state=c.state,
            user_type=c.user_type,
            is_admin=c.admin,
            two_factor=c.two_factor,
            external=c.external,
            created_at=clock.at(c.created_days),
            created_by=c.created_by,
            confirmed_at=clock.at(c.created_days - 0.01) if human else clock.at(c.created_days),
            last_sign_in_at=last,
            current_sign_in_at=current,
            last_activity_on=activity,
            current_sign_in_ip=c.ip if signed is not None else None,
            last_sign_in_ip=(c.prev_ip or c.ip) if signed is not None else None,
            sign_in_count=(int(c.created_days // 3) + 1) if signed is not None else 0,
            identities=[{"provider": p, "extern_uid": uid} for p, uid in c.identities],
            note=c.note,
            job_title=c.job,
            organization="ACME Corp" if human and not c.external else "",
            namespace_id=c.id,
            updated_at=clock.at(min(c.created_days, 1.0)),
            private_profile=False,
        )
        if c.username == HELPER_USERNAME:
            user.confirmed_at = None  # self-registered, never confirmed the address
        if c.state == "blocked_pending_approval":
            user.confirmed_at = None
        state.add_user(user)
