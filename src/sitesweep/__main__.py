"""Allow ``python -I -m sitesweep``."""

from __future__ import annotations

import sys

from sitesweep.cli import main

sys.exit(main())
