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
_MAX_FOLD_DEPTH = 12
_MAX_FOLD_CHARS = 1 << 16
"""Constant expressions are folded to at most this many characters (names, short payloads)."""
_MAX_FOLD_ITEMS = 4096
_BUILTIN_PREFIXES = ("builtins.", "__builtins__.", "__builtin__.")


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
        self.constants: Dict[str, ast.expr] = {}
        """Names bound exactly once, to an expression that may fold to a constant string."""

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
        self._bind_constants(nodes)
        for _ in range(2):
            for name, value in assigns:
                resolved = self._resolve(_last_operand(value))
                if resolved and resolved != name and name not in self.aliases:
                    self.aliases[name] = resolved
                label = self._decoding_label(value)
                if label and name not in self.tainted:
                    self.tainted[name] = label

    def _bind_constants(self, nodes: Sequence[ast.AST]) -> None:
        """Record names bound exactly once by a plain ``name = value`` (candidates for folding)."""
        bound: Dict[str, int] = {}
        for node in nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for name in _target_names(targets):
                    bound[name] = bound.get(name, 0) + 1
                only = targets[0] if len(targets) == 1 else None
                if isinstance(only, ast.Name) and node.value is not None:
                    self.constants.setdefault(only.id, node.value)
            elif isinstance(node, (ast.For, ast.comprehension)):
                bound.update(dict.fromkeys(_target_names([node.target]), 2))  # loop variables
        for name in [name for name, count in bound.items() if count > 1]:
            self.constants.pop(name, None)

    def _resolve(self, node: ast.AST, depth: int = 0) -> Optional[str]:
        """Return the dotted name an expression refers to (``os.system``), or ``None``."""
        if type(node) is ast.Name:  # the most common case, answered as the loop below would
            dotted = self.aliases.get(node.id, node.id)
            if not dotted.startswith(_BUILTIN_PREFIXES):
                return dotted
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
            for prefix in _BUILTIN_PREFIXES:
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
            key = self.fold(node.slice)
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
        first = self.fold(node.args[0]) if node.args else None
        if func == "__import__" and first:
            return first if len(node.args) >= 4 else first.split(".")[0]
        if func == "importlib.import_module" and first:
            return first
        if func == "getattr" and len(node.args) >= 2:
            attr = self.fold(node.args[1])
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

    # -- constant folding ------------------------------------------------------------------------
    def fold(self, node: Optional[ast.AST]) -> Optional[str]:
        """The string a constant expression evaluates to, worked out from the tree, else ``None``.

        Covers how names such as ``exec`` are hidden: concatenation and repetition, f-strings of
        constants, ``[::-1]``, ``''.join(reversed(...))``, ``chr()`` of constant integers,
        ``bytes([...]).decode()``, ``bytes.fromhex``, base64/hex/rot13 decoding of a literal,
        ``.replace``/``.lower``/``.upper``/``.strip``, and names bound once to such a value.
        Nothing is evaluated: each form is computed here by its own small rule.
        """
        try:
            return self._fold(node, 0)
        except (ValueError, TypeError, OverflowError, RecursionError, UnicodeError):
            return None

    def folded_only(self, node: Optional[ast.AST]) -> Optional[str]:
        """:meth:`fold` of an expression that is not a plain literal (it was computed)."""
        if node is None or str_value(node) is not None:
            return None
        return self.fold(node)

    def _fold(self, node: Optional[ast.AST], depth: int) -> Optional[str]:
        if node is None or depth > _MAX_FOLD_DEPTH:
            return None
        literal = str_value(node)
        if literal is not None:
            return literal
        depth += 1
        result: Optional[str] = None
        if isinstance(node, ast.Name):
            bound = self.constants.get(node.id)
            result = self._fold(bound, depth) if bound is not None else None
        elif isinstance(node, ast.BinOp):
            result = self._fold_binop(node, depth)
        elif isinstance(node, ast.JoinedStr):
            parts = [
                self._fold(v.value if isinstance(v, ast.FormattedValue) else v, depth)
                for v in node.values
            ]
            result = None if any(p is None for p in parts) else "".join(p or "" for p in parts)
        elif isinstance(node, ast.Subscript):
            result = self._fold_reverse(node, depth)
        elif isinstance(node, ast.Call):
            result = self._fold_call(node, depth)
        if result is not None and len(result) > _MAX_FOLD_CHARS:
            return None
        return result

    def _fold_binop(self, node: ast.BinOp, depth: int) -> Optional[str]:
        if isinstance(node.op, ast.Add):
            left, right = self._fold(node.left, depth), self._fold(node.right, depth)
            return left + right if left is not None and right is not None else None
        if isinstance(node.op, ast.Mult):
            text = self._fold(node.left, depth)
            count = _fold_int(node.right, depth)
            if text is not None and count is not None and len(text) * count <= _MAX_FOLD_CHARS:
                return text * max(count, 0)
        return None

    def _fold_reverse(self, node: ast.Subscript, depth: int) -> Optional[str]:
        """``text[::-1]`` (and ``text[::1]``)."""
        cut = node.slice
        if not isinstance(cut, ast.Slice) or cut.lower is not None or cut.upper is not None:
            return None
        step = _fold_int(cut.step, depth) if cut.step is not None else 1
        text = self._fold(node.value, depth)
        if text is None or step not in (1, -1):
            return None
        return text[::step]

    def _fold_call(self, node: ast.Call, depth: int) -> Optional[str]:
        func = node.func
        args = node.args
        if isinstance(func, ast.Attribute) and self._resolve(func) != "codecs.decode":
            return self._fold_method(node, func, depth)
        name = self._resolve(func)
        if name == "chr" and len(args) == 1:
            code = _fold_int(args[0], depth)
            return chr(code) if code is not None else None
        if name == "str" and len(args) == 1:
            return self._fold(args[0], depth)
        if name == "codecs.decode" and len(args) == 2:
            text, codec = self._fold(args[0], depth), self._fold(args[1], depth)
            if text is not None and (codec or "").lower() in ("rot13", "rot_13", "rot-13"):
                return codecs.decode(text, "rot13")
        if name in ("bytes", "bytearray") and len(args) == 1:
            values = self._fold_ints(args[0], depth)
            return bytes(values).decode("latin-1") if values is not None else None
        return self._fold_decoder(node, depth)

    def _fold_decoder(self, node: ast.Call, depth: int) -> Optional[str]:
        """A base64/hex/... decoding call of a foldable literal."""
        found = self._decoder(node)
        if found and node.args:
            raw = self._fold(node.args[0], depth)
            if raw is not None:
                return decode_literal(found[1], found[2], raw)
        return None

    def _fold_method(self, node: ast.Call, func: ast.Attribute, depth: int) -> Optional[str]:
        """String methods of constants: ``join``, ``decode``, case changes, ``replace``."""
        args = node.args
        method = func.attr
        if method == "join" and len(args) == 1:
            sep = self._fold(func.value, depth)
            items = self._fold_items(args[0], depth)
            return sep.join(items) if sep is not None and items is not None else None
        if method == "decode":
            return self._fold_decode(node, depth)
        if method in ("lower", "upper", "strip", "lstrip", "rstrip", "swapcase") and not args:
            text = self._fold(func.value, depth)
            return str(getattr(text, method)()) if text is not None else None
        if method == "replace" and len(args) == 2:
            text, old, new = (self._fold(x, depth) for x in (func.value, *args))
            if text is None or old is None or new is None:
                return None
            return text.replace(old, new)
        return self._fold_decoder(node, depth)

    def _fold_decode(self, node: ast.Call, depth: int) -> Optional[str]:
        """``<bytes expression>.decode([codec])``: text from bytes the fold can compute."""
        assert isinstance(node.func, ast.Attribute)  # noqa: S101 - checked by the caller
        owner = node.func.value
        codec_node = node.args[0] if node.args else None
        codec = (self._fold(codec_node, depth) or "utf-8") if codec_node is not None else "utf-8"
        if codec.lower().replace("-", "_") in CODEC_NAMES:
            found = self._decoder(node)
            raw = self._fold(owner, depth)
            return decode_literal("decode", found[2], raw) if found and raw is not None else None
        if isinstance(owner, ast.Call) and self._resolve(owner.func) == "bytes.fromhex":
            raw = self._fold(owner.args[0], depth) if owner.args else None
            return decode_literal("fromhex", None, raw) if raw is not None else None
        data = self._fold(owner, depth)
        if data is None:
            return None
        return data.encode("latin-1").decode(codec, "replace")

    def _fold_items(self, node: ast.AST, depth: int) -> Optional[List[str]]:
        """The strings a ``join`` argument yields: a list/tuple of constants, ``reversed(text)``,
        ``map(chr, [ints])``, ``(chr(c) for c in [ints])``, or a constant string itself."""
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and len(node.elts) <= _MAX_FOLD_ITEMS:
            items = [self._fold(e, depth) for e in node.elts]
            return None if any(i is None for i in items) else [i or "" for i in items]
        if isinstance(node, ast.Call):
            name = self._resolve(node.func)
            if name in ("reversed", "list", "tuple") and len(node.args) == 1:
                inner = self._fold_items(node.args[0], depth)
                if inner is None:
                    return None
                return inner[::-1] if name == "reversed" else inner
            if name == "map" and len(node.args) == 2 and self._resolve(node.args[0]) == "chr":
                values = self._fold_ints(node.args[1], depth)
                return [chr(v) for v in values] if values is not None else None
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)) and len(node.generators) == 1:
            gen = node.generators[0]
            elt = node.elt
            if (
                isinstance(gen.target, ast.Name)
                and not gen.ifs
                and isinstance(elt, ast.Call)
                and self._resolve(elt.func) == "chr"
                and len(elt.args) == 1
                and isinstance(elt.args[0], ast.Name)
                and elt.args[0].id == gen.target.id
            ):
                values = self._fold_ints(gen.iter, depth)
                return [chr(v) for v in values] if values is not None else None
        text = self._fold(node, depth)
        return list(text) if text is not None else None

    def _fold_ints(self, node: ast.AST, depth: int) -> Optional[List[int]]:
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self._fold_ints(self.constants[node.id], depth + 1)
        if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) > _MAX_FOLD_CHARS:
            return None
        values = [_fold_int(e, depth) for e in node.elts]
        if any(v is None or not 0 <= v < 0x110000 for v in values):
            return None
        return [v for v in values if v is not None]

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


def _fold_int(node: Optional[ast.AST], depth: int) -> Optional[int]:
    """The value of a small constant integer expression (``100 + 1``, ``-3``, ``0x65``)."""
    if node is None or depth > _MAX_FOLD_DEPTH:
        return None
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value if abs(node.value) < 1 << 32 else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _fold_int(node.operand, depth + 1)
        return -value if value is not None else None
    if isinstance(node, ast.BinOp):
        left, right = _fold_int(node.left, depth + 1), _fold_int(node.right, depth + 1)
        if left is None or right is None:
            return None
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult) and abs(left * right) < 1 << 32:
            return left * right
        if isinstance(op, ast.BitXor):
            return left ^ right
        if isinstance(op, ast.FloorDiv) and right:
            return left // right
        if isinstance(op, ast.Mod) and right:
            return left % right
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
