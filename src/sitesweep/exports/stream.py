"""A memoised environment lookup for the exports, so environments are not searched once per row
of a large host's timeline or SBOM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, Optional

if TYPE_CHECKING:
    from sitesweep.discovery.model import PythonEnv
    from sitesweep.outcome import ScanResult


def environment_finder(result: ScanResult) -> Callable[[str], Optional[PythonEnv]]:
    """``result.inventory.environment_of``, remembered per path (site dirs recur on every row)."""
    known: Dict[str, Optional[PythonEnv]] = {}
    find = result.inventory.environment_of

    def lookup(path: str) -> Optional[PythonEnv]:
        try:
            return known[path]
        except KeyError:
            env = known[path] = find(path)
            return env

    return lookup
