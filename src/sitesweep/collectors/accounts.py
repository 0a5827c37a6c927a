"""Who the host is and who uses it: identity, OS version, accounts and their homes.

Both collectors read through the scanned OS's profile (:mod:`sitesweep.osprofile.profiles`).
"""

from __future__ import annotations

from typing import List

from sitesweep.collectors.base import CollectContext, Collected, Collector
from sitesweep.host.identity import User
from sitesweep.model import Gap
from sitesweep.osprofile.homes import merge, walk_homes
from sitesweep.osprofile.model import KNOWN_OSES
from sitesweep.osprofile.profiles import profile_for


class IdentityCollector(Collector):
    """Host name, machine id, OS name and version."""

    id = "identity"
    oses = KNOWN_OSES
    observes = ("identity", "os")
    summary = "host name, machine id and OS version, from the host's own files"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        identity, os_info = profile_for(ctx.os).identify(ctx.root, gaps)
        return Collected({"identity": identity, "os": os_info}, tuple(gaps))


class AccountsCollector(Collector):
    """Accounts and their home directories: the account database, and every home directory."""

    id = "accounts"
    oses = KNOWN_OSES
    observes = ("users",)
    summary = "accounts from the account database, and every directory under the homes' parents"

    def collect(self, ctx: CollectContext) -> Collected:
        gaps: List[Gap] = []
        profile = profile_for(ctx.os)
        listed = profile.accounts(ctx.root, gaps)
        walked = walk_homes(
            ctx.root, profile.home_parents, profile.skip_homes, gaps, profile.home_owner_ids
        )
        fixed = [User(name, 0, home, source="fixed") for name, home in profile.fixed_homes]
        return Collected({"users": merge(listed, walked, fixed)}, tuple(gaps))
