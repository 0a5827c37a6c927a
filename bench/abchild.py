"""One side of ``bench/ab.py``: a revision's ``sitesweep`` CLI, run from that revision's ``src``.

    python -I bench/abchild.py SRC PHASES|- sitesweep-args...

Started with ``-I`` as the installed launcher starts sitesweep (``python -I -m sitesweep``), so
nothing comes from ``PYTHONPATH``, the user site or the current directory; ``SRC`` is then put
first on ``sys.path``, ahead of the editable install of the venv's own checkout, and the
``sitesweep`` imported is checked to be the one below ``SRC`` (exit 3 otherwise). Both sides run
the same interpreter with the same installed dependencies.

With a ``PHASES`` file (not ``-``), the scan's phases are timed without changing the scanner: each
collector's ``collect`` (by collector id), ``pipeline.analyze`` and ``bundle.writer.write_bundle``
are wrapped with a timer of process CPU (``time.process_time``: all threads), and their seconds
are written to ``PHASES`` as JSON when the CLI returns. A function a revision does not have is
left out of its phases.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict

SPENT: Dict[str, float] = {}


def timed(name: Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` adding its process CPU to ``SPENT[name(*args)]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            key = name(*args)
            SPENT[key] = SPENT.get(key, 0.0) + time.process_time() - started

    return wrapper


def wrap_phases() -> None:
    """Put the timers on the collectors, the analysis and the bundle writer."""
    from sitesweep import pipeline
    from sitesweep.bundle import writer
    from sitesweep.collectors import registry

    # Every class's own function is taken before any is wrapped: a collector class inheriting
    # ``collect`` from another one in the registry is then not timed twice.
    originals = {type(c): type(c).collect for c in registry.COLLECTORS}
    for cls, collect in originals.items():
        cls.collect = timed(lambda self, *_: f"collect {self.id}", collect)  # type: ignore[method-assign]
    if hasattr(pipeline, "analyze"):
        pipeline.analyze = timed(lambda *_: "analyze", pipeline.analyze)
    if hasattr(writer, "write_bundle"):
        writer.write_bundle = timed(lambda *_: "write_bundle", writer.write_bundle)


def main() -> int:
    """Run the revision's CLI with the arguments after ``SRC PHASES``."""
    src, phases, *args = sys.argv[1:]
    sys.path.insert(0, src)
    import sitesweep

    where = Path(sitesweep.__file__).resolve()
    if Path(src).resolve() not in where.parents:
        print(f"abchild: sitesweep imported from {where}, not from {src}", file=sys.stderr)
        return 3
    if phases != "-":
        wrap_phases()
    from sitesweep.cli import main as cli_main

    sys.argv = ["sitesweep", *args]
    try:
        return int(cli_main(args))
    finally:
        if phases != "-":
            Path(phases).write_text(json.dumps(SPENT))


if __name__ == "__main__":
    sys.exit(main())
