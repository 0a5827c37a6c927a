"""The OS layer: which operating system a scanned tree holds, and what that OS says about itself.

An OS profile is tables plus a few parsers (``linux``, ``macos``, ``windows``); nothing outside this
package branches on the operating system except through a profile.
"""

from __future__ import annotations

from sitesweep.osprofile.model import KNOWN_OSES, OsFamily, OsInfo, PathStyle
from sitesweep.osprofile.paths import display_path

__all__ = ["KNOWN_OSES", "OsFamily", "OsInfo", "PathStyle", "display_path"]
