"""What a module does when it is imported, read from its syntax tree (never imported).

The ``.pth`` grader's :class:`~sitesweep.checks.pth_ast.Scanner` does the reading; this module
only chooses the nodes that run at import (module-level statements, class bodies, and the
functions that code calls or hands to a thread or ``atexit``), keeps URL literals apart from
network use, and adds the traits the ``.pth`` grader does not look for: native libraries loaded
from beside the module, and writes into startup locations.

The collector (:mod:`sitesweep.metadata.importtime`) calls :func:`module_traits` and stores the
traits as observations; the check (:mod:`sitesweep.checks.importtime`) grades their combination.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple, Union

from sitesweep.checks.pth_ast import Scanner, child_nodes, walk
from sitesweep.checks.pth_findings import (
    MAX_INPUT_CHARS,
    Budget,
    Feature,
    Findings,
)
from sitesweep.checks.pth_names import matches_name
from sitesweep.checks.pth_resolve import NameResolver, str_value
from sitesweep.checks.pth_textscan import FETCHER, network_in_text
from sitesweep.metadata.alternation import AlternationSearch

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
FuncDef = Union[ast.FunctionDef, ast.AsyncFunctionDef]

NATIVE_LOADERS = frozenset(
    {
        "ctypes.CDLL",
        "ctypes.PyDLL",
        "ctypes.WinDLL",
        "ctypes.OleDLL",
        "ctypes.cdll.LoadLibrary",
        "ctypes.windll.LoadLibrary",
        "ctypes.pydll.LoadLibrary",
        "ctypes.LibraryLoader",
        "_ctypes.dlopen",
        "_ctypes.LoadLibrary",
    }
)
"""Calls that load a native library by path."""

STARTUP_LOCATIONS = re.compile(
    r"\.pth\b|sitecustomize|usercustomize|\.bashrc|\.bash_profile|\.zshrc|\.zprofile|"
    r"\.profile\b|\.config/autostart|systemd/(?:user|system)|LaunchAgents|LaunchDaemons|"
    r"crontab|/etc/cron|/etc/rc\.local|Start Menu|CurrentVersion\\+Run|site-packages",
    re.IGNORECASE,
)
"""Places where a written file runs later: another environment, a shell profile, a service."""

TRIGGERS = re.compile(
    rb"\bexec\b|\beval\b|\bcompile\b|__import__|builtins|subprocess|\bsystem\(|\.system\b|"
    rb"popen|Popen|spawn|\bfork|socket|urlopen|urlretrieve|urllib|requests\.|http\.client|httpx|aiohttp|"
    rb"ctypes|cffi|dlopen|multiprocessing|ProcessPool|b64decode|b32decode|b16decode|unhexlify|"
    rb"decompress|marshal|pickle|runpy|import_module|\.pth\b|sitecustomize|usercustomize|"
    rb"\.bashrc|\.profile|\.zshrc|systemd|LaunchAgents|LaunchDaemons|crontab|CurrentVersion|"
    rb"\bgetattr\("
)
"""Module text without any of these words has no trait; it is only searched for imports."""
_TRIGGERED = AlternationSearch.of(TRIGGERS)
"""``TRIGGERS.search(data) is not None``, about three times faster (literals found by ``in``)."""
_IMPORT_LINE = re.compile(
    rb"^[ \t]{0,8}(?:from[ \t]+([.\w]+)[ \t]+import[ \t]+\(?([\w, \t]+)|import[ \t]+([\w.]+))",
    re.MULTILINE,
)
"""An import statement (approximately: for text not worth parsing, only to follow imports)."""


DESERIALISERS = (
    "pickle.loads",
    "pickle.load",
    "_pickle.loads",
    "_pickle.load",
    "cPickle.loads",
    "cPickle.load",
    "dill.loads",
    "dill.load",
    "cloudpickle.loads",
    "cloudpickle.load",
)
"""Unpicklers: they run code only through what the pickled data names, so what they are handed
decides the grade (``marshal`` loads code objects and stays hidden code whatever its input)."""


class ImportScanner(Scanner):
    """The ``.pth`` scanner with URL literals recorded apart (a ``__url__`` is no download), and
    unpickling graded by what is unpickled: data embedded in the module or decoded from a blob is
    hidden code; data the program reads at run time (a worker's pipe or queue, as anyio's
    process and interpreter workers do) is deserialisation, worth a low note on its own and
    "runs code" beside a network fetch. Strings the code would run are scanned the same way."""

    def __init__(
        self,
        findings: Findings,
        *,
        budget: Budget,
        line: Optional[int] = None,
        depth: int = 0,
        context: str = "",
    ) -> None:
        super().__init__(findings, budget=budget, line=line, depth=depth, context=context)
        self.startup_names: List[str] = []

    def _nested(self, text: str, line: int, what: str) -> Optional[Scanner]:
        inner = super()._nested(text, line, what)
        if isinstance(inner, ImportScanner):
            self.startup_names.extend(inner.startup_names)
        return inner

    def _visit_reference(self, node: Union[ast.Name, ast.Attribute]) -> None:
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            dotted = self._resolve(node)
            if dotted is not None:
                for candidate in self._candidates(dotted):
                    if matches_name(candidate, DESERIALISERS):
                        self._check_unpickle(parent, candidate)
                        return
        super()._visit_reference(node)

    def _check_unpickle(self, call: ast.Call, name: str) -> None:
        line = self._line(call)
        arg: Optional[ast.expr] = call.args[0] if call.args else None
        for keyword in call.keywords:
            if keyword.arg in ("data", "file") and arg is None:
                arg = keyword.value
        if arg is None:
            self.add(Feature.EXEC_DYNAMIC, f"call to {name}", line)
            return
        if str_value(arg) is not None or self.folded_only(arg) is not None:
            self.add(Feature.DECODE_EXEC, f"call to {name} of data embedded in the code", line)
            return
        label = self._decoding_label(arg)
        if label is not None:
            self.add(Feature.DECODE_EXEC, f"call to {name} of {label}-decoded data", line)
            return
        self.add(
            Feature.EXEC_DYNAMIC, f"call to {name} of data read at run time (unpickling)", line
        )

    def _check_reference(self, dotted: str, line: int, called: bool) -> None:
        """At import a name only mentioned (an exception class, ``urllib3.__version__``) does
        nothing: only calls count."""
        if called:
            super()._check_reference(dotted, line, called)

    def _visit_constant(self, node: ast.Constant) -> None:
        text = str_value(node)
        if text is None:
            return
        if isinstance(self.parents.get(id(node)), ast.Expr):
            return
        fetcher = FETCHER.search(text)
        if fetcher:  # a fetcher on a command line (curl, wget, /dev/tcp) is network use
            self.add(Feature.NETWORK, f"{fetcher.group(0)!r} in a string", self._line(node))
        network = network_in_text(text)
        if network:  # a URL alone is not: packages name their homepages
            self.add(Feature.URL_LITERAL, network, self._line(node))
        if STARTUP_LOCATIONS.search(text):
            self.add(None, f"names startup location {text[:80]!r}", self._line(node))
            self.startup_names.append(text[:200])


@dataclass(frozen=True)
class Traits:
    """What a module's import-time code does.

    Attributes:
        features: the grader's features, sorted.
        reasons: one sentence per behaviour, with its line.
        native_loads: library names or paths handed to a native loader (ctypes, cffi).
        startup_writes: startup locations named by code that also writes files.
        imports: same-package modules imported at import time (dotted, relative to the site).
        parsed: whether the text was parsed (``False``: skipped, no trigger word in it).
        text_only: the text does not parse (so it cannot be imported); traits are text hits.
    """

    features: Tuple[str, ...] = ()
    reasons: Tuple[str, ...] = ()
    native_loads: Tuple[str, ...] = ()
    startup_writes: Tuple[str, ...] = ()
    imports: Tuple[str, ...] = ()
    parsed: bool = False
    text_only: bool = False


def _definitions(tree: ast.Module) -> Dict[str, List[FuncDef]]:
    """Functions defined at module level (also inside top-level ``if``/``try``) and methods."""
    defs: Dict[str, List[FuncDef]] = {}
    stack: List[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, _FUNCS):
            defs.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.ClassDef, ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for name in ("body", "orelse", "finalbody"):
                stack.extend(getattr(node, name, ()))
            stack.extend(h for handler in getattr(node, "handlers", ()) for h in handler.body)
    return defs


def import_time_nodes(
    tree: ast.Module, entries: Iterable[str] = ()
) -> Tuple[List[ast.AST], Set[str]]:
    """Every node that runs when ``tree`` is imported (plus the bodies of ``entries``), and the
    names of the functions reached.

    Function bodies run only when something reaches them: a module-level call, a thread or
    ``atexit`` target, a decorator; any reference to a function's name from code that runs
    counts as reaching it. Lambda bodies count as running (a thread target runs them).
    """
    return _import_time_nodes(tree, entries, _definitions(tree), not name_rebound(tree))


def _import_time_nodes(
    tree: ast.Module, entries: Iterable[str], defs: Dict[str, List[FuncDef]], guards: bool
) -> Tuple[List[ast.AST], Set[str]]:
    """:func:`import_time_nodes` given the module's :func:`_definitions` and whether
    ``__main__`` guards hold (the module does not rebind its ``__name__``)."""
    out: List[ast.AST] = []
    reached: Set[str] = set()
    queue: List[ast.AST] = [tree]

    def reach(name: str) -> None:
        if name in defs and name not in reached:
            reached.add(name)
            for func in defs[name]:
                queue.extend(func.body)

    for name in entries:
        reach(name)
    while queue:
        node = queue.pop()
        out.append(node)
        if isinstance(node, ast.Name):
            reach(node.id)
        if guards and isinstance(node, ast.If) and is_main_guard(node):  # test, else run
            queue.append(node.test)
            queue.extend(node.orelse)
            continue
        for child in child_nodes(node):
            if isinstance(child, _FUNCS):
                queue.extend(child.decorator_list)
                queue.extend(d for d in (*child.args.defaults, *child.args.kw_defaults) if d)
            else:  # lambdas included: a thread or atexit target runs them
                queue.append(child)
    return out, reached


def name_rebound(tree: ast.Module) -> bool:
    """Whether the module may change its own ``__name__`` (assigns it, declares it ``global``,
    or names it in a string: ``globals()['__name__']``), so that a ``__main__`` guard could run
    at import after all."""
    return any(_rebinds_name(node) for node in walk(tree) if type(node) in _NAMING)


_NAMING = frozenset({ast.Name, ast.Global, ast.Constant, ast.alias})
"""The node types :func:`_rebinds_name` looks at."""


def _rebinds_name(node: ast.AST) -> bool:
    return (
        (isinstance(node, ast.Name) and node.id == "__name__"
         and not isinstance(node.ctx, ast.Load))
        or (isinstance(node, ast.Global) and "__name__" in node.names)
        or (isinstance(node, ast.Constant) and node.value == "__name__")
        or (isinstance(node, ast.alias) and (node.asname or node.name) == "__name__")
    )  # fmt: skip


def is_main_guard(node: ast.AST) -> bool:
    """Whether ``node`` is ``if __name__ == "__main__":`` (either operand order).

    Its body runs when the module is run as a script (``python -m``), never when it is
    imported: a module imported by name has that name as ``__name__``. Starting it as a script
    from import-time code is a process spawn, graded where it is.
    """
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = (test.left, test.comparators[0])
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if str_value(s) == "__main__"]
    return len(names) == 1 and len(mains) == 1


def prune(tree: ast.Module, entries: Iterable[str] = ()) -> Tuple[ast.Module, List[ast.AST]]:
    """``tree`` with the bodies of functions nothing reaches at import, and of
    ``if __name__ == "__main__":`` blocks, replaced by ``pass`` (mutated in place), and the
    nodes that run.

    The tree is walked once for both (the ``__name__`` rebindings and the ``if`` statements);
    the ``__main__`` guards are those of the pruned tree, which rebinds ``__name__`` only if the
    whole tree does and the rebinding is not in a function body pruned away.
    """
    defs = _definitions(tree)
    every = walk(tree)
    tests = [node for node in every if isinstance(node, ast.If)]
    rebound = any(_rebinds_name(node) for node in every if type(node) in _NAMING)
    nodes, reached = _import_time_nodes(tree, entries, defs, not rebound)
    cut = [f for fs in defs.values() for f in fs if f.name not in reached]
    for func in cut:
        func.body = [ast.Pass(lineno=func.lineno, col_offset=0)]
    if not rebound or (cut and not name_rebound(tree)):  # nothing cut: the same tree
        # an ``if`` cut off with a pruned function body is mutated too: nothing reads it
        for node in tests:
            if is_main_guard(node):
                node.body = [ast.Pass(lineno=node.lineno, col_offset=0)]
    return tree, nodes


def same_package_imports(nodes: Iterable[ast.AST], module: str, is_package: bool) -> List[str]:
    """Dotted names of same-package modules imported by ``nodes`` (the code that runs).

    Args:
        nodes: what runs at import (:func:`import_time_nodes`).
        module: the module's dotted name (``pkg`` for ``pkg/__init__.py``).
        is_package: whether it is a package's ``__init__``.
    """
    top = module.split(".")[0]
    base = module if is_package else module.rpartition(".")[0]
    found: List[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == top]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".") if base else []
                if node.level > 1:
                    parts = parts[: len(parts) - (node.level - 1)]
                if not parts:
                    continue
                anchor = ".".join(parts)
            elif node.module and node.module.split(".")[0] == top:
                anchor = ""
            else:
                continue
            target = ".".join(p for p in (anchor, node.module or "") if p)
            found.append(target)
            found += [f"{target}.{a.name}" for a in node.names if a.name != "*"]
    return list(dict.fromkeys(n for n in found if n != module))


def _native_loads(resolver: NameResolver, nodes: Iterable[ast.AST]) -> List[str]:
    """What native loaders are handed: literal names, or ``beside the module`` for paths built
    from ``__file__``."""
    loads: List[str] = []
    for node in nodes:
        if not isinstance(node, ast.Call):
            continue
        dotted = resolver._resolve(node.func) or ""
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if dotted not in NATIVE_LOADERS and method not in ("dlopen", "LoadLibrary"):
            continue
        names = [v for a in ast.walk(node) if (v := str_value(a))]
        beside = any(isinstance(a, ast.Name) and a.id == "__file__" for a in ast.walk(node))
        label = next((n for n in names if "." in n), None) or (names[0] if names else "")
        if beside:
            label = f"{label} beside the module" if label else "a file beside the module"
        loads.append(label or f"{dotted or method} of a computed path")
    return loads


def _text_imports(data: bytes, module: str, is_package: bool) -> Tuple[str, ...]:
    """Same-package imports found by :data:`_IMPORT_LINE` (nothing parsed)."""
    nodes: List[ast.AST] = []
    for match in _IMPORT_LINE.finditer(data[:MAX_INPUT_CHARS]):
        source, names, plain = (g.decode("ascii", "replace") if g else "" for g in match.groups())
        if plain:
            nodes.append(ast.Import(names=[ast.alias(name=plain)]))
            continue
        level = len(source) - len(source.lstrip("."))
        aliases = [ast.alias(name=n.strip()) for n in names.split(",") if n.strip().isidentifier()]
        nodes.append(ast.ImportFrom(module=source.lstrip(".") or None, names=aliases, level=level))
    return tuple(same_package_imports(nodes, module, is_package))


def _parse(text: str) -> Optional[ast.Module]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def module_traits(
    data: bytes, module: str, is_package: bool, entries: FrozenSet[str] = frozenset()
) -> Traits:
    """The traits of a module's import-time code and the same-package modules it imports
    (``entries``: functions a caller runs too). Never raises.

    Text with none of the :data:`TRIGGERS` words is only searched for imports. Text that does not
    parse is graded by the text scan.
    """
    if not entries and not _TRIGGERED.search(data):
        return Traits(imports=_text_imports(data, module, is_package))
    text = data[:MAX_INPUT_CHARS].decode("utf-8", "replace")
    tree = _parse(text)
    if tree is None:  # Python cannot import it either; the text scan only lists what it names
        findings = Findings()
        ImportScanner(findings, budget=Budget(MAX_INPUT_CHARS)).scan_text(text)
        features = tuple(sorted(str(f) for f in findings.features))
        imports = _text_imports(data, module, is_package)
        reasons = (
            "does not parse as Python (cannot be imported); text scan only",
            *findings.reasons(),
        )
        return Traits(features=features, reasons=reasons, imports=imports, text_only=True)
    try:
        pruned, nodes = prune(tree, entries)
        imports = tuple(same_package_imports(nodes, module, is_package))
        findings = Findings()
        scanner = ImportScanner(findings, budget=Budget(MAX_INPUT_CHARS))
        if not scanner.scan_tree(pruned):
            scanner.scan_text(text)
        loads = _native_loads(scanner, nodes)
    except (RecursionError, MemoryError, ValueError):
        return Traits(reasons=("could not be analysed",))
    writes = list(scanner.startup_names) if Feature.FILE_WRITE in findings.features else []
    return Traits(
        features=tuple(sorted(str(f) for f in findings.features)),
        reasons=findings.reasons(),
        native_loads=tuple(dict.fromkeys(loads)),
        startup_writes=tuple(dict.fromkeys(writes)),
        imports=imports,
        parsed=True,
    )


def pth_entries(line: str) -> Dict[str, Set[str]]:
    """Modules a ``.pth`` line imports, and the functions it calls on them (``import m; m.f()``)."""
    try:
        tree = ast.parse(line.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return {}
    resolver = NameResolver()
    nodes = list(ast.walk(tree))
    resolver._collect_names(nodes)
    out: Dict[str, Set[str]] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.setdefault(node.module, set()).update(a.name for a in node.names)
        elif isinstance(node, ast.Call):
            dotted = resolver._resolve(node.func) or ""
            module, _, func = dotted.rpartition(".")
            if module and func:
                out.setdefault(module, set()).add(func)
            elif dotted == "__import__" and node.args and (name := str_value(node.args[0])):
                out.setdefault(name, set())
    return out
