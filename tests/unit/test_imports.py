"""No import circle in shared/storeloop or local/: every module's imports, those inside functions included, read
with ast."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "shared"

# Circles tolerated for now (none: the last one, orders -> group_buys -> campaign_kinds -> orders, went with
# services/group_orders.py). An entry must name its owner; the test fails once it is gone, so the entry goes too.
KNOWN: set[frozenset[str]] = set()


def _modules(root: Path, package: str) -> dict[str, Path]:
    modules = {}
    for path in (root / package).rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported_names(module: str, path: Path) -> list[str]:
    """Every dotted name `module` imports, anywhere in it; `from a import b` gives a.b (b may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def import_graph(root: Path = ROOT, package: str = "storeloop") -> dict[str, set[str]]:
    """module → the modules of `package` it makes Python run: each one it names and the packages above it (their
    __init__ runs first), except the packages it is itself inside of (those are already running)."""
    modules = _modules(root, package)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name in _imported_names(module, path):
            while name and name not in modules:  # `from pkg.mod import function` → pkg.mod
                name = name.rpartition(".")[0]
            parts = name.split(".") if name else []
            for i in range(1, len(parts) + 1):
                target = ".".join(parts[:i])
                if target in modules and not (module == target or module.startswith(target + ".")):
                    graph[module].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as one path around it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path_around(graph: dict[str, set[str]], component: list[str]) -> str:
    """One circle through the component's first module, for the failure message: a → b → a."""
    start, members = component[0], set(component)
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for w in sorted(graph[path[-1]] & members):
            if w == start:
                return " → ".join([*path, start])
            if w not in path:
                paths.append([*path, w])
    return ", ".join(component)


def test_no_import_circle_in_storeloop():
    graph = import_graph()
    found = {frozenset(c): c for c in circles(graph)}
    new = [_path_around(graph, c) for key, c in found.items() if key not in KNOWN]
    assert not new, "import circles in shared/storeloop:\n" + "\n".join(new)
    gone = [sorted(k) for k in KNOWN if k not in found]
    assert not gone, f"no longer a circle, take it out of KNOWN: {gone}"


def test_no_import_circle_in_the_local_cloud():
    graph = import_graph(ROOT.parent, "local")
    found = [_path_around(graph, c) for c in circles(graph)]
    assert not found, "import circles in local/:\n" + "\n".join(found)


def test_the_walk_sees_imports_inside_functions_and_package_inits(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/api/__init__.py": "from pkg.api.app import make_app\n",
        "pkg/api/app.py": "def make_app():\n    from pkg.runtime import bootstrap\n",
        "pkg/api/idempotency.py": "from . import app\n",
        "pkg/runtime.py": "def reset():\n    from pkg.api.idempotency import reset\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.api.app"] == {"pkg.runtime"}  # inside a function
    assert graph["pkg.runtime"] == {"pkg.api", "pkg.api.idempotency"}  # the package's __init__ runs first
    assert graph["pkg.api.idempotency"] == {"pkg.api.app"}  # relative; its own package is already running
    assert circles(graph) == [["pkg.api", "pkg.api.app", "pkg.api.idempotency", "pkg.runtime"]]
    assert _path_around(graph, circles(graph)[0]) == "pkg.api → pkg.api.app → pkg.runtime → pkg.api"
