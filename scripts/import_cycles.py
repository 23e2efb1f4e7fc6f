"""Import cycles among policy-qa's modules, read from the AST (no imports run).

    python3 scripts/import_cycles.py [ROOT]     # ROOT: a checkout (default: this one)

Prints the module and edge counts of the static import graph of index/, qa/ and ui/
(imports inside functions included), then each cycle as a strongly connected
component. Imports made at run time from strings (importlib) are not seen.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = ("index", "qa", "ui")


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(root.glob("*/**/*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in PACKAGES:
            name = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def graph(found: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in found}
    for name, path in found.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            edges[name].update(t for t in targets if t in found and t != name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
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
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    edges = graph(modules(root))
    found = cycles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} edges, {len(found)} cycles")
    for component in found:
        print("  " + " <-> ".join(component))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
