"""``python -I -m sitesweep``. Started without ``-I``, it starts again isolated first.

Without ``-I`` the interpreter has already run its start-up (``sitecustomize`` from ``PYTHONPATH``
included) by the time this runs; re-executing with ``-I`` at least keeps the scan itself from
importing anything through ``PYTHONPATH``, the user site or the current directory. The installed
``sitesweep`` launcher (``scripts/sitesweep``) passes ``-I`` from the start.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional


def isolated_argv() -> Optional[List[str]]:
    """The command that restarts this run isolated, or ``None`` when it is or cannot be.

    ``None`` when already isolated, and when sitesweep itself was found only through what ``-I``
    turns off (``PYTHONPATH``, the current directory, the user site): restarting would not find it.
    """
    if sys.flags.isolated:
        return None
    import site

    package_parent = Path(__file__).absolute().parent.parent
    dropped = {Path(p).absolute() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    dropped.add(Path.cwd())
    if site.ENABLE_USER_SITE:
        dropped.add(Path(site.getusersitepackages()).absolute())
    if package_parent in dropped:
        return None
    flags = ["-I"] + (["-S"] if sys.flags.no_site else [])
    return [sys.executable, *flags, "-m", "sitesweep", *sys.argv[1:]]


if __name__ == "__main__":
    argv = isolated_argv()
    if argv is not None and sys.executable:
        os.execv(sys.executable, argv)  # noqa: S606 - this interpreter again, isolated
    from sitesweep.cli import main

    sys.exit(main())
