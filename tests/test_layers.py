"""The import graph points down only: bottom modules <- sources/synth <- archive <- catalog <- report/outputs/sigma <- serve <- api <- cli.

Every `import` and `from ... import` of every module counts, also those inside functions and under
TYPE_CHECKING: a lazy upward import is still a dependency someone will copy.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kanalytics

ROOT = Path(kanalytics.__file__).parent
# Lowest first. Top-level modules that are not listed (config, errors, textsafe, vocabulary, _version, ...) are
# the bottom: importable by all, importing only each other.
LAYERS: list[set[str]] = [
    {"<bottom>"},
    {"sources", "synth"},
    {"archive"},
    {"catalog"},
    {"report", "outputs", "sigma"},
    {"serve"},
    {"api", "<root>"},
    {"cli"},
    {"docgen", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def unit_of(module: str) -> str:
    """`kanalytics.archive.reader` -> "archive"; `kanalytics` -> "<root>"; `kanalytics.errors` -> "<bottom>"."""
    parts = module.split(".")
    if parts == ["kanalytics"]:
        return "<root>"
    name = parts[1]
    return name if name in RANK else "<bottom>"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every kanalytics module `path` imports, with its line (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "kanalytics"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] == "kanalytics":
                found.append((node.lineno, base))
    return found


def edges() -> list[tuple[str, int, str, str]]:
    """(file, line, importing unit, imported unit) for every import between different units."""
    result = []
    for path in sorted(ROOT.rglob("*.py")):
        source = unit_of(module_name(path))
        for line, target in imports(path):
            imported = unit_of(target)
            if imported != source:
                result.append((str(path.relative_to(ROOT.parent)), line, source, imported))
    return result


def test_no_upward_import() -> None:
    upward = [f"{f}:{line}: {src} imports {dst}" for f, line, src, dst in edges() if RANK[dst] > RANK[src]]
    assert upward == [], "imports that point up the layers:\n" + "\n".join(upward)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for _, _, src, dst in edges():
        graph.setdefault(src, set()).add(dst)
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, nxt]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert cycles == [], "import cycles between packages:\n" + "\n".join(sorted(set(cycles)))


def test_the_checker_sees_lazy_and_type_checking_imports() -> None:
    type_checking = {name for _, name in imports(ROOT / "archive" / "manifest.py")}
    lazy = {name for _, name in imports(ROOT / "api.py")}
    assert "kanalytics.archive.signing" in type_checking  # only under TYPE_CHECKING there
    assert "kanalytics.report.api" in lazy  # only inside a method there


def test_bottom_modules_are_known() -> None:
    assert unit_of("kanalytics.config") == unit_of("kanalytics.errors") == "<bottom>"
    assert unit_of("kanalytics.archive.api") == "archive" and unit_of("kanalytics") == "<root>"
