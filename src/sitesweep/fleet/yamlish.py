"""A small reader for the YAML subset inventories use: block mappings of plain or quoted scalars.

Not a YAML implementation: no sequences, anchors, flow collections or multi-line scalars; any of
those is reported as an error rather than guessed at.
"""

from __future__ import annotations

from typing import Dict, List, Tuple, Union

from sitesweep.fleet.hosts import HostListError

YamlValue = Union[str, None, "YamlMap"]
YamlMap = Dict[str, YamlValue]


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index].rstrip()
    return line.rstrip()


def _scalar(text: str, where: str) -> YamlValue:
    value = text.strip()
    if value in ("", "~", "null", "Null", "NULL", "{}"):
        return None
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if value[0] in "[{&*!|>-":
        raise HostListError(f"{where}: unsupported YAML construct {value!r}")
    return value


def _split_key(content: str, where: str) -> Tuple[str, str]:
    if content.startswith("- "):
        raise HostListError(f"{where}: YAML sequences are not supported in inventories")
    if content.endswith(":"):
        key, rest = content[:-1], ""
    elif ": " in content:
        key, rest = content.split(": ", 1)
    else:
        raise HostListError(f"{where}: expected 'key: value', got {content!r}")
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        key = key[1:-1]
    return key, rest


def parse_yaml(text: str, source: str = "<yaml>") -> YamlMap:
    """Parse block mappings into nested dicts of strings (``None`` for empty values).

    Raises:
        HostListError: indentation or construct outside the supported subset.
    """
    root: YamlMap = {}
    stack: List[Tuple[int, YamlMap]] = [(-1, root)]
    pending: Tuple[int, YamlMap, str] = (-1, root, "")
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise HostListError(f"{where}: tabs are not allowed in YAML indentation")
        line = _strip_comment(raw)
        content = line.strip()
        if not content or content in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip())
        parent_indent, parent_map, parent_key = pending
        if parent_key and indent > parent_indent:
            child: YamlMap = {}
            parent_map[parent_key] = child
            stack.append((indent, child))
        pending = (-1, root, "")
        while stack and indent < stack[-1][0]:
            stack.pop()
        if not stack or (indent != stack[-1][0] and stack[-1][0] != -1):
            raise HostListError(f"{where}: inconsistent indentation")
        if stack[-1][0] == -1:
            stack.append((indent, root))
        current = stack[-1][1]
        key, rest = _split_key(content, where)
        current[key] = _scalar(rest, where)
        if not rest.strip():
            pending = (indent, current, key)
    return root
