"""The package's import graph: no cycles, and every stage imports only the stages before it.

The pipeline has two towers standing on the image helpers:

    images -> data -> models -> runs -> train -> evaluate -> export     (training side)
    runtime -> detect -> video -> scale -> watch -> serve -> report     (inference side)

A stage may import any stage before it in its own tower and anything of the other tower that
does not lead back up its own (checked on the whole chain of imports, not just the first step).
The command-line modules and the package's `__init__` sit on top and may import everything.
Imports inside functions count too: a lazy import is still a dependency, and most cycles hide there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "maskwatch"

TOWERS = (
    ("images", "data", "models", "runs", "train", "evaluate", "export"),
    ("runtime", "detect", "video", "scale", "watch", "serve", "report"),
)

#: Modules whose stage is not simply their first package name (exact module, or a package prefix).
STAGE_OF = {
    "maskwatch.errors": "base",
    "maskwatch.callable_module": "base",
    "maskwatch.atomic": "base",
    "maskwatch.settings": "base",
    "maskwatch.version": "base",
    "maskwatch.metrics": "base",
    "maskwatch.home": "base",
    "maskwatch.logs": "base",
    "maskwatch.tables": "base",
    "maskwatch.exit_codes": "base",
    "maskwatch.cancel": "base",
    "maskwatch.records": "runtime",
    "maskwatch.results": "runtime",
    "maskwatch.images": "images",
    "maskwatch.classifier": "runtime",
    "maskwatch.detections": "runtime",
    "maskwatch.annotate": "runtime",
    "maskwatch.runtime": "runtime",
    "maskwatch.classify": "detect",
    "maskwatch.runs": "runs",
}
#: The user interface, which only wires the stages together: the commands, the package root, and
#: `maskwatch.detect(source)`, the Python twin of `maskwatch detect`, which hands images to the
#: detect stage and videos, cameras and streams to the video stage.
INTERFACE = (
    "maskwatch",
    "maskwatch.__main__",
    "maskwatch.cli",
    "maskwatch.classify_cli",
    "maskwatch.detect",
    "maskwatch.detect.api",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage(module: str) -> str:
    if module in INTERFACE or module.endswith(".cli"):
        return "interface"
    for prefix in sorted(STAGE_OF, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return STAGE_OF[prefix]
    return module.split(".")[1]


def _lazy_module_names(node: ast.AST) -> list[str]:
    """Module names imported by name: `import_module("maskwatch.x")` or a lazy-export table's modules
    (the keys of `lazy_exports`' {module: names}, the values of a {command: module} table)."""
    if isinstance(node, ast.Call):
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if func in ("import_module", "__import__", "make_callable"):
            return [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if isinstance(node, ast.Dict):
        return [v.value for v in [*node.keys, *node.values] if isinstance(v, ast.Constant) and "." in str(v.value)]
    return []


def build_graph() -> dict[str, set[str]]:
    """module -> the maskwatch modules it imports (anywhere in the file)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from maskwatch.data import voc` imports the module voc; `import X` of a name imports base.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                targets = [name for name in _lazy_module_names(node) if name in files]
            for target in targets:
                while target and target not in files:  # `import maskwatch.data.voc.x` -> nearest module
                    target = target.rpartition(".")[0]
                if target.startswith("maskwatch") and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module reachable from `start` -> the module it was first reached through."""
    via: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop()
        for w in graph[v]:
            if w not in via and w != start:
                via[w] = v
                todo.append(w)
    return via


def backwards(importer: str, imported: str) -> bool:
    """True when `imported` is a later stage than `importer` in the same tower (or base imports a stage)."""
    a, b = stage(importer), stage(imported)
    if b == "interface":
        return a != "interface"
    if a == "base":
        return b != "base"
    return any(a in tower and b in tower and tower.index(b) > tower.index(a) for tower in TOWERS)


def chain(graph: dict[str, set[str]], start: str, end: str) -> str:
    via = reachable(graph, start)
    path = [end]
    while path[-1] != start:
        path.append(via[path[-1]])
    return " -> ".join(reversed(path))


GRAPH = build_graph()


def test_the_graph_is_read():
    assert len(GRAPH) > 50
    assert "maskwatch.images" in GRAPH["maskwatch.data.faces"]
    assert "maskwatch.detect.faces" in GRAPH["maskwatch.detect"]  # a lazy-export table
    assert "maskwatch.detect.cli" in GRAPH["maskwatch.cli"]  # the table of commands
    # The annotator sits beside the detections type: video draws frames without reaching into detect/.
    assert "maskwatch.annotate" in GRAPH["maskwatch.video.pipeline"]
    assert not {m for m in GRAPH["maskwatch.video.pipeline"] if m.split(".")[:2] == ["maskwatch", "detect"]}
    known = {s for tower in TOWERS for s in tower} | {"base", "interface"}
    unknown = sorted(m for m in GRAPH if stage(m) not in known)
    assert not unknown, f"modules without a stage (add them to STAGE_OF): {unknown}"


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_stages_import_only_earlier_stages():
    problems = {}
    for m in sorted(GRAPH):
        for t in sorted(reachable(GRAPH, m)):
            if backwards(m, t):
                problems.setdefault((m, stage(t)), f"{stage(m)} -> {stage(t)}: {chain(GRAPH, m, t)}")
    problems = list(problems.values())
    assert not problems, "imports against the pipeline order:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("importer", "imported", "wrong"),
    [
        ("maskwatch.train.trainer", "maskwatch.data.voc", False),
        ("maskwatch.data.voc", "maskwatch.train.trainer", True),
        ("maskwatch.detect.pipeline", "maskwatch.serve.app", True),
        ("maskwatch.serve.app", "maskwatch.detect.pipeline", False),
        ("maskwatch.errors", "maskwatch.images", True),
        ("maskwatch.video.pipeline", "maskwatch.cli", True),
        ("maskwatch.train.cli", "maskwatch.evaluate.evaluator", False),
        ("maskwatch.train.trainer", "maskwatch.evaluate.evaluator", True),
        ("maskwatch.evaluate.evaluator", "maskwatch.export.exporter", True),
        ("maskwatch.export.exporter", "maskwatch.runs", False),
        ("maskwatch.runs", "maskwatch.train.config", True),
        ("maskwatch.video.pipeline", "maskwatch.detect.pipeline", False),
        ("maskwatch.detect.pipeline", "maskwatch.video.pipeline", True),
        ("maskwatch.serve.app", "maskwatch.detect.api", True),
    ],
)
def test_the_order_itself(importer, imported, wrong):
    assert backwards(importer, imported) is wrong


def test_a_cycle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
