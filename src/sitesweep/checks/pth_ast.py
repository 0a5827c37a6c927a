"""The syntax-tree scan of startup code: :class:`Scanner` walks the tree ``ast.parse`` builds and
records what the code does (spawning processes, network use, decode-and-exec, file writes,
environment harvesting, dynamic imports), recursing into strings the code would execute.

``ast.parse`` only builds a syntax tree; nothing is compiled, imported or executed. When the text
cannot be parsed safely the scan falls back to the regex scan in ``pth_textscan``.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Dict, List, Optional, Tuple, Union

from sitesweep.checks.pth_findings import MAX_NESTED_DEPTH, Budget, Feature, Findings
from sitesweep.checks.pth_names import (
    BUILTIN_NAMESPACES,
    ENV_OBJECTS,
    ENV_SINGLE_KEY_ATTRS,
    EXEC_CALLS,
    FILE_WRITE_METHODS,
    FILE_WRITE_NAMES,
    OPEN_CALLS,
    REFERENCE_RULES,
    SENSITIVE_MODULES,
    last_name,
    matches_name,
)
from sitesweep.checks.pth_resolve import NameResolver, decode_literal, printable, str_value
from sitesweep.checks.pth_textscan import encoded_kind, network_in_text, text_hits, too_complex

C_FLAG = re.compile(r"-[A-Za-z]{0,4}c")
PYTHON_EXE = re.compile(r"(?:.*[/\\])?python[0-9.]{0,5}(?:\.exe)?", re.IGNORECASE)
_VISITED = frozenset(
    {ast.Call, ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.List, ast.Tuple}
)
"""The node types :meth:`Scanner._visit` looks at (a parsed tree holds no subclasses of them)."""
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)
_MAX_NODES = 100_000
"""Syntax trees bigger than this go to the text scan (real startup code is tiny)."""


class Scanner(NameResolver):
    """Grades one piece of Python text, recursing into the strings it would execute.

    Args:
        findings: where features and reasons are recorded.
        line: report every finding at this line (a ``.pth`` line or the line of an outer exec);
            ``None`` reports each node's own line.
        depth: how many executed strings deep this text is.
        context: prefix for reasons (``"string run by exec: "``).
        budget: decoded-payload characters left for the whole grading call.
    """

    def __init__(
        self,
        findings: Findings,
        *,
        budget: Budget,
        line: Optional[int] = None,
        depth: int = 0,
        context: str = "",
    ) -> None:
        super().__init__()
        self.findings = findings
        self.fixed_line = line
        self.depth = depth
        self.context = context
        self.budget = budget
        self.parents: Dict[int, ast.AST] = {}
        self.statements: Optional[int] = None

    # -- plumbing --------------------------------------------------------------------------------
    def _line(self, node: Optional[ast.AST] = None, physical: int = 1) -> int:
        """The line to report: the fixed line if any, else the node's, else ``physical``."""
        if self.fixed_line is not None:
            return self.fixed_line
        return int(getattr(node, "lineno", physical)) if node is not None else physical

    def add(self, feature: Optional[Feature], message: str, line: int) -> None:
        """Record ``message`` (with this scanner's context and the line) under ``feature``."""
        self.findings.add(feature, f"{self.context}{message} at line {line}")

    def scan(self, text: str) -> None:
        """Grade ``text``: from its syntax tree when it parses, else by a text scan."""
        tree: Optional[ast.Module] = None
        refusal = too_complex(text)
        if refusal:
            self.add(None, f"{refusal} to parse; graded by text scan", self._line())
        else:
            try:
                with warnings.catch_warnings():
                    # Invalid escapes and the like warn while parsing; they are not ours to report.
                    warnings.simplefilter("ignore")
                    tree = ast.parse(text)
            except _PARSE_ERRORS:
                self.add(None, "not valid Python; graded by text scan", self._line())
        if tree is None or not self.scan_tree(tree):
            self.scan_text(text)

    def scan_tree(self, tree: ast.Module) -> bool:
        """Grade a parsed tree; ``False`` (nothing graded) when it is too large to walk."""
        walked = walk_with_parents(tree, _MAX_NODES)
        if walked is None:
            self.add(None, "too large to analyse; graded by text scan", self._line())
            return False
        nodes, parents = walked
        self.statements = len(tree.body)
        self.parents.update(parents)
        self._collect_names(nodes)
        visited = _VISITED
        for node in nodes:
            if type(node) in visited:  # the others (contexts, operators, statements) do nothing
                self._visit(node)
        return True

    def _nested(self, text: str, line: int, what: str) -> Optional[Scanner]:
        """Scan ``text`` that this code would execute, one level deeper, up to the depth cap,
        with a scanner of this one's class; return it (``None`` past the cap)."""
        if self.depth >= MAX_NESTED_DEPTH:
            self.add(None, f"{what} nested too deep to follow", line)
            return None
        inner = type(self)(
            self.findings,
            budget=self.budget,
            line=line,
            depth=self.depth + 1,
            context=f"{self.context}{what}: ",
        )
        inner.scan(text)
        return inner

    def scan_text(self, text: str) -> None:
        """Grade ``text`` by the regex scan alone."""
        for feature, message, physical in text_hits(text):
            self.add(feature, message, self._line(physical=physical))

    # -- visiting --------------------------------------------------------------------------------
    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Call):
            self._visit_call(node)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            self._visit_reference(node)
        elif isinstance(node, ast.Subscript):
            owner = self._resolve(node.value)
            if owner in BUILTIN_NAMESPACES or owner == "sys.modules":
                self._check_computed_name(node.slice, f"lookup in {owner}", "", self._line(node))
        elif isinstance(node, ast.Constant):
            self._visit_constant(node)
        elif isinstance(node, (ast.List, ast.Tuple)):
            self._visit_argv(node)

    def _visit_reference(self, node: Union[ast.Name, ast.Attribute]) -> None:
        dotted = self._resolve(node)
        if dotted is None:
            return
        parent = self.parents.get(id(node))
        if dotted in ENV_OBJECTS:
            self._check_environ(node, parent, dotted)
        if isinstance(parent, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            return
        called = isinstance(parent, ast.Call) and parent.func is node
        line = self._line(node)
        self._check_reference(dotted, line, called)
        if dotted in EXEC_CALLS and not called:
            self.add(Feature.EXEC_DYNAMIC, f"{dotted} used other than by a direct call", line)
        if dotted == "__import__" and not called:
            self.add(Feature.DYNAMIC_IMPORT, "__import__ used other than by a direct call", line)

    def _check_reference(self, dotted: str, line: int, called: bool) -> None:
        if not called and last_name(dotted).isupper():
            return  # a constant such as socket.AF_INET or subprocess.PIPE does nothing by itself
        verb = "call to" if called else "reference to"
        for feature, names, terminals in REFERENCE_RULES:
            for candidate in self._candidates(dotted):
                if matches_name(candidate, names) or last_name(candidate) in terminals:
                    self.add(feature, f"{verb} {candidate}", line)
                    break

    def _check_environ(
        self, node: Union[ast.Name, ast.Attribute], parent: Optional[ast.AST], dotted: str
    ) -> None:
        if not isinstance(node.ctx, ast.Load) or _is_single_key_use(node, parent):
            return
        if isinstance(parent, ast.Attribute):
            what = f"{dotted}.{parent.attr}"
        else:
            what = f"{dotted} as a whole"
        self.add(Feature.ENV_HARVEST, f"reads {what}", self._line(node))

    def _visit_call(self, node: ast.Call) -> None:
        dotted = self._resolve(node.func)
        line = self._line(node)
        if dotted in EXEC_CALLS:
            self._check_exec(node, dotted or "exec", line)
        elif dotted in ("__import__", "importlib.import_module") and node.args:
            self._check_computed_name(node.args[0], dotted, "", line, Feature.DYNAMIC_IMPORT)
        elif dotted == "getattr" and len(node.args) >= 2:
            owner = self._resolve(node.args[0]) or ""
            if owner.split(".")[0] in SENSITIVE_MODULES or owner in BUILTIN_NAMESPACES:
                self._check_computed_name(node.args[1], f"getattr on {owner}", owner, line)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if dotted in OPEN_CALLS or (dotted is None and method == "open"):
            self._check_open(node, 1 if dotted in OPEN_CALLS else 0, line)
        if method in FILE_WRITE_METHODS and not (dotted and matches_name(dotted, FILE_WRITE_NAMES)):
            self.add(Feature.FILE_WRITE, f"call to .{method}()", line)
        if dotted and not isinstance(node.func, (ast.Name, ast.Attribute)):
            self._check_reference(dotted, line, called=True)

    def _check_computed_name(
        self,
        arg: ast.AST,
        where: str,
        owner: str,
        line: int,
        unresolved: Feature = Feature.EXEC_DYNAMIC,
    ) -> None:
        """Grade the name a lookup or import takes: built from pieces to hide a sensitive name
        (``'ex' + 'ec'``, ``''.join(reversed(...))``, ``bytes([...]).decode()``) is itself
        high; a name no fold can compute is ``unresolved`` (the code picks it at run time)."""
        if str_value(arg) is not None:
            return
        name = self.fold(arg)
        if name is None:
            what = "computed name" if unresolved is Feature.DYNAMIC_IMPORT else "computed lookup"
            self.add(unresolved, f"{where}: {what}", line)
            return
        dotted = f"{owner}.{name}" if owner and owner not in BUILTIN_NAMESPACES else name
        if _sensitive(dotted):
            self.add(Feature.OBFUSCATED_NAME, f"{where}: name {name!r} built from pieces", line)

    def _check_open(self, node: ast.Call, mode_index: int, line: int) -> None:
        mode_node = node.args[mode_index] if len(node.args) > mode_index else None
        for keyword in node.keywords:
            if keyword.arg == "mode":
                mode_node = keyword.value
        mode = str_value(mode_node)
        if mode and any(ch in mode for ch in "wax+"):
            self.add(Feature.FILE_WRITE, f"open(..., {mode!r})", line)

    def _check_exec(self, node: ast.Call, name: str, line: int) -> None:
        arg: Optional[ast.expr] = node.args[0] if node.args else None
        for keyword in node.keywords:
            if keyword.arg in ("source", "object") and arg is None:
                arg = keyword.value
        if arg is None:
            return
        literal = str_value(arg)
        if literal is not None:
            self._nested(literal, line, f"string run by {name}")
            return
        if isinstance(arg, ast.Call) and self._resolve(arg.func) == "compile":
            return  # graded as its own call
        label = self._decoding_label(arg)
        if label is None:
            built = self.fold(arg)
            if built is None:
                self.add(Feature.EXEC_DYNAMIC, f"{name} of a computed value", line)
                return
            self.add(Feature.DECODE_EXEC, f"{name} of a string built from pieces", line)
            self._nested(built, line, f"built string run by {name}")
            return
        self.add(Feature.DECODE_EXEC, f"{name} of {label}-decoded data", line)
        for what, payload in self._payloads(arg):
            self._nested(payload, line, what)

    def _payloads(self, expr: ast.AST) -> List[Tuple[str, str]]:
        out: List[Tuple[str, str]] = []
        for sub in ast.walk(expr):
            if not isinstance(sub, ast.Call) or not sub.args:
                continue
            found = self._decoder(sub)
            raw = str_value(sub.args[0])
            if not found or raw is None or len(raw) > self.budget.chars:
                continue
            text = decode_literal(found[1], found[2], raw)
            if text is not None and printable(text):
                self.budget.chars -= len(raw)
                out.append((f"{found[0]} payload", text))
        return out

    # -- literals --------------------------------------------------------------------------------
    def _visit_constant(self, node: ast.Constant) -> None:
        text = str_value(node)
        if text is None:
            return
        line = self._line(node)
        kind = encoded_kind(text)
        if kind:
            self.add(Feature.ENCODED_BLOB, f"{kind}-like string of {len(text)} characters", line)
        if isinstance(self.parents.get(id(node)), ast.Expr):
            return  # a docstring or bare string does nothing; URLs in prose are not network use
        network = network_in_text(text)
        if network:
            self.add(Feature.NETWORK, network, line)

    def _visit_argv(self, node: Union[ast.List, ast.Tuple]) -> None:
        elements = node.elts
        for index, element in enumerate(elements):
            flag = str_value(element)
            if flag is None or not C_FLAG.fullmatch(flag):
                continue
            line = self._line(node)
            interpreters = [self._argv_interpreter(e) for e in elements[:index]]
            named = next((i for i in interpreters if i), None)
            if named:
                self.add(Feature.SPAWN_PROCESS, f"{named} {flag} command line", line)
            code = str_value(elements[index + 1]) if index + 1 < len(elements) else None
            if code is not None:
                self._nested(code, line, f"{flag} code")
            return

    def _argv_interpreter(self, element: ast.expr) -> Optional[str]:
        if self._resolve(element) == "sys.executable":
            return "sys.executable"
        text = str_value(element)
        return text if text and PYTHON_EXE.fullmatch(text) else None


def _sensitive(dotted: str) -> bool:
    """Whether a name is worth hiding: exec and friends, process, network, import machinery."""
    for prefix in ("builtins.", "__builtins__.", "__builtin__."):
        if dotted.startswith(prefix):
            dotted = dotted[len(prefix) :]
    if dotted in EXEC_CALLS or dotted in ("__import__", "getattr", "open"):
        return True
    if dotted in SENSITIVE_MODULES or dotted in ("socket", "urllib.request", "base64", "zlib"):
        return True
    return any(
        matches_name(dotted, names) or last_name(dotted) in terminals
        for _, names, terminals in REFERENCE_RULES
    )


_SCALAR_FIELDS = frozenset(
    {
        ("Name", "id"), ("Attribute", "attr"), ("FunctionDef", "name"),
        ("AsyncFunctionDef", "name"), ("ClassDef", "name"), ("alias", "name"),
        ("alias", "asname"), ("arg", "arg"), ("keyword", "arg"), ("ImportFrom", "module"),
        ("ImportFrom", "level"), ("Global", "names"), ("Nonlocal", "names"),
        ("ExceptHandler", "name"), ("comprehension", "is_async"), ("FormattedValue", "conversion"),
        ("Constant", "value"), ("Constant", "kind"), ("MatchSingleton", "value"),
        ("MatchAs", "name"), ("MatchStar", "name"), ("MatchMapping", "rest"),
        ("MatchClass", "kwd_attrs"), ("FunctionDef", "type_comment"),
        ("AsyncFunctionDef", "type_comment"), ("Assign", "type_comment"), ("For", "type_comment"),
        ("AsyncFor", "type_comment"), ("With", "type_comment"), ("AsyncWith", "type_comment"),
        ("arg", "type_comment"), ("TypeIgnore", "lineno"), ("TypeIgnore", "tag"),
        ("TypeVar", "name"), ("ParamSpec", "name"), ("TypeVarTuple", "name"),
    }
)  # fmt: skip
"""(node class, field) pairs the grammar types as a name, number, string or constant, never a
node: :func:`child_nodes` does not look at them."""
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _child_fields(cls: type) -> Tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        names: Tuple[str, ...] = getattr(cls, "_fields", ())
        fields = tuple(f for f in names if (cls.__name__, f) not in _SCALAR_FIELDS)
        _CHILD_FIELDS[cls] = fields
    return fields


def child_nodes(node: ast.AST) -> List[ast.AST]:
    """``list(ast.iter_child_nodes(node))``, in the same order, faster: the fields that cannot
    hold a node (:data:`_SCALAR_FIELDS`) are not looked at."""
    out: List[ast.AST] = []
    fields = _CHILD_FIELDS.get(type(node))
    for name in _child_fields(type(node)) if fields is None else fields:
        value = getattr(node, name, None)
        if type(value) is list:
            out.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


def walk(tree: ast.AST) -> List[ast.AST]:
    """Every node of ``tree`` in the order of ``ast.walk`` (breadth first), faster (the fields of
    :data:`_SCALAR_FIELDS` are not looked at)."""
    nodes = [tree]
    add = nodes.append
    known = _CHILD_FIELDS.get
    node_type = ast.AST
    for node in nodes:  # the list grows while it is read: each node's children are queued
        fields = known(type(node))
        for name in _child_fields(type(node)) if fields is None else fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        add(item)
            elif isinstance(value, node_type):
                add(value)
    return nodes


def walk_with_parents(
    tree: ast.AST, limit: int
) -> Optional[Tuple[List[ast.AST], Dict[int, ast.AST]]]:
    """Every node of ``tree`` in the order of ``ast.walk``, and each node's parent by ``id`` (the
    last one listed for a node shared, such as ``ast.Load()``); ``None`` if there are more than
    ``limit`` nodes (the walk stops there)."""
    nodes = [tree]
    add = nodes.append
    parents: Dict[int, ast.AST] = {}
    known = _CHILD_FIELDS.get
    node_type = ast.AST
    for node in nodes:
        fields = known(type(node))
        for name in _child_fields(type(node)) if fields is None else fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        add(item)
                        parents[id(item)] = node
            elif isinstance(value, node_type):
                add(value)
                parents[id(value)] = node
        if len(nodes) > limit:
            return None
    return nodes, parents


def _is_single_key_use(node: ast.expr, parent: Optional[ast.AST]) -> bool:
    """Whether ``os.environ`` is used for one key (``.get``, ``[k]``, ``k in``, ``env=``)."""
    if isinstance(parent, ast.Attribute):
        return parent.attr in ENV_SINGLE_KEY_ATTRS
    if isinstance(parent, ast.Subscript):
        return parent.value is node
    if isinstance(parent, ast.Compare):
        return all(isinstance(op, (ast.In, ast.NotIn)) for op in parent.ops)
    return isinstance(parent, ast.keyword) and parent.arg == "env"
