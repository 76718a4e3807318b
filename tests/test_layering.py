"""The layers the code is built in, read from its imports (AST, nothing runs):

- `rotas/` imports nothing of `app`;
- `app/routing/` is pure: the standard library, `rotas` and itself;
- the core domains never import the edges (`inbound`, `twilio`, `console`, `cli`);
- no module takes another package's `_private` name;
- the modules of `app` import each other without a cycle;
- an import inside a function says why on its line or the line above
  (an optional dependency, a start-up cost); otherwise it belongs at the top.

`check(...)` takes the sources as text, so each rule is also tested on a
made-up violation below: a rule that can no longer fail is no rule.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CORE = (
    "auth",
    "clients",
    "contacts",
    "escalation",
    "i18n",
    "messaging",
    "oncall",
    "outcomes",
    "reports",
    "routing",
    "teams",
)
EDGES = ("app.inbound", "app.twilio", "app.console", "app.cli")
# What app/routing may import besides the standard library and rotas.
PURE = ("app.routing",)
ROUTING_IMPURE_STDLIB = ("os", "io", "socket", "subprocess", "pathlib", "threading", "sqlite3")


@dataclass
class Import:
    module: str  # the importing module, e.g. app.inbound.sms
    target: str  # what it names, resolved: app.contacts.service or app.contacts.service.name
    names: tuple[str, ...]  # for `from x import a, b`: a, b
    line: int
    in_function: bool
    type_checking: bool


@dataclass
class Source:
    module: str
    path: str
    text: str
    imports: list[Import] = field(default_factory=list)
    private_uses: list[tuple[str, str, int]] = field(default_factory=list)  # (module, name, line)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def read_tree() -> dict[str, str]:
    """module name -> source, for app/ (migrations aside) and rotas/."""
    sources = {}
    for top in ("app", "rotas"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts or "landing_migrations" in path.parts:
                continue
            sources[module_name(path)] = path.read_text()
    return sources


def _is_package(module: str, sources: dict[str, str]) -> bool:
    return any(other.startswith(module + ".") for other in sources)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


class _Reader(ast.NodeVisitor):
    def __init__(self, source: Source, is_package: bool):
        self.source = source
        self.is_package = is_package
        self.depth = 0
        self.type_checking = 0
        self.aliases: dict[str, str] = {}  # local name -> app module it is bound to

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guarded = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        if guarded:
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _add(self, target: str, names: tuple[str, ...], line: int) -> None:
        self.source.imports.append(
            Import(
                self.source.module,
                target,
                names,
                line,
                self.depth > 0,
                self.type_checking > 0,
            )
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, (), node.lineno)
            if alias.asname:
                self.aliases[alias.asname] = alias.name

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = _resolve(node, self.source.module, self.is_package)
        names = tuple(alias.name for alias in node.names)
        self._add(target, names, node.lineno)
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{target}.{alias.name}"

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # `module._name`, with `module` bound by an import to a module of app.
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.aliases
            and _private(node.attr)
        ):
            self.source.private_uses.append((self.aliases[node.value.id], node.attr, node.lineno))
        self.generic_visit(node)


def _private(name: str) -> bool:
    """`_x` is private; `__x__` and gettext's `_` are not."""
    return (
        name.startswith("_") and name != "_" and not (name.startswith("__") and name.endswith("__"))
    )


def parse(sources: dict[str, str]) -> dict[str, Source]:
    parsed = {}
    for module, text in sources.items():
        source = Source(module, module.replace(".", "/") + ".py", text)
        _Reader(source, _is_package(module, sources)).visit(ast.parse(text))
        parsed[module] = source
    return parsed


def _owner(target: str, sources: dict[str, Source]) -> str | None:
    """The module of `sources` that `target` names, or whose attribute it names."""
    while target and target not in sources:
        target = target.rpartition(".")[0]
    return target or None


def _package(module: str, sources: dict[str, Source]) -> str:
    return module if _is_package(module, sources) else module.rpartition(".")[0]


def _domain(module: str) -> str:
    """app.escalation.engine -> app.escalation; rotas.x -> rotas."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" else parts[0]


def _loaded_by(module: str, target: str, sources: dict[str, Source]) -> list[str]:
    """The modules of `sources` that `module` importing `target` runs: it and
    every package above it (their __init__), but for the packages above
    `module` itself (they are loading already)."""
    owner = _owner(target, sources)
    if owner is None:
        return []
    parts = owner.split(".")
    above = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    loaded = (".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return [m for m in loaded if m in sources and m not in above]


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _reason_given(text: str, line: int, first_of_block: int) -> bool:
    lines = text.splitlines()
    own = lines[line - 1]
    above = lines[first_of_block - 2].strip() if first_of_block >= 2 else ""
    return "#" in own.split("import", 1)[-1] or above.startswith("#")


def _function_import_blocks(text: str) -> Iterator[tuple[int, int]]:
    """(line of each import in a function body, line of the first import of
    the run of imports it stands in)."""
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for body in _bodies(node):
            first = None
            for statement in body:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    first = first or statement.lineno
                    yield statement.lineno, first
                else:
                    first = None


def _bodies(function: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list of a function, nested blocks included (not
    nested functions: they are walked on their own)."""
    stack: list[ast.AST] = [function]
    while stack:
        node = stack.pop()
        for name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.AST):
                if name != "handlers":
                    yield block
                stack.extend(
                    child
                    for child in block
                    if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                )


def cycles(sources: dict[str, Source]) -> list[list[str]]:
    """Strongly connected groups of modules of `app`, by module-level imports."""
    graph: dict[str, set[str]] = {m: set() for m in sources if m.startswith("app")}
    for module in graph:
        for found in sources[module].imports:
            if found.in_function or found.type_checking:
                continue
            targets = [found.target, *(f"{found.target}.{n}" for n in found.names)]
            for target in targets:
                for loaded in _loaded_by(module, target, sources):
                    if loaded in graph and loaded != module:
                        graph[module].add(loaded)
    # Tarjan's algorithm, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def check(raw: dict[str, str]) -> list[str]:
    """Every broken rule, one line each."""
    sources = parse(raw)
    found: list[str] = []
    for module, source in sources.items():
        domain = _domain(module)
        for imp in source.imports:
            top = imp.target.split(".")[0]
            where = f"{source.path}:{imp.line}"
            if domain == "rotas" and top == "app":
                found.append(f"{where}: rotas imports {imp.target} (rotas is pure)")
            if domain == "app.routing" and not (
                _within(imp.target, ("rotas", *PURE))
                or (
                    top in sys.stdlib_module_names
                    and top not in ROUTING_IMPURE_STDLIB
                    and top != "app"
                )
            ):
                found.append(f"{where}: app.routing imports {imp.target} (routing is pure)")
            if domain.removeprefix("app.") in CORE and _within(imp.target, EDGES):
                found.append(f"{where}: core {domain} imports the edge {imp.target}")
            private = [n for n in imp.names if _private(n)]
            if _private(imp.target.rpartition(".")[2]):
                private.append(imp.target)
            owner = _owner(imp.target, sources)
            if private and owner and _package(owner, sources) != _package(module, sources):
                found.append(f"{where}: imports {', '.join(private)} private to {owner}")
        for target, name, line in source.private_uses:
            owner = _owner(target, sources)
            if owner and _package(owner, sources) != _package(module, sources):
                found.append(f"{source.path}:{line}: uses {name}, private to {owner}")
        for line, first in _function_import_blocks(source.text):
            if not _reason_given(source.text, line, first):
                found.append(
                    f"{source.path}:{line}: imports inside a function without saying why "
                    "(a comment on the line or above it: optional dependency, start-up cost)"
                )
    for group in cycles(sources):
        found.append("import cycle: " + " -> ".join(group))
    return found


def test_the_tree_keeps_its_layers():
    broken = check(read_tree())
    assert not broken, "\n".join(broken)


# Each rule, on a made-up violation added to the real tree.


def _with(extra: dict[str, str]) -> list[str]:
    return check({**read_tree(), **extra})


def test_rotas_importing_app_is_found():
    assert any(
        "rotas is pure" in f for f in _with({"rotas.made_up": "from app.db import utcnow\n"})
    )


def test_an_impure_import_in_routing_is_found():
    for text in ("import sqlmodel\n", "import httpx\n", "from app.db import Database\n"):
        assert any("routing is pure" in f for f in _with({"app.routing.made_up": text})), text


def test_a_core_domain_importing_an_edge_is_found():
    broken = _with({"app.contacts.made_up": "from app.inbound import sms\n"})
    assert any("imports the edge app.inbound" in f for f in broken)


def test_another_packages_private_name_is_found():
    taken = _with({"app.inbound.made_up": "from app.escalation.engine import _made_up\n"})
    assert any("private to app.escalation.engine" in f for f in taken)
    used = _with({"app.inbound.made_up": "from app.escalation import engine\nengine._made_up()\n"})
    assert any("private to app.escalation.engine" in f for f in used)
    own = _with({"app.escalation.made_up": "from app.escalation.engine import _made_up\n"})
    assert not any("made_up" in f for f in own)


def test_an_import_cycle_is_found():
    broken = _with(
        {"app.made_up_a": "from app import made_up_b\n", "app.made_up_b": "import app.made_up_a\n"}
    )
    assert "import cycle: app.made_up_a -> app.made_up_b" in broken


def test_a_cycle_through_a_package_init_is_found():
    broken = _with(
        {
            "app.made_up": "from app.made_up import inner\n",
            "app.made_up.inner": "from app.made_up_c import x\n",
            "app.made_up_c": "from app.made_up.inner import y\n",
        }
    )
    assert any(f.startswith("import cycle:") and "app.made_up_c" in f for f in broken)


def test_an_import_in_a_function_needs_a_reason():
    silent = "def f():\n    from app.db import utcnow\n    return utcnow()\n"
    assert any("without saying why" in f for f in _with({"app.made_up": silent}))
    said = (
        "def f():\n"
        "    # Optional: only the benchmark has it installed.\n"
        "    import made_up_optional\n"
        "    from app.db import utcnow\n"
        "    return utcnow()\n"
    )
    assert not any("made_up" in f for f in _with({"app.made_up": said}))
