"""What a scan of a disk image adds to the bundle: ``image.json`` with a ``disk`` section.

The disk door (:mod:`sitesweep.door.disk`) records what the image is and holds
(:class:`~sitesweep.door.disk.DiskInfo`): its format and the files read, the partition table,
every volume with its filesystem, UUID and label, which one is the root and why, where the others
were placed, and why any was not scanned (each of those is also a coverage gap).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Dict

from sitesweep.door.disk import DiskDoor

__all__ = ["IMAGE_DOC", "disk_doc"]

IMAGE_DOC = "image.json"


def disk_doc(door: DiskDoor) -> Dict[str, Any]:
    """The ``image.json`` document of a disk image scan.

    ``kind`` is ``disk``; ``disk`` holds :class:`~sitesweep.door.disk.DiskInfo` field for field
    (``volumes`` a list of :class:`~sitesweep.door.disk.VolumeFacts`).
    """
    info = door.info
    return {
        "kind": "disk",
        "source": info.source,
        "name": info.source.rsplit("/", 1)[-1],
        "disk": {
            "format": info.format,
            "sniffed": info.sniffed,
            "files": list(info.files),
            "media_size": info.media_size,
            "partition_table": info.partition_table,
            "root": info.root,
            "root_reason": info.root_reason,
            "volumes": [asdict(v) for v in info.volumes],
            "acquisition": dict(info.acquisition),
        },
    }
