"""The package's imports point one way, down the layers of the README's layout, with no cycle.

Every import counts, including those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import otel_bridge

PACKAGE = Path(otel_bridge.__file__).parent

# Lower layers first; a module may import its own component and any lower layer, nothing else.
LAYERS: list[set[str]] = [
    {"errors", "_frozen", "_fork"},
    {"_threaded_server", "_derivation_code", "spans", "run_json"},
    {"report"},  # reads RunTrace JSON only, so that RunTrace.to_html() can call it
    {"run_trace", "otlp"},
    {"conventions"},
    {"frameworks"},  # what each agent framework's spans mean; asks conventions for values
    {"derivation"},
    {"sources", "collector", "tables"},
    {"compare"},  # reads runs from the tables' export directories
    {"ui"},  # the web UI: pages and the query API over the collector's store or any source
    {"telemetry"},
    {"maseval_adapter", "scripted"},
    {"cli"},
    {"__init__"},
]
RANK = {component: rank for rank, layer in enumerate(LAYERS) for component in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def component(module: str) -> str:
    return module.split(".")[0]


def imports_of(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports (relative imports resolved)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    if path.name == "__init__.py" and path.parent == PACKAGE:
        package = []
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "otel_bridge":
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:  # ``from . import x`` may name a module
                candidate = ".".join([*target, alias.name])
                found.add(candidate if _exists(candidate) else ".".join(target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "otel_bridge":
                    found.add(".".join(alias.name.split(".")[1:]))
    return {m for m in found if m}


def _exists(module: str) -> bool:
    base = PACKAGE.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_component_has_a_layer() -> None:
    assert {component(m) for m in graph()} <= set(RANK)


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in graph().items()
        for target in targets
        if component(target) != component(module)
        and RANK[component(target)] >= RANK[component(module)]
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target in edges and target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert cycles == []


def test_helpers_are_private_and_fronts_export_them() -> None:
    """Inside a folder, modules are ``_`` helpers behind the folder's ``__init__``."""
    public = {
        "conventions.genai_attributes",  # the one module of GenAI names
    }
    exposed = [
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if p.parent != PACKAGE
        and p.name not in ("__init__.py", "__main__.py")
        and not p.name.startswith("_")
        and module_name(p) not in public
    ]
    assert exposed == []


def test_derivation_does_no_io() -> None:
    """Derivation is pure: nothing in it opens a file, a socket or a process."""
    io_modules = {"io", "os", "pathlib", "shutil", "socket", "sqlite3", "subprocess", "tempfile"}
    io_modules |= {"httpx", "urllib", "yaml", "tomllib", "tomli", "open"}
    found = []
    for path in sorted((PACKAGE / "derivation").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names = [node.func.id] if node.func.id == "open" else []
            else:
                continue
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in io_modules]
    assert found == []


def test_tests_mirror_the_wings_and_share_only_the_support_package() -> None:
    """Each test module sits in the folder of the wing it tests (or house/ for the project as a
    whole); helpers live in tests/support; no test module imports another test module."""
    tests = PACKAGE.parent / "tests"
    wings = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    folders = {"house", "otlp"} | wings
    loose = sorted(p.name for p in tests.glob("*.py") if p.name != "conftest.py")
    assert loose == [], "test modules and helpers belong in a wing folder or tests/support"
    modules = sorted(tests.glob("*/test_*.py"))
    assert modules, "no test modules found"
    assert {p.parent.name for p in modules} <= folders
    test_names = {p.stem for p in modules}
    for path in [*modules, *(tests / "support").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in test_names, f"{path.name}: {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in test_names, f"{path.name}: {alias.name}"
