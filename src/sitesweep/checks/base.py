"""The shape every check shares: metadata on the class, ``run`` yielding findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator, Optional

from sitesweep.inventory import Inventory
from sitesweep.model import Finding, HostPath, Severity
from sitesweep.packs.model import PackSet


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at: the observations and the loaded packs. Checks do no I/O."""

    inventory: Inventory
    packs: PackSet

    def env_prefix(self, path: str) -> Optional[HostPath]:
        """Return the prefix of the environment holding ``path``, if any."""
        env = self.inventory.environment_of(path)
        return env.prefix if env else None


class Check:
    """Base class: subclasses set ``id`` and ``default_severity`` and implement ``run``.

    The first line of a subclass's docstring is its title in listings and docs.
    """

    id: ClassVar[str] = ""
    default_severity: ClassVar[Severity] = Severity.INFO

    def skip_reason(self, ctx: CheckContext) -> Optional[str]:
        """Return why this check cannot run on ``ctx``, or ``None`` when it can."""
        return None

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield findings."""
        raise NotImplementedError
