"""Persistence files as macOS and Windows write them: launchd plists, login-item archives,
Windows shortcuts (MS-SHLLINK) and Task Scheduler XML; and :func:`worst`, a path's grade.

Each writer produces the real format (plistlib for plists, the documented binary layout for
``.lnk``, UTF-16 with a BOM for tasks), so the scanner's parsers are tested on what they will meet.
"""

from __future__ import annotations

import plistlib
import struct
import uuid
from typing import Any, Dict, Mapping, Optional, Sequence
from xml.sax.saxutils import escape

from sitesweep.model import Finding, Severity


def worst(findings: Sequence[Finding], path: str) -> Severity:
    """The highest severity of the findings naming ``path`` (info when none does)."""
    hits = [f.severity for f in findings if path in f.paths]
    return max(hits, key=lambda s: s.rank) if hits else Severity.INFO


# -- macOS -----------------------------------------------------------------------------------------


def launchd_plist(
    label: str,
    argv: Sequence[str],
    *,
    binary: bool = False,
    run_at_load: bool = True,
    keep_alive: bool = False,
    environment: Optional[Mapping[str, str]] = None,
    program: Optional[str] = None,
) -> bytes:
    """A launchd job property list (``binary``: the ``bplist00`` format launchctl leaves)."""
    doc: Dict[str, Any] = {"Label": label, "ProgramArguments": list(argv)}
    if program:
        doc["Program"] = program
    if run_at_load:
        doc["RunAtLoad"] = True
    if keep_alive:
        doc["KeepAlive"] = True
    if environment:
        doc["EnvironmentVariables"] = dict(environment)
    fmt = plistlib.FMT_BINARY if binary else plistlib.FMT_XML
    return plistlib.dumps(doc, fmt=fmt)


def login_items_archive(apps: Sequence[str]) -> bytes:
    """A ``backgrounditems.btm`` store: an NSKeyedArchiver binary plist naming each app's URL."""
    objects: list[Any] = ["$null"]
    items = []
    for app in apps:
        objects.append(f"file://{app.replace(' ', '%20')}/")
        url = plistlib.UID(len(objects) - 1)
        objects.append({"NS.relative": url, "$class": plistlib.UID(0)})
        items.append(plistlib.UID(len(objects) - 1))
    objects.append({"NS.objects": items, "$class": plistlib.UID(0)})
    archive = {
        "$archiver": "NSKeyedArchiver",
        "$version": 100000,
        "$top": {"root": plistlib.UID(len(objects) - 1)},
        "$objects": objects,
    }
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


# -- Windows shortcuts (MS-SHLLINK) ----------------------------------------------------------------

SHELL_LINK_CLSID = uuid.UUID("00021401-0000-0000-c000-000000000046").bytes_le
MY_COMPUTER_CLSID = uuid.UUID("20d04fe0-3aea-1069-a2d8-08002b30309d").bytes_le
FILETIME_2026 = 134_190_000_000_000_000  # 100 ns ticks since 1601 (early 2026)

HAS_ID_LIST, HAS_LINK_INFO, HAS_NAME = 0x01, 0x02, 0x04
HAS_WORKING_DIR, HAS_ARGUMENTS, IS_UNICODE = 0x10, 0x20, 0x80


def _id_list(target: str) -> bytes:
    """LinkTargetIDList: My Computer, then the drive (enough for a reader to follow)."""
    root = struct.pack("<H", 20) + b"\x1f\x50" + MY_COMPUTER_CLSID
    drive_name = target[:3].encode("ascii")
    drive = struct.pack("<H", 25) + b"\x2f" + drive_name + b"\x00" * (22 - len(drive_name))
    items = root + drive + b"\x00\x00"
    return struct.pack("<H", len(items)) + items


def _link_info(target: str) -> bytes:
    """LinkInfo with a VolumeID (fixed drive) and the target as LocalBasePath."""
    label = b"\x00"
    volume = struct.pack("<IIII", 16 + len(label), 3, 0x1234ABCD, 16) + label
    base = target.encode("cp1252") + b"\x00"
    suffix = b"\x00"
    header = 0x1C
    volume_at = header
    base_at = volume_at + len(volume)
    suffix_at = base_at + len(base)
    size = suffix_at + len(suffix)
    fields = struct.pack("<IIIIIII", size, header, 0x1, volume_at, base_at, 0, suffix_at)
    return fields + volume + base + suffix


def _string(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return struct.pack("<H", len(data) // 2) + data


def shortcut(
    target: str,
    arguments: str = "",
    working_dir: str = "",
    description: str = "",
) -> bytes:
    """A Windows shortcut to ``target`` (``C:\\...``): header, IDList, LinkInfo, StringData."""
    flags = HAS_ID_LIST | HAS_LINK_INFO | IS_UNICODE
    strings = b""
    if description:
        flags |= HAS_NAME
        strings += _string(description)
    if working_dir:
        flags |= HAS_WORKING_DIR
        strings += _string(working_dir)
    if arguments:
        flags |= HAS_ARGUMENTS
        strings += _string(arguments)
    header = struct.pack(
        "<I16sIIQQQIIIHHII",
        0x4C,
        SHELL_LINK_CLSID,
        flags,
        0x20,  # FILE_ATTRIBUTE_ARCHIVE
        FILETIME_2026,
        FILETIME_2026,
        FILETIME_2026,
        0,
        0,
        1,  # SW_SHOWNORMAL
        0,
        0,
        0,
        0,
    )
    return header + _id_list(target) + _link_info(target) + strings + b"\x00\x00\x00\x00"


# -- Windows scheduled tasks -----------------------------------------------------------------------


def task_xml(
    uri: str,
    command: str,
    arguments: str = "",
    *,
    description: str = "",
    triggers: Sequence[str] = ("LogonTrigger",),
    user_id: str = "S-1-5-21-1004336348-1177238915-682003330-1001",
    hidden: bool = False,
) -> bytes:
    """A task as Task Scheduler stores it under ``Windows\\System32\\Tasks``: UTF-16 LE, BOM."""
    trigger_xml = "".join(
        f"    <{t}>\r\n      <Enabled>true</Enabled>\r\n    </{t}>\r\n" for t in triggers
    )
    args = f"      <Arguments>{escape(arguments)}</Arguments>\r\n" if arguments else ""
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>\r\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n'
        "  <RegistrationInfo>\r\n"
        "    <Date>2026-03-24T11:02:13.1234567</Date>\r\n"
        "    <Author>DESKTOP-7QK2M1\\alice</Author>\r\n"
        f"    <Description>{escape(description)}</Description>\r\n"
        f"    <URI>{escape(uri)}</URI>\r\n"
        "  </RegistrationInfo>\r\n"
        f"  <Triggers>\r\n{trigger_xml}  </Triggers>\r\n"
        '  <Principals>\r\n    <Principal id="Author">\r\n'
        f"      <UserId>{escape(user_id)}</UserId>\r\n"
        "      <LogonType>InteractiveToken</LogonType>\r\n"
        "      <RunLevel>LeastPrivilege</RunLevel>\r\n"
        "    </Principal>\r\n  </Principals>\r\n"
        "  <Settings>\r\n"
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\r\n"
        f"    <Hidden>{'true' if hidden else 'false'}</Hidden>\r\n"
        "    <Enabled>true</Enabled>\r\n"
        "  </Settings>\r\n"
        '  <Actions Context="Author">\r\n    <Exec>\r\n'
        f"      <Command>{escape(command)}</Command>\r\n{args}"
        "    </Exec>\r\n  </Actions>\r\n"
        "</Task>\r\n"
    )
    return b"\xff\xfe" + text.encode("utf-16-le")
