"""Developer-tool configuration that runs code: AI-assistant hooks, MCP servers, editor tasks that
run on folder open, git hooks, and package-index overrides, from every home and project tree.

The walk notes the file names (:data:`DEVTOOL_NAMES`); this module keeps those in the places the
tools read them (``.claude/settings.json``, ``.cursor/mcp.json``, ``.vscode/tasks.json``,
``.git/hooks/post-checkout`` ...) and reads what each would run. Commands, URLs and arguments are
redacted before they are recorded; environment variables are kept by name only. Nothing is run.
The check (:mod:`sitesweep.checks.devtools`) grades what they run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from sitesweep.errors import HostReadError
from sitesweep.hostfs import HostRoot
from sitesweep.model import Gap, GapReason, HostPath, StrEnum
from sitesweep.parsing import loads_json
from sitesweep.redact import redact_text, redact_url

AREA = "devtools"
READ_LIMIT = 2 << 20
"""Configuration files larger than this are gaps (``~/.claude.json`` can reach a few hundred KB)."""
MAX_ITEMS = 200
MAX_TEXT = 2000

GIT_HOOKS = frozenset(
    {
        "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
        "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout",
        "post-merge", "pre-push", "pre-receive", "update", "proc-receive", "post-receive",
        "post-update", "reference-transaction", "push-to-checkout", "pre-auto-gc",
        "post-rewrite", "sendemail-validate", "fsmonitor-watchman", "post-index-change",
    }
)  # fmt: skip
"""Hook names git runs from ``.git/hooks`` (the ``*.sample`` files git writes are not run)."""

DEVTOOL_NAMES = frozenset(
    {"settings.json", "settings.local.json", ".mcp.json", ".claude.json", "mcp.json",
     "hooks.json", "tasks.json", ".npmrc", "pip.conf", "pip.ini", *GIT_HOOKS}
)  # fmt: skip
"""File names the walk notes for this collector (filtered here by the directory holding them)."""


class ConfigKind(StrEnum):
    """Which tool's configuration a file is."""

    CLAUDE_SETTINGS = "claude-settings"
    GEMINI_SETTINGS = "gemini-settings"
    CURSOR_HOOKS = "cursor-hooks"
    MCP = "mcp-servers"
    VSCODE_TASKS = "vscode-tasks"
    GIT_HOOK = "git-hook"
    NPMRC = "npmrc"
    PIP_CONF = "pip-conf"


class ItemKind(StrEnum):
    """What one entry of a configuration does."""

    HOOK = "hook"
    MCP_SERVER = "mcp-server"
    TASK = "task"
    GIT_HOOK = "git-hook"
    STATUS_LINE = "status-line"
    REGISTRY = "registry"


@dataclass(frozen=True)
class ConfigItem:
    """One thing a configuration makes a tool run or fetch from.

    Attributes:
        kind: a hook, an MCP server, an editor task, a git hook, a registry.
        name: the event, server or task name.
        trigger: when it runs (``SessionStart``, ``folderOpen``, ``post-checkout``), if said.
        command: what it runs, redacted (program and arguments joined).
        url: the URL it reaches (an MCP server's, a registry's), redacted.
        env: names of the environment variables it sets (never their values).
        silent: an editor task that hides its terminal (``presentation.reveal`` never/silent,
            or ``echo`` off).
    """

    kind: ItemKind
    name: str
    trigger: Optional[str] = None
    command: Optional[str] = None
    url: Optional[str] = None
    env: Tuple[str, ...] = ()
    silent: bool = False


@dataclass(frozen=True)
class DevToolConfig:
    """A developer-tool configuration file and what it runs.

    Attributes:
        path: host path.
        kind: which tool reads it.
        sha256, size, mtime, uid: of the file.
        items: what it runs or fetches from (at most :data:`MAX_ITEMS`).
    """

    path: HostPath
    kind: ConfigKind
    sha256: str
    size: int
    mtime: float
    uid: int
    items: Tuple[ConfigItem, ...] = ()


def config_kind(path: str) -> Optional[ConfigKind]:
    """Which tool reads the file at ``path`` (by its name and the directory holding it)."""
    parts = path.split("/")
    name = parts[-1]
    parent = parts[-2] if len(parts) > 1 else ""
    grand = parts[-3] if len(parts) > 2 else ""
    if name in ("settings.json", "settings.local.json"):
        if parent == ".claude":
            return ConfigKind.CLAUDE_SETTINGS
        if parent == ".gemini":
            return ConfigKind.GEMINI_SETTINGS
        return None
    if name in (".mcp.json", ".claude.json") or (
        name == "mcp.json" and parent in (".cursor", ".vscode")
    ):
        return ConfigKind.MCP
    if name == "hooks.json" and parent == ".cursor":
        return ConfigKind.CURSOR_HOOKS
    if name == "tasks.json" and parent == ".vscode":
        return ConfigKind.VSCODE_TASKS
    if name in GIT_HOOKS and parent == "hooks" and grand == ".git":
        return ConfigKind.GIT_HOOK
    if name == ".npmrc":
        return ConfigKind.NPMRC
    if name in ("pip.conf", "pip.ini"):
        return ConfigKind.PIP_CONF
    return None


# --- JSON with comments (VS Code's tasks.json, settings) ---------------------------------------
_JSONC_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def loads_jsonc(text: str) -> Any:
    """Parse JSON that may hold ``//`` and ``/* */`` comments and trailing commas."""

    def keep(match: re.Match[str]) -> str:
        token = match.group(0)
        return token if token.startswith('"') else ""

    return loads_json(_JSONC_TOKEN.sub(keep, text))


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _command(program: Any, args: Any = None) -> Optional[str]:
    """Program and arguments joined (quoted where they hold spaces) and redacted."""
    words = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
    if not isinstance(program, str) and not words:
        return None
    quoted = " ".join(f'"{w}"' if (" " in w and not w.startswith('"')) else w for w in words)
    joined = f"{program} {quoted}".strip() if isinstance(program, str) else quoted
    return redact_text(joined)[:MAX_TEXT]


def _env_names(env: Any) -> Tuple[str, ...]:
    return tuple(sorted(k for k in env if isinstance(k, str)))[:50] if isinstance(env, dict) else ()


def _claude_hooks(data: Any) -> Iterator[ConfigItem]:
    """``{"hooks": {"Event": [{"matcher": m, "hooks": [{"type": "command", "command": c}]}]}}``
    (Claude Code, Gemini CLI, Cursor), and the helper commands settings run automatically."""
    hooks = data.get("hooks") if isinstance(data, dict) else None
    if isinstance(hooks, dict):
        for event, groups in hooks.items():
            for group in groups if isinstance(groups, list) else []:
                inner = group.get("hooks") if isinstance(group, dict) else None
                for hook in inner if isinstance(inner, list) else [group]:
                    command = _text(hook.get("command")) if isinstance(hook, dict) else None
                    if command:
                        yield ConfigItem(ItemKind.HOOK, str(event), str(event), _command(command))
    if isinstance(data, dict):
        for key in ("statusLine", "apiKeyHelper", "awsCredentialExport", "otelHeadersHelper"):
            value = data.get(key)
            command = _text(value.get("command")) if isinstance(value, dict) else _text(value)
            if command:
                yield ConfigItem(ItemKind.STATUS_LINE, key, "automatic", _command(command))


def _mcp_servers(data: Any) -> Iterator[ConfigItem]:
    """``mcpServers`` / ``servers`` maps, at the top and under ``projects.*`` (``.claude.json``)."""
    if not isinstance(data, dict):
        return
    maps = [data.get("mcpServers"), data.get("servers")]
    projects = data.get("projects")
    if isinstance(projects, dict):
        maps += [p.get("mcpServers") for p in projects.values() if isinstance(p, dict)]
    for servers in maps:
        if not isinstance(servers, dict):
            continue
        for name, server in servers.items():
            if not isinstance(server, dict):
                continue
            url = _text(server.get("url")) or _text(server.get("httpUrl"))
            yield ConfigItem(
                ItemKind.MCP_SERVER,
                str(name)[:200],
                "tool start",
                _command(server.get("command"), server.get("args")),
                redact_url(url) if url else None,
                _env_names(server.get("env")),
            )


def _tasks(data: Any) -> Iterator[ConfigItem]:
    """VS Code tasks: command, args and ``runOptions.runOn``."""
    tasks = data.get("tasks") if isinstance(data, dict) else None
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        options = task.get("runOptions")
        run_on = _text(options.get("runOn")) if isinstance(options, dict) else None
        command = _command(task.get("command"), task.get("args"))
        for os_key in ("linux", "osx", "windows"):
            variant = task.get(os_key)
            if command is None and isinstance(variant, dict):
                command = _command(variant.get("command"), variant.get("args"))
        label = _text(task.get("label")) or "task"
        shown = task.get("presentation")
        silent = isinstance(shown, dict) and (
            shown.get("reveal") in ("never", "silent") or shown.get("echo") is False
        )
        yield ConfigItem(ItemKind.TASK, label[:200], run_on or "manual", command, silent=silent)


def _ini_urls(text: str, keys: Sequence[str]) -> Iterator[Tuple[str, str]]:
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() in keys and value.strip():
            yield key.strip(), value.strip()


def _items(kind: ConfigKind, text: str) -> List[ConfigItem]:
    if kind is ConfigKind.GIT_HOOK:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        body = redact_text("\n".join(lines)[:MAX_TEXT])
        return [ConfigItem(ItemKind.GIT_HOOK, "git hook", None, body)]
    if kind is ConfigKind.NPMRC:
        pairs = _ini_urls(text, ("registry",)) if "registry" in text else iter(())
        extra = [(k, v) for k, v in _scoped_registries(text)]
        return [
            ConfigItem(ItemKind.REGISTRY, k, None, None, redact_url(v)) for k, v in [*pairs, *extra]
        ]
    if kind is ConfigKind.PIP_CONF:
        keys = ("index-url", "extra-index-url", "index_url", "extra_index_url")
        return [
            ConfigItem(ItemKind.REGISTRY, k, None, None, redact_url(v))
            for k, v in _ini_urls(text, keys)
        ]
    data = loads_jsonc(text) if kind is ConfigKind.VSCODE_TASKS else loads_json(text)
    if kind is ConfigKind.VSCODE_TASKS:
        return list(_tasks(data))
    if kind in (ConfigKind.CLAUDE_SETTINGS, ConfigKind.CURSOR_HOOKS):
        return [*_claude_hooks(data), *_mcp_servers(data)]
    if kind is ConfigKind.GEMINI_SETTINGS:
        return [*_claude_hooks(data), *_mcp_servers(data)]
    return list(_mcp_servers(data))


def _scoped_registries(text: str) -> Iterator[Tuple[str, str]]:
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().endswith(":registry") and value.strip():
            yield key.strip(), value.strip()


def collect_devtools(
    root: HostRoot, paths: Sequence[str]
) -> Tuple[Tuple[DevToolConfig, ...], Tuple[Gap, ...]]:
    """Read every noted file that a developer tool reads from where it is.

    Args:
        root: the scanned host.
        paths: host paths the walk noted by name (:data:`DEVTOOL_NAMES`).
    """
    found: List[DevToolConfig] = []
    gaps: List[Gap] = []
    for path in sorted(set(paths)):
        kind = config_kind(path)
        if kind is None:
            continue
        try:
            info = root.lstat(path)
            data = root.read_bytes(path, READ_LIMIT)
        except HostReadError as exc:
            gaps.append(Gap(AREA, HostPath(path), exc.reason, exc.detail))
            continue
        try:
            items = _items(kind, data.decode("utf-8", "replace"))
        except (ValueError, RecursionError, TypeError, AttributeError) as exc:
            detail = f"not readable as {kind}: {type(exc).__name__}"
            gaps.append(Gap(AREA, HostPath(path), GapReason.PARSE_ERROR, detail))
            items = []
        found.append(
            DevToolConfig(
                HostPath(path),
                kind,
                hashlib.sha256(data).hexdigest(),
                len(data),
                info.mtime,
                info.uid,
                tuple(items[:MAX_ITEMS]),
            )
        )
    return tuple(found), tuple(gaps)
