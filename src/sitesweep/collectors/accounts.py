"""Who the host is and who uses it: identity and accounts (with their homes)."""

from __future__ import annotations

from typing import List

from sitesweep.collectors.base import CollectContext, Collected, Collector
from sitesweep.host.identity import read_identity, read_users
from sitesweep.model import Gap
from sitesweep.osprofile.model import KNOWN_OSES


class IdentityCollector(Collector):
    """Host name, machine id, OS version."""

    id = "identity"
    oses = KNOWN_OSES
    observes = ("identity",)
    summary = "host name, machine id and OS version, from the host's own files"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        identity = read_identity(ctx.root, gaps)
        return Collected({"identity": identity}, tuple(gaps))


class AccountsCollector(Collector):
    """Accounts and their home directories."""

    id = "accounts"
    oses = KNOWN_OSES
    observes = ("users",)
    summary = "accounts and their homes, from the account database and the homes' parent dirs"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        users = read_users(ctx.root, gaps)
        return Collected({"users": users}, tuple(gaps))
