"""Collection: one collector contract (:mod:`.base`), one registry and one loop (:mod:`.registry`).

:func:`sitesweep.inventory.collect_inventory` detects the scanned tree's OS, runs the registered
collectors serving it, each under one guard, and assembles the inventory from what they observed.
"""

from __future__ import annotations
