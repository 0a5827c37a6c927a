"""What expressions in startup code refer to: import aliases, dotted names reached through
``__import__``/``getattr``/``sys.modules``, calls that decode data, and the decoding of literal
payloads so that the grader can read what would be executed.

Everything here reads syntax trees or strings; nothing is imported or executed.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
from typing import Dict, List, Optional, Sequence, Tuple

from sitesweep.checks.pth_names import (
    BUILTIN_NAMESPACES,
    CODE_LOADERS,
    CODEC_NAMES,
    DECODERS,
    last_name,
    matches_name,
)

_MAX_CHAIN = 64


def str_value(node: Optional[ast.AST]) -> Optional[str]:
    """The value of a ``str`` or ``bytes`` literal (bytes as latin-1), else ``None``."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return node.value
        if isinstance(node.value, bytes):
            return node.value.decode("latin-1")
    return None


def printable(text: str) -> bool:
    """Whether ``text`` (its first 4 KiB) is at least 90% printable: decoded code, not noise."""
    if not text:
        return False
    good = sum(1 for ch in text[:4096] if ch.isprintable() or ch in "\n\r\t")
    return good >= 0.9 * min(len(text), 4096)


def decode_literal(terminal: str, codec: Optional[str], raw: str) -> Optional[str]:
    """Decode a literal the way a base64/hex/rot13 decoder would; ``None`` if it does not."""
    data: bytes
    try:
        if codec in ("rot13", "rot_13"):
            return codecs.decode(raw, "rot13")
        compact = "".join(raw.split())
        if DECODERS.get(terminal) == "base64" or codec in ("base64", "base_64", "base64_codec"):
            padded = compact + "=" * (-len(compact) % 4)
            altchars = b"-_" if terminal == "urlsafe_b64decode" else None
            data = base64.b64decode(padded, altchars=altchars)
        elif DECODERS.get(terminal) == "hex" or codec in ("hex", "hex_codec"):
            data = binascii.unhexlify(compact)
        elif DECODERS.get(terminal) == "base32":
            data = base64.b32decode(compact + "=" * (-len(compact) % 8))
        else:
            return None
    except (binascii.Error, ValueError, TypeError, LookupError):
        return None
    return data.decode("utf-8", "replace")


class NameResolver:
    """Resolves names in one piece of code to dotted names (``os.system``), following aliases.

    Attributes:
        aliases: local name to the dotted name it is bound to (imports and assignments).
        stars: modules imported with ``from module import *``.
        tainted: local name to the decoder whose output it holds (``base64``, ``zlib``...).
    """

    def __init__(self) -> None:
        self.aliases: Dict[str, str] = {}
        self.stars: List[str] = []
        self.tainted: Dict[str, str] = {}

    # -- names -----------------------------------------------------------------------------------
    def _collect_imports(self, node: ast.AST) -> None:
        """Record ``import x as y`` and ``from m import x [as y]`` / ``from m import *``."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    self.stars.append(node.module)
                else:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _collect_names(self, nodes: Sequence[ast.AST]) -> None:
        """Record import aliases, then names bound to modules or to decoded data (two passes)."""
        assigns: List[Tuple[str, ast.expr]] = []
        for node in nodes:
            self._collect_imports(node)
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is not None:
                    assigns.extend((name, node.value) for name in _target_names(targets))
        for _ in range(2):
            for name, value in assigns:
                resolved = self._resolve(_last_operand(value))
                if resolved and resolved != name and name not in self.aliases:
                    self.aliases[name] = resolved
                label = self._decoding_label(value)
                if label and name not in self.tainted:
                    self.tainted[name] = label

    def _resolve(self, node: ast.AST, depth: int = 0) -> Optional[str]:
        """Return the dotted name an expression refers to (``os.system``), or ``None``."""
        parts: List[str] = []
        current = node
        for _ in range(_MAX_CHAIN):
            if isinstance(current, ast.Attribute):
                parts.append(current.attr)
                current = current.value
                continue
            base = self._resolve_base(current, depth)
            if base is None:
                return None
            parts.append(base)
            dotted = ".".join(reversed(parts))
            for prefix in ("builtins.", "__builtins__.", "__builtin__."):
                if dotted.startswith(prefix) and dotted != prefix + "__dict__":
                    dotted = dotted[len(prefix) :]
            return dotted
        return None

    def _resolve_base(self, node: ast.AST, depth: int) -> Optional[str]:
        """The dotted name at the root of an attribute chain (a name, call or subscript)."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if depth > 20:
            return None
        if isinstance(node, ast.Call):
            return self._resolve_call(node, depth)
        if isinstance(node, ast.Subscript):
            key = str_value(node.slice)
            owner = self._resolve(node.value, depth + 1)
            if not key or not owner:
                return None
            if owner == "sys.modules" or owner in BUILTIN_NAMESPACES:
                return key
            if owner.endswith(".__dict__"):
                return f"{owner[: -len('.__dict__')]}.{key}"
        return None

    def _resolve_call(self, node: ast.Call, depth: int) -> Optional[str]:
        """What a call evaluates to, for calls that name a module or attribute literally."""
        func = self._resolve(node.func, depth + 1)
        first = str_value(node.args[0]) if node.args else None
        if func == "__import__" and first:
            return first if len(node.args) >= 4 else first.split(".")[0]
        if func == "importlib.import_module" and first:
            return first
        if func == "getattr" and len(node.args) >= 2:
            attr = str_value(node.args[1])
            obj = self._resolve(node.args[0], depth + 1)
            return f"{obj}.{attr}" if obj and attr else None
        if func in ("globals", "locals"):
            return "globals()"
        if func == "vars" and node.args:
            owner = self._resolve(node.args[0], depth + 1)
            return f"{owner}.__dict__" if owner else None
        return None

    def _candidates(self, dotted: str) -> List[str]:
        """``dotted`` itself and, for each star import, ``dotted`` below that module."""
        return [dotted, *(f"{module}.{dotted}" for module in self.stars)]

    # -- decoding --------------------------------------------------------------------------------
    def _decoder(self, call: ast.Call) -> Optional[Tuple[str, str, Optional[str]]]:
        """Return (label, terminal name, codec) if ``call`` decodes data."""
        dotted = self._resolve(call.func)
        if dotted is None and isinstance(call.func, ast.Attribute):
            dotted = call.func.attr
        if dotted is None:
            return None
        terminal = last_name(dotted)
        if matches_name(dotted, CODE_LOADERS):
            return dotted.split(".")[0].lstrip("_"), terminal, None
        if terminal in DECODERS:
            module = dotted.split(".")[0]
            label = module if module in ("lzma", "bz2", "gzip") else DECODERS[terminal]
            return label, terminal, None
        if terminal == "decode":
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                codec = (str_value(arg) or "").lower().replace("-", "_")
                if codec in CODEC_NAMES:
                    return codec, terminal, codec
        return None

    def _decoding_label(self, expr: ast.AST) -> Optional[str]:
        """The decoder whose output ``expr`` contains (a decoding call or a tainted name)."""
        for index, sub in enumerate(ast.walk(expr)):
            if index > 10_000:
                break
            if isinstance(sub, ast.Call):
                found = self._decoder(sub)
                if found:
                    return found[0]
            elif isinstance(sub, ast.Name) and sub.id in self.tainted:
                return self.tainted[sub.id]
        return None


def _target_names(targets: Sequence[ast.AST]) -> List[str]:
    """Every name bound by assignment targets (tuples and starred targets included)."""
    names: List[str] = []
    for target in targets:
        if isinstance(target, ast.Name):
            names.append(target.id)
        else:
            names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _last_operand(value: ast.expr) -> ast.expr:
    """The operand an ``a or b`` / ``b if c else d`` value most likely evaluates to."""
    if isinstance(value, ast.BoolOp) and value.values:
        return value.values[-1]
    if isinstance(value, ast.IfExp):
        return value.body
    return value
