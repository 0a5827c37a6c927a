"""Read Ansible inventories (INI and YAML) into hosts, without Ansible and without PyYAML.

Honoured: groups, ``children``, group ``vars`` and host vars (host vars win over group vars, a
child group's over its parent's, any group's over ``all``), numeric host ranges
(``web[01:03]``), ``ansible_host``, ``ansible_port``, ``ansible_user``, and the sitesweep
variables ``sitesweep_root`` (scan this mounted image or container fs on that host) and
``sitesweep_python`` (else ``ansible_python_interpreter``; always started with ``-I -S``). The
YAML reader knows block mappings and scalars, which is what inventories are made of.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from sitesweep.fleet.hosts import Host, HostListError
from sitesweep.fleet.yamlish import YamlMap, parse_yaml

_RANGE = re.compile(r"\[(\d+):(\d+)\]")
_SECTION = re.compile(r"^\[([^\]:]+)(?::(vars|children))?\]$")


@dataclass
class _Group:
    hosts: Dict[str, Dict[str, str]] = field(default_factory=dict)
    vars: Dict[str, str] = field(default_factory=dict)
    children: List[str] = field(default_factory=list)


def expand_range(pattern: str) -> List[str]:
    """Expand one numeric range ``web[01:03]`` into ``web01 web02 web03`` (zero-padding kept)."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    first, last = match.group(1), match.group(2)
    width = len(first) if first.startswith("0") else 0
    names = []
    for number in range(int(first), int(last) + 1):
        names.extend(
            expand_range(
                pattern[: match.start()] + str(number).zfill(width) + pattern[match.end() :]
            )
        )
    return names


def _ini_vars(tokens: List[str], where: str) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for token in tokens:
        if "=" not in token:
            raise HostListError(f"{where}: expected key=value, got {token!r}")
        key, value = token.split("=", 1)
        found[key] = value
    return found


def parse_ini(text: str, source: str = "<inventory>") -> Dict[str, _Group]:
    """Parse an INI inventory into groups."""
    groups: Dict[str, _Group] = {"all": _Group(), "ungrouped": _Group()}
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        where = f"{source}:{number}"
        header = _SECTION.match(line)
        if header is not None:
            section, kind = header.group(1), header.group(2) or "hosts"
            groups.setdefault(section, _Group())
            continue
        group = groups[section]
        if kind == "vars":
            group.vars.update(_ini_vars([line.replace(" = ", "=")], where))
        elif kind == "children":
            group.children.append(line.split()[0])
            groups.setdefault(line.split()[0], _Group())
        else:
            try:
                name, *rest = shlex.split(line, comments=True)
            except ValueError as exc:
                raise HostListError(f"{where}: {exc}") from exc
            host_vars = _ini_vars(rest, where)
            for host in expand_range(name):
                group.hosts.setdefault(host, {}).update(host_vars)
    return groups


def _scalar_map(value: object, where: str) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HostListError(f"{where}: expected a mapping")
    return {
        str(k): "" if v is None else str(v) for k, v in value.items() if not isinstance(v, dict)
    }


def _yaml_group(name: str, doc: YamlMap, groups: Dict[str, _Group], source: str) -> None:
    group = groups.setdefault(name, _Group())
    hosts = doc.get("hosts")
    for host, host_vars in (hosts or {}).items() if isinstance(hosts, dict) else ():
        for expanded in expand_range(str(host)):
            group.hosts.setdefault(expanded, {}).update(_scalar_map(host_vars, f"{source}:{host}"))
    group.vars.update(_scalar_map(doc.get("vars"), f"{source}:{name}:vars"))
    children = doc.get("children")
    for child, child_doc in (children or {}).items() if isinstance(children, dict) else ():
        group.children.append(str(child))
        _yaml_group(str(child), child_doc if isinstance(child_doc, dict) else {}, groups, source)


def parse_yaml_inventory(text: str, source: str = "<inventory>") -> Dict[str, _Group]:
    """Parse a YAML inventory into groups."""
    doc = parse_yaml(text, source)
    groups: Dict[str, _Group] = {"all": _Group(), "ungrouped": _Group()}
    for name, group_doc in doc.items():
        _yaml_group(str(name), group_doc if isinstance(group_doc, dict) else {}, groups, source)
    return groups


def _depths(groups: Dict[str, _Group]) -> Dict[str, int]:
    """Depth of every group below ``all`` (groups not reachable from it sit at depth 1)."""
    depth: Dict[str, int] = {"all": 0}
    frontier = ["all", *[g for g in groups if g != "all"]]
    for _ in range(len(groups) + 1):
        changed = False
        for name in frontier:
            for child in groups[name].children:
                wanted = depth.get(name, 1) + 1
                if child in groups and depth.get(child, 1) < wanted:
                    depth[child] = wanted
                    changed = True
        if not changed:
            break
    return {name: depth.get(name, 1) for name in groups}


def _members(groups: Dict[str, _Group], name: str, seen: Set[str]) -> Set[str]:
    if name in seen or name not in groups:
        return set()
    seen.add(name)
    found = set(groups[name].hosts)
    for child in groups[name].children:
        found |= _members(groups, child, seen)
    return found


def groups_to_hosts(groups: Dict[str, _Group], limit: Tuple[str, ...] = ()) -> Tuple[Host, ...]:
    """Resolve variables per host and build :class:`Host` records (optionally only ``limit``)."""
    depth = _depths(groups)
    order: List[str] = []
    for group in groups.values():
        order.extend(h for h in group.hosts if h not in order)
    membership = {name: _members(groups, name, set()) for name in groups}
    wanted: Optional[Set[str]] = None
    if limit:
        wanted = set()
        for item in limit:
            wanted |= membership.get(item, {item} if item in order else set())
    hosts = []
    for name in order:
        if wanted is not None and name not in wanted:
            continue
        merged: Dict[str, str] = dict(groups["all"].vars)
        for member_of in sorted(
            (g for g in groups if name in membership[g]), key=lambda g: depth[g]
        ):
            merged.update(groups[member_of].vars)
        for group in groups.values():
            merged.update(group.hosts.get(name, {}))
        hosts.append(_host(name, merged))
    return tuple(hosts)


def _host(name: str, host_vars: Dict[str, str]) -> Host:
    port = host_vars.get("ansible_port") or host_vars.get("ansible_ssh_port")
    if port is not None and not port.isdigit():
        raise HostListError(f"{name}: ansible_port is not a number: {port!r}")
    python = host_vars.get("sitesweep_python") or host_vars.get("ansible_python_interpreter")
    return Host(
        name=name,
        address=host_vars.get("ansible_host") or host_vars.get("ansible_ssh_host") or name,
        user=host_vars.get("ansible_user") or host_vars.get("ansible_ssh_user") or None,
        port=int(port) if port else None,
        root=host_vars.get("sitesweep_root") or None,
        python=python if python and not python.startswith("auto") else "python3",
    )


def read_inventory(path: Path, limit: Tuple[str, ...] = ()) -> Tuple[Host, ...]:
    """Read an Ansible inventory file (YAML by extension or content, else INI).

    Raises:
        HostListError: unreadable or malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HostListError(f"{path}: {exc}") from exc
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and ln[0] != "#"), "")
    is_yaml = path.suffix in (".yml", ".yaml") or first == "---" or first.endswith(":")
    groups = parse_yaml_inventory(text, str(path)) if is_yaml else parse_ini(text, str(path))
    return groups_to_hosts(groups, limit)
