"""docs/architecture.md's rules, checked on the source: the computing core imports no web, database
or actions code; the packages import each other without cycles; no module reaches into another
package's private names. Read from the AST of every module (top-level and function-level imports
alike), so an import hidden inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import synkinesis

ROOT = Path(synkinesis.__file__).parent
# The pure core (frames → findings) and the pure libraries beside it: they run in a notebook, the
# CLI, a web worker or a batch task unchanged.
CORE = ("errors", "frames", "landmarks", "measures", "segments", "findings", "scales", "treatments", "protocols",
        "live", "pipeline", "assess", "per_recording", "recording", "vocabulary", "outputs", "plots", "synthetic")
APP_PACKAGES = ("web", "store", "records", "actions", "cli")
# The clinic app in layers, lowest first: a package imports only the core and the layers below it
# (records: checks, files and grading the actions use; actions: every change; web: routes; cli: commands).
APP_LAYERS = ("store", "records", "actions", "web", "cli")
APP_LIBRARIES = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "jinja2", "typer", "psycopg")


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(ROOT.rglob("*.py")):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) of every import in a module, relative ones resolved."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((module, [a.name for a in node.names], node.lineno))
    return out


def _top(name: str) -> str | None:
    """The synkinesis top-level package (or module) a dotted name belongs to."""
    parts = name.split(".")
    return parts[1] if parts[0] == "synkinesis" and len(parts) > 1 else None


def _targets(module: str, names: list[str]) -> list[str]:
    """Top-level packages an import reaches (`from synkinesis import cli` reaches cli)."""
    if module == "synkinesis":
        return [n for n in names if f"synkinesis.{n}" in MODULES]
    top = _top(module)
    return [top] if top else []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        src = _top(name)
        if src is None:
            continue
        graph.setdefault(src, set())
        for module, names, _ in _imports(name, path):
            graph[src].update(t for t in _targets(module, names) if t != src)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, …, a], or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_every_core_package_exists():
    """The list above is kept true: a renamed core package must be renamed here too."""
    missing = [c for c in CORE if f"synkinesis.{c}" not in MODULES]
    assert not missing, missing


@pytest.mark.parametrize("core", CORE)
def test_core_imports_no_web_store_or_actions_code(core):
    bad = []
    for name, path in MODULES.items():
        if _top(name) != core:
            continue
        for module, names, line in _imports(name, path):
            reached = _targets(module, names)
            if any(t in APP_PACKAGES for t in reached) or module.split(".")[0] in APP_LIBRARIES:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {module}")
    assert not bad, "the core must stay pure:\n" + "\n".join(bad)


def test_package_import_graph_has_no_cycles():
    graph = _graph()
    assert {"pipeline", "segments", "protocols", "findings"} <= set(graph)  # the graph was read at all
    cycle = _cycle(graph)
    assert cycle is None, "import cycle between synkinesis packages: " + " → ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    """The check above can fail: the finder sees the cycle this rule was written against."""
    assert _cycle({"pipeline": {"segments"}, "segments": {"protocols"}, "protocols": {"pipeline"}}) == \
        ["pipeline", "segments", "protocols", "pipeline"]
    assert _cycle({"pipeline": {"segments"}, "segments": {"protocols"}, "protocols": set()}) is None


def test_protocols_hold_only_data():
    """Protocol definitions sit below the code that segments and grades by them."""
    assert _graph()["protocols"] <= {"errors"}


def test_no_private_names_imported_from_another_module():
    """A helper two modules share is public, in one place (not `from .episodes import _runs`)."""
    bad = []
    for name, path in MODULES.items():
        for module, names, line in _imports(name, path):
            if module == name or _top(module) is None:
                continue
            private = [n for n in names if n.startswith("_") and n != "__version__"] + \
                [p for p in module.split(".") if p.startswith("_")]
            if private:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {', '.join(private)} from {module}")
    assert not bad, "make it public in one place instead:\n" + "\n".join(bad)


def test_the_command_line_lives_in_cli_only():
    """One `cli/` package: no other module defines commands (imports Typer)."""
    bad = [f"{path.relative_to(ROOT.parent)}:{line}" for name, path in MODULES.items() if _top(name) != "cli"
           for module, _, line in _imports(name, path) if module.split(".")[0] == "typer"]
    assert not bad, bad


@pytest.mark.parametrize("layer", APP_LAYERS)
def test_app_layers_import_only_downwards(layer):
    """store → records → actions → web → cli: the actions never reach up into web (its helpers they
    need sit in records/), so a change is one function whoever calls it."""
    above = set(APP_LAYERS[APP_LAYERS.index(layer) + 1:])
    bad = [f"{path.relative_to(ROOT.parent)}:{line} imports {module}" for name, path in MODULES.items()
           if _top(name) == layer for module, names, line in _imports(name, path)
           if above & set(_targets(module, names))]
    assert not bad, f"{layer}/ must not import the layers above it:\n" + "\n".join(bad)


# JSON routes whose `response_model` is set in a module edited on a parallel branch this session
# (web/patients.py, web/scales.py); their schemas are ready in web/schemas.py (VisitTrends, ScaleInfo).
SHAPE_ON_MERGE: set = set()  # routes whose shape lands with a parallel change; empty on main


def test_every_json_route_declares_its_response_shape(tmp_path):
    """/openapi.json shows what each JSON route answers (a pydantic `response_model`), not just "a JSON"."""
    from synkinesis.web.app import create_app
    from synkinesis.web.settings import Settings

    spec = create_app(Settings(data_dir=tmp_path / "data", run_worker=False)).openapi()
    shapeless = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ok = [r for code, r in op.get("responses", {}).items() if code.startswith("2")]
            if path.startswith("/api/") and not any(r.get("content", {}).get("application/json", {}).get("schema")
                                                    for r in ok):
                shapeless.add((method.upper(), path))
    assert shapeless - SHAPE_ON_MERGE == set(), sorted(shapeless - SHAPE_ON_MERGE)
    assert SHAPE_ON_MERGE <= shapeless, "shape added: drop it from SHAPE_ON_MERGE"
