"""MITRE ATT&CK tactics: the kill-chain order, and the one primary tactic of each technique the catalog uses.

A query's header lists techniques (`mitre:`); incidents (kanalytics.catalog.incidents) group findings and tell
their story by tactic, so each technique maps to exactly one tactic here. ATT&CK itself lists many techniques
under several tactics (T1078 Valid Accounts under four); the primary one chosen is what the technique means in
a Kubernetes audit trail, following Microsoft's threat matrix for Kubernetes where it is explicit:

- T1078 and its sub-techniques are *initial access*: in an audit log they show up as an identity used from
  somewhere new, the way a stolen credential gets in.
- T1098 (account manipulation) and T1136 are *persistence*; T1098.006 (additional cluster roles: a binding to a
  powerful role) is *privilege escalation*, what such a binding is for; T1134 (impersonation) likewise.
- T1610 (deploy container), T1609 (exec) and T1204.003 are *execution*; T1611 (escape to host: privileged,
  hostPID, hostPath pods) is *privilege escalation*.
- T1053.007 (CronJob), T1543 (DaemonSet) and T1546 (mutating webhooks) are *persistence*.

tests/catalog/test_incidents.py fails when a query names a technique this table does not map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, get_args

Tactic = Literal[
    "reconnaissance",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
]
# ATT&CK's Enterprise order (resource development is not visible in an audit log): the order a narrative uses.
TACTICS: Final[tuple[Tactic, ...]] = get_args(Tactic)
TACTIC_RANK: Final[dict[str, int]] = {t: rank for rank, t in enumerate(TACTICS)}
TACTIC_TITLES: Final[dict[str, str]] = {t: t.replace("-", " ").capitalize() for t in TACTICS}

TECHNIQUE_TACTICS: Final[dict[str, Tactic]] = {
    "T1005": "collection",  # data from local system (kubectl cp out of a pod)
    "T1036": "defense-evasion",  # masquerading (a reused audit ID)
    "T1036.005": "defense-evasion",  # match legitimate name (pods named like system pods)
    "T1053.007": "persistence",  # container orchestration job (CronJob)
    "T1059": "execution",  # command and scripting interpreter (reverse shell)
    "T1069.003": "discovery",  # permission groups discovery: cloud groups (self-subject reviews)
    "T1070": "defense-evasion",  # indicator removal (events deleted)
    "T1070.006": "defense-evasion",  # timestomp (clock jumps)
    "T1078": "initial-access",  # valid accounts
    "T1078.001": "initial-access",  # default accounts (anonymous)
    "T1078.004": "initial-access",  # cloud accounts (in-cluster credentials used from outside)
    "T1098": "persistence",  # account manipulation
    "T1098.006": "privilege-escalation",  # additional container cluster roles
    "T1105": "command-and-control",  # ingress tool transfer
    "T1133": "initial-access",  # external remote services (NodePort, exposed dashboard)
    "T1134": "privilege-escalation",  # access token manipulation (impersonation)
    "T1136": "persistence",  # create account (service accounts)
    "T1204.003": "execution",  # malicious image
    "T1528": "credential-access",  # steal application access token
    "T1530": "collection",  # data from cloud storage
    "T1543": "persistence",  # create or modify system process (DaemonSet)
    "T1548": "privilege-escalation",  # abuse elevation control mechanism
    "T1548.001": "privilege-escalation",  # setuid and setgid (allowPrivilegeEscalation, root containers)
    "T1546": "persistence",  # event triggered execution (admission webhooks)
    "T1552": "credential-access",  # unsecured credentials
    "T1552.001": "credential-access",  # credentials in files
    "T1552.005": "credential-access",  # cloud instance metadata API
    "T1552.007": "credential-access",  # container API (secrets, tokens)
    "T1557": "credential-access",  # adversary-in-the-middle (ingress without TLS)
    "T1562": "defense-evasion",  # impair defenses
    "T1562.008": "defense-evasion",  # disable or modify cloud logs (audit gaps)
    "T1565.001": "impact",  # stored data manipulation (CoreDNS configuration)
    "T1572": "command-and-control",  # protocol tunneling (port-forward)
    "T1595": "reconnaissance",  # active scanning
    "T1595.003": "reconnaissance",  # wordlist scanning
    "T1609": "execution",  # container administration command (exec, attach)
    "T1610": "execution",  # deploy container
    "T1611": "privilege-escalation",  # escape to host
    "T1613": "discovery",  # container and resource discovery
}


def tactic_of(technique: str) -> Tactic | None:
    """The primary tactic of a technique id; a sub-technique the table lacks falls back to its parent."""
    tactic = TECHNIQUE_TACTICS.get(technique)
    if tactic is None and "." in technique:
        tactic = TECHNIQUE_TACTICS.get(technique.split(".", 1)[0])
    return tactic


def primary_tactic(techniques: Iterable[str]) -> Tactic | None:
    """The tactic a query stands for in a story: that of its first listed (primary) technique that maps.

    A query names further techniques for reference (first-seen-identity-verb-resource: T1078 and T1613); counting
    all of them would make one anomaly look like two steps of an attack."""
    for technique in techniques:
        tactic = tactic_of(technique)
        if tactic is not None:
            return tactic
    return None
