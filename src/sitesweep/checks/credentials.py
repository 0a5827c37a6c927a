"""What the payload could have stolen: present credentials, and cluster access to check.

Only metadata is ever recorded (path, owner, mtime, size; a variable's name, never its value).
When a pack's payload shows signs of having run here (:func:`execution_evidence`), each of its
present credentials is a "rotate" item (high); otherwise they are info, for the record.
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from sitesweep.checks.base import Check, CheckContext
from sitesweep.checks.execution import execution_evidence
from sitesweep.host.model import CredentialItem, CredentialKind
from sitesweep.model import Category, Evidence, Finding, HostPath, Severity
from sitesweep.packs.model import Pack

CLUSTER_INDICATORS: Tuple[Tuple[str, str, str], ...] = (
    (
        "litellm-2026-03",
        "kubectl get pods -n kube-system -o wide | grep node-setup-",
        "privileged pods named node-setup-<node> in kube-system (image alpine:latest, hostPID, "
        "hostNetwork, host / mounted at /host) that install the sysmon backdoor on every node "
        "(iocs.md 1.8)",
    ),
)
"""(pack id, read-only kubectl command, what to look for) for packs whose payload acts in a
cluster. Kept here rather than in the pack format until a second incident needs it."""

CLUSTER_WIDE_QUERY = "kubectl get pods -A -o json"
"""Read-only: every pod with its spec (privileged, hostPID, hostPath mounts) for offline review."""


NOT_SECRETS = frozenset(
    {"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/hostname", "/etc/os-release", "/etc/issue"}
)
"""System files a payload reads for reconnaissance that hold no secret: never a rotation item."""


def _scope(item: CredentialItem) -> str:
    return item.user or "system"


def _what(item: CredentialItem) -> str:
    if item.kind is CredentialKind.VARIABLE:
        return f"the value of {item.variable} set in {item.path}"
    return item.path


def _evidence(item: CredentialItem) -> List[Evidence]:
    return [
        Evidence("secret", _what(item)),
        Evidence("pack entry", item.entry),
        Evidence("kind", str(item.kind)),
        Evidence("user", _scope(item)),
        Evidence("owner uid", str(item.uid)),
        Evidence("size", str(item.size)),
        Evidence("mode", oct(item.mode & 0o7777)),
    ]


class CredentialExposure(Check):
    """A credential the payload steals exists here; rotate it when the payload ran.

    Never reads the credential: the inventory holds its path, owner, mode, mtime and size only.
    """

    id = "credentials/exposed"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per (pack, present credential)."""
        items = [i for i in ctx.inventory.credentials if i.kind is not CredentialKind.KUBERNETES]
        for pack in ctx.packs.packs:
            wanted = set(pack.credentials)
            ran = execution_evidence(ctx.inventory, pack)
            for item in items:
                if item.entry in wanted:
                    yield self._finding(pack, item, ran)

    @staticmethod
    def _finding(pack: Pack, item: CredentialItem, ran: Tuple[str, ...]) -> Finding:
        if item.path in NOT_SECRETS:  # read by the payload, but nothing in it to rotate
            severity, verb, rule = Severity.INFO, "read (holds no secret)", "exposed"
            ran = ()
        elif ran:
            severity, verb, rule = Severity.HIGH, "rotate", "rotate"
        else:
            severity, verb, rule = Severity.INFO, "present", "exposed"
        title = f"{verb}: {_what(item)} ({_scope(item)})"
        evidence = _evidence(item) + [Evidence("payload ran", why) for why in ran]
        return Finding(
            rule=f"{pack.id}/{rule}/{item.entry}",
            severity=severity,
            category=Category.CREDENTIAL_EXPOSURE,
            title=title,
            paths=(HostPath(item.path),),
            evidence=tuple(evidence),
            remediation=(
                "Rotate it (revoke, reissue, redeploy) and review its use since the incident."
                if ran
                else None
            ),
            pack=pack.id,
        )


class KubernetesAccess(Check):
    """This host holds cluster access, and a pack's payload acts inside clusters.

    Records the kubeconfig or service-account token (never read) and gives the read-only
    ``kubectl`` queries a responder runs from a clean machine. High when the payload ran here.
    """

    id = "credentials/kubernetes"
    default_severity = Severity.HIGH

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield one finding per pack with cluster indicators, naming every access path."""
        access = [i for i in ctx.inventory.credentials if i.kind is CredentialKind.KUBERNETES]
        if not access:
            return
        for pack_id, command, look_for in CLUSTER_INDICATORS:
            pack = ctx.packs.get(pack_id)
            if pack is None:
                continue
            ran = execution_evidence(ctx.inventory, pack)
            yield Finding(
                rule=f"{pack.id}/kubernetes",
                severity=Severity.HIGH if ran else Severity.INFO,
                category=Category.CREDENTIAL_EXPOSURE,
                title=f"cluster access on this host; check the cluster for {pack.id} pods",
                paths=tuple(sorted({HostPath(i.path) for i in access})),
                evidence=(
                    *(Evidence("access", f"{i.path} ({_scope(i)})") for i in access),
                    Evidence("look for", look_for),
                    *(Evidence("payload ran", why) for why in ran),
                ),
                remediation=(
                    f"From a clean machine, with this cluster's credentials, run the read-only "
                    f"queries `{command}` and `{CLUSTER_WIDE_QUERY}` (add --kubeconfig PATH for a "
                    f"non-default config), or scan with `--kubernetes` where kubectl reaches it. "
                    f"{pack.remediation}"
                ),
                pack=pack.id,
            )
