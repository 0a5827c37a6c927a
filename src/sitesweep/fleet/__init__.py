"""Fleet sweeps: the deployable agent, host lists, SSH transport, the sweep and the fleet report."""

from __future__ import annotations
