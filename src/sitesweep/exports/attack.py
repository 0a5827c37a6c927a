"""What a finding is, in the vocabularies SIEMs and code-scanning tools share.

MITRE ATT&CK techniques, a stable rule name and the advisory ids of the pack behind a finding.
Nothing here judges: the kind of observation (the finding's category, the persistence mechanism the
inventory recorded for its path) decides the label, the checks decided the finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Optional, Tuple

from sitesweep.host.model import PersistenceKind
from sitesweep.model import Category, Finding

if TYPE_CHECKING:
    from sitesweep.outcome import ScanResult
    from sitesweep.packs.model import Pack

FRAMEWORK = "MITRE ATT&CK"
_BASE = "https://attack.mitre.org/"


@dataclass(frozen=True)
class Tactic:
    """An ATT&CK tactic (the adversary's goal)."""

    id: str
    name: str

    @property
    def reference(self) -> str:
        """The tactic's page."""
        return f"{_BASE}tactics/{self.id}/"


PERSISTENCE = Tactic("TA0003", "Persistence")
INITIAL_ACCESS = Tactic("TA0001", "Initial Access")
CREDENTIAL_ACCESS = Tactic("TA0006", "Credential Access")
EXECUTION = Tactic("TA0002", "Execution")
EXFILTRATION = Tactic("TA0010", "Exfiltration")


@dataclass(frozen=True)
class Technique:
    """An ATT&CK technique, or a sub-technique of one (``T1546.018``)."""

    id: str
    name: str
    tactic: Tactic
    parent_name: Optional[str] = None
    """For a sub-technique, its technique's name."""

    @property
    def technique_id(self) -> str:
        """The technique's id (``T1546`` for ``T1546.018``)."""
        return self.id.split(".", 1)[0]

    @property
    def technique_name(self) -> str:
        """The technique's name (the parent's for a sub-technique)."""
        return self.parent_name or self.name

    @property
    def is_sub(self) -> bool:
        """Whether this is a sub-technique."""
        return "." in self.id

    def reference_of(self, ident: str) -> str:
        """The page of ``ident`` (this technique's id or its parent's)."""
        return f"{_BASE}techniques/{ident.replace('.', '/')}/"


def _sub(ident: str, name: str, parent: str, tactic: Tactic) -> Technique:
    return Technique(ident, name, tactic, parent)


PYTHON_STARTUP = _sub("T1546.018", "Python Startup Hooks", "Event Triggered Execution", PERSISTENCE)
DEPENDENCIES = _sub(
    "T1195.001",
    "Compromise Software Dependencies and Development Tools",
    "Supply Chain Compromise",
    INITIAL_ACCESS,
)
SOFTWARE = _sub(
    "T1195.002", "Compromise Software Supply Chain", "Supply Chain Compromise", INITIAL_ACCESS
)
CREDENTIALS_IN_FILES = _sub(
    "T1552.001", "Credentials In Files", "Unsecured Credentials", CREDENTIAL_ACCESS
)
PYTHON = _sub("T1059.006", "Python", "Command and Scripting Interpreter", EXECUTION)
EXFIL_C2 = Technique("T1041", "Exfiltration Over C2 Channel", EXFILTRATION)
DEPLOY_CONTAINER = Technique("T1610", "Deploy Container", EXECUTION)
SYSTEM_PROCESS = Technique("T1543", "Create or Modify System Process", PERSISTENCE)
_CREATE = "Create or Modify System Process"
_TASK = "Scheduled Task/Job"
_AUTOSTART = "Boot or Logon Autostart Execution"
_EVENT = "Event Triggered Execution"

PERSISTENCE_TECHNIQUES: Dict[PersistenceKind, Technique] = {
    PersistenceKind.SYSTEMD: _sub("T1543.002", "Systemd Service", _CREATE, PERSISTENCE),
    PersistenceKind.CRON: _sub("T1053.003", "Cron", _TASK, PERSISTENCE),
    PersistenceKind.ANACRON: _sub("T1053.003", "Cron", _TASK, PERSISTENCE),
    PersistenceKind.AT: _sub("T1053.002", "At", _TASK, PERSISTENCE),
    PersistenceKind.RC_LOCAL: _sub(
        "T1037.004", "RC Scripts", "Boot or Logon Initialization Scripts", PERSISTENCE
    ),
    PersistenceKind.INIT_D: _sub(
        "T1037.004", "RC Scripts", "Boot or Logon Initialization Scripts", PERSISTENCE
    ),
    PersistenceKind.SHELL: _sub(
        "T1546.004", "Unix Shell Configuration Modification", _EVENT, PERSISTENCE
    ),
    PersistenceKind.ENVIRONMENT: _sub(
        "T1546.004", "Unix Shell Configuration Modification", _EVENT, PERSISTENCE
    ),
    PersistenceKind.XDG_AUTOSTART: _sub(
        "T1547.013", "XDG Autostart Entries", _AUTOSTART, PERSISTENCE
    ),
    PersistenceKind.LAUNCHD: _sub("T1543.001", "Launch Agent", _CREATE, PERSISTENCE),
    PersistenceKind.LD_PRELOAD: _sub(
        "T1574.006", "Dynamic Linker Hijacking", "Hijack Execution Flow", PERSISTENCE
    ),
    PersistenceKind.AUTHORIZED_KEYS: _sub(
        "T1098.004", "SSH Authorized Keys", "Account Manipulation", PERSISTENCE
    ),
    PersistenceKind.PERIODIC: _sub("T1053.003", "Cron", _TASK, PERSISTENCE),
    PersistenceKind.LOGIN_ITEMS: _sub("T1547.015", "Login Items", _AUTOSTART, PERSISTENCE),
    PersistenceKind.STARTUP_FOLDER: _sub(
        "T1547.001", "Registry Run Keys / Startup Folder", _AUTOSTART, PERSISTENCE
    ),
    PersistenceKind.REGISTRY_RUN: _sub(
        "T1547.001", "Registry Run Keys / Startup Folder", _AUTOSTART, PERSISTENCE
    ),
    PersistenceKind.SCHEDULED_TASK: _sub("T1053.005", "Scheduled Task", _TASK, PERSISTENCE),
    PersistenceKind.POWERSHELL_PROFILE: _sub(
        "T1546.013", "PowerShell Profile", _EVENT, PERSISTENCE
    ),
    PersistenceKind.PYTHON_STARTUP: PYTHON_STARTUP,
    PersistenceKind.INDEX_CONFIG: DEPENDENCIES,
    PersistenceKind.PYPIRC: DEPENDENCIES,
}
"""The technique of each persistence mechanism the inventory tells apart."""

_BY_CATEGORY: Dict[Category, Tuple[Technique, ...]] = {
    Category.PTH: (PYTHON_STARTUP,),
    Category.STARTUP: (PYTHON_STARTUP,),
    Category.PACKAGE: (DEPENDENCIES,),
    Category.LOCKFILE: (DEPENDENCIES,),
    Category.CACHE: (DEPENDENCIES,),
    Category.CONFIG: (DEPENDENCIES,),
    Category.INTEGRITY: (SOFTWARE,),
    Category.FILE: (SOFTWARE,),
    Category.CREDENTIAL_EXPOSURE: (CREDENTIALS_IN_FILES,),
    Category.PROCESS: (PYTHON,),
    Category.NETWORK: (PYTHON, EXFIL_C2),
    Category.PERSISTENCE: (SYSTEM_PROCESS,),
}
_STARTUP_NAMES = ("sitecustomize.py", "usercustomize.py")


def _is_startup_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".pth") or name in _STARTUP_NAMES


class Labeller:
    """The ATT&CK techniques, rule names and advisories of the findings of one result."""

    def __init__(self, result: ScanResult) -> None:
        self._result = result
        self._kinds: Dict[str, PersistenceKind] = {
            e.path: e.kind for e in result.inventory.persistence
        }

    def techniques(self, finding: Finding) -> Tuple[Technique, ...]:
        """The techniques a finding is evidence of (most specific known)."""
        category = finding.category
        if category is Category.FILE and any(_is_startup_file(p) for p in finding.paths):
            return (PYTHON_STARTUP,)
        if category is Category.PERSISTENCE:
            if _segment(finding.rule, 1).startswith("cluster-pod"):
                return (DEPLOY_CONTAINER,)
            found = [
                PERSISTENCE_TECHNIQUES[self._kinds[p]]
                for p in finding.paths
                if self._kinds.get(p) in PERSISTENCE_TECHNIQUES
            ]
            if found:
                return tuple(dict.fromkeys(found))
        return _BY_CATEGORY.get(category, ())

    def pack(self, finding: Finding) -> Optional[Pack]:
        """The pack behind a finding (``None`` for heuristics)."""
        return self._result.packs.get(finding.pack) if finding.pack else None

    def advisories(self, finding: Finding) -> Tuple[str, ...]:
        """The advisory ids (MAL-, GHSA-, CVE-, PYSEC-) of the finding's pack."""
        pack = self.pack(finding)
        return pack.advisories if pack is not None else ()

    def reference(self, finding: Finding) -> Optional[str]:
        """A page about the rule: the pack's first reference (``None`` for heuristics)."""
        pack = self.pack(finding)
        return pack.references[0] if pack is not None and pack.references else None


def _segment(rule: str, index: int) -> str:
    parts = rule.split("/")
    return parts[index] if len(parts) > index else ""


def rule_name(finding: Finding) -> str:
    """The rule's name, the same for every instance: the rule id without per-instance parts.

    Rule ids are ``<pack>/<kind>[/<what>]`` or ``heuristic/<name>``; only the cluster-pod rules
    carry the pod (``<pack>/cluster-pod/<namespace>/<pod>``), which is dropped here.
    """
    if _segment(finding.rule, 1).startswith("cluster-pod"):
        return "/".join(finding.rule.split("/")[:2])
    return finding.rule


def primary_advisory(ids: Tuple[str, ...]) -> Optional[str]:
    """The id a vulnerability tool looks up first: a CVE, else a GHSA, else the first given."""
    for prefix in ("CVE-", "GHSA-"):
        found = next((i for i in ids if i.upper().startswith(prefix)), None)
        if found:
            return found
    return ids[0] if ids else None


def advisory_url(ident: str) -> str:
    """Where an advisory id is published (OSV serves every id family sitesweep uses)."""
    if ident.upper().startswith("GHSA-"):
        return f"https://github.com/advisories/{ident}"
    if ident.upper().startswith("CVE-"):
        return f"https://nvd.nist.gov/vuln/detail/{ident}"
    return f"https://osv.dev/vulnerability/{ident}"
