"""The shape every check shares: metadata on the class, ``run`` yielding findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, FrozenSet, Iterator, Optional, Tuple

from sitesweep.content import ContentSource
from sitesweep.intel.model import IndexWitness
from sitesweep.inventory import Inventory
from sitesweep.model import Finding, Gap, HostPath, Severity
from sitesweep.packs.model import PackSet
from sitesweep.packs.yararules import YaraLimits


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at: the observations and the loaded packs. Checks do no I/O.

    Attributes:
        inventory: the observations.
        packs: the loaded packs (with their compiled YARA rules).
        content: where file content comes from (the host for ``scan``, evidence copies for
            ``analyze``); ``None`` when there is no content, only observations.
        yara_limits: size cap and per-file timeout for YARA matching.
        index: the package index's answers, when the analysis asked one.
    """

    inventory: Inventory
    packs: PackSet
    content: Optional[ContentSource] = None
    yara_limits: YaraLimits = field(default_factory=YaraLimits)
    index: Optional[IndexWitness] = None
    """What a package index said about the installed releases (``analyze --index``)."""

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
    live_only: ClassVar[bool] = False
    """Whether the check needs the running system; its skip is then a ``live_only`` gap."""
    runs_without: ClassVar[FrozenSet[str]] = frozenset()
    """Inventory fields this check never reads: it may run while collectors working apart
    (:class:`~sitesweep.inventory.InventoryUnderway`) are still making them."""

    def skip_reason(self, ctx: CheckContext) -> Optional[str]:
        """Return why this check cannot run on ``ctx``, or ``None`` when it can."""
        return None

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield findings."""
        raise NotImplementedError

    def gaps(self) -> Tuple[Gap, ...]:
        """Return what the last ``run`` could not look at (unreadable files); none by default."""
        return ()
