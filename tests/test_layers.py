"""Layer rules, read from the source with `ast` (README, "Layers"):

1. `src/core` imports only itself (and third-party packages).
2. No cycles between the packages under `src/` (a top-level module such as `src/main.py`
   counts as a package of its own), save the allowed edges below.
3. `src/transport` (python-socketio, Engine.IO, uvicorn, websockets internals) is wired only by
   the composition root: no package but `src/app` imports it.
4. The event contract (`src/events`) imports neither the transport nor the cluster.
5. The server-side transport libraries (`socketio`, `engineio`, `uvicorn`, `websockets`) are
   imported only where `TRANSPORT_USERS` says, each for its reason.

Every `import src.x` and `from src.x import` counts, in functions and `TYPE_CHECKING` blocks
too: a type-only import still couples the two packages.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

ALLOWED: dict[tuple[str, str], str] = {
    ("api", "src.app.services"): "the routes' dependencies (src/api/deps.py) read the "
    "services container the composition root fills; src/app/services.py imports no api "
    "module, so modules do not cycle, only the two package names do",
}
"""Edges left out of rule 2: (importing package, imported module) -> why."""

TRANSPORT_LIBRARIES = ("socketio", "engineio", "uvicorn", "websockets")
"""python-socketio, python-engineio, uvicorn and websockets: rule 5."""

TRANSPORT_USERS: dict[str, str] = {
    "transport": "the transport itself: the server, its client managers, the fan-out fast "
    "path, the replays and uvicorn's HTTP protocols with deadlines",
    "app": "the composition root builds the `socketio.AsyncServer` and hands it to the "
    "transport's objects",
    "cli": "`mindwire serve` runs uvicorn",
    "client": "the Python client library (`mindwire[client]`) is a python-socketio client",
    "testing": "the pytest plugin starts a uvicorn server and python-socketio clients",
}
"""The packages (or top-level modules, `cli` for `src/cli.py`) that may import a transport
library (rule 5) -> why."""


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, "src.core.config"
    line: int
    target: str  # the imported module, "src.events.log"

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def package_of(dotted: str) -> str:
    """`src.core.config` -> `core`; `src.main` -> `main`."""
    return dotted.split(".")[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[Import]:
    """The imports of `src` modules in `path`."""
    return [found for found in every_import_of(path) if found.target.startswith("src.")]


def every_import_of(path: Path) -> list[Import]:
    """Every module `path` imports, `src` or third-party."""
    module = module_name(path)
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            assert node.level == 0, f"{module}:{node.lineno}: relative import"
            base = node.module
            # `from src import x` names the module `src.x`.
            targets = [f"src.{a.name}" for a in node.names] if base == "src" else [base]
        found += [Import(module, node.lineno, t) for t in targets]
    return found


def all_imports() -> list[Import]:
    return [found for path in sorted(SRC.rglob("*.py")) for found in imports_of(path)]


def package_edges(imports: list[Import]) -> dict[tuple[str, str], list[Import]]:
    """(from package, to package) -> the imports that make that edge, allowed ones left out."""
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for found in imports:
        source, target = package_of(found.module), package_of(found.target)
        allowed = any(
            source == pkg and (found.target + ".").startswith(prefix + ".")
            for pkg, prefix in ALLOWED
        )
        if source != target and not allowed:
            edges[source, target].append(found)
    return edges


def cycles(edges: dict[tuple[str, str], list[Import]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_scan_sees_the_imports_it_checks() -> None:
    """Guards the rules against a scan that finds nothing (and so passes vacuously)."""
    edges = package_edges(all_imports())
    assert ("api", "core") in edges
    assert ("events", "core") in edges
    assert cycles({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}) == [
        ["a", "b", "c"]
    ]


def test_core_imports_only_core() -> None:
    offending = [
        str(found)
        for found in all_imports()
        if package_of(found.module) == "core" and package_of(found.target) != "core"
    ]
    assert not offending, "src/core may import only src.core:\n  " + "\n  ".join(offending)


def test_only_the_composition_root_wires_the_transport() -> None:
    offending = [
        str(found)
        for found in all_imports()
        if package_of(found.target) == "transport"
        and package_of(found.module) not in ("transport", "app")
    ]
    assert not offending, "only src/app may import src.transport:\n  " + "\n  ".join(offending)


def test_the_contract_imports_neither_transport_nor_cluster() -> None:
    offending = [
        str(found)
        for found in all_imports()
        if package_of(found.module) == "events"
        and package_of(found.target) in ("transport", "cluster")
    ]
    assert not offending, "src/events is the contract:\n  " + "\n  ".join(offending)


def transport_library_imports() -> list[Import]:
    return [
        found
        for path in sorted(SRC.rglob("*.py"))
        for found in every_import_of(path)
        if found.target.split(".")[0] in TRANSPORT_LIBRARIES
    ]


def test_only_the_transport_and_its_users_import_transport_libraries() -> None:
    found = transport_library_imports()
    assert any(package_of(each.module) == "transport" for each in found)  # the scan sees them
    offending = [str(each) for each in found if package_of(each.module) not in TRANSPORT_USERS]
    assert not offending, (
        "socketio, engineio, uvicorn and websockets belong to src/transport (and to the "
        "places TRANSPORT_USERS names):\n  " + "\n  ".join(offending)
    )


def test_transport_users_are_still_needed() -> None:
    """A place that no longer imports a transport library is taken off the list."""
    users = {package_of(each.module) for each in transport_library_imports()}
    unused = sorted(set(TRANSPORT_USERS) - users)
    assert not unused, f"TRANSPORT_USERS lists {unused}, which import no transport library now"


def test_no_cycles_between_packages() -> None:
    edges = package_edges(all_imports())
    report: list[str] = []
    for group in cycles(edges):
        report.append("cycle between " + ", ".join(group) + ":")
        for (source, target), found in sorted(edges.items()):
            if source in group and target in group:
                report += [f"  {source} -> {target}: {item}" for item in found]
    assert not report, "packages under src/ import each other:\n" + "\n".join(report)


def test_allowed_edges_are_still_needed() -> None:
    """An exception nobody uses any more is taken off the list."""
    imports = all_imports()
    for pkg, prefix in ALLOWED:
        assert any(
            package_of(found.module) == pkg and (found.target + ".").startswith(prefix + ".")
            for found in imports
        ), f"ALLOWED lists {pkg} -> {prefix}, which nothing imports now"
