"""The package's floors, read from the source: the runtime imports no model code, the lifter no training code,
and no modules import each other in a circle, so a newcomer can trust the folder list (detect -> track -> lift,
all standing on runtime)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pose3d_ros"


def imported_modules(path: Path, package: str, type_only: bool = True) -> set[str]:
    """Every pose3d_ros module the file at ``path`` (in ``package``) imports, at the top or inside a function,
    relative imports resolved; with ``type_only`` False, not those under ``if TYPE_CHECKING:``, which never run."""

    def nodes(node: ast.AST):
        if not type_only and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in nodes(child))
            return
        yield node
        for child in ast.iter_child_nodes(node):
            yield from nodes(child)

    found = set()
    for node in nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return {m for m in found if m == "pose3d_ros" or m.startswith("pose3d_ros.")}


def offending(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
        floors = {m: f"{m}.".split(".")[1] for m in imported_modules(path, package)}  # pose3d_ros.<floor>...
        hits = sorted(m for m, floor in floors.items() if floor in forbidden)
        if hits:
            bad[str(path.relative_to(PACKAGE.parent))] = hits
    return bad


def test_imported_modules_sees_every_kind_of_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import pose3d_ros.lift\nfrom ..detect import base\nimport numpy\n"
                     "def f():\n    from pose3d_ros.training.export import x\n")
    assert imported_modules(probe, "pose3d_ros.runtime") == {
        "pose3d_ros.lift", "pose3d_ros.detect", "pose3d_ros.detect.base", "pose3d_ros.training.export",
        "pose3d_ros.training.export.x"}


@pytest.mark.parametrize("folder, forbidden", [
    ("runtime", ("lift", "detect", "training", "ros", "eval")),
    ("lift", ("training",)),
])
def test_a_floor_imports_nothing_above_it(folder, forbidden):
    assert offending(folder, forbidden) == {}


def module_of(name: str) -> str | None:
    """The module file an imported name lives in: the longest prefix of ``name`` that is a module of the package."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        path = PACKAGE.parent.joinpath(*parts[:end])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts[:end])
    return None


def test_no_modules_import_each_other_in_a_circle():
    """Imports that run, at the top or in a function: a circle among them fails, or works by the order of imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
        imports = imported_modules(path, package, type_only=False)
        graph[name] = {m for m in map(module_of, imports) if m not in (None, name)}
    done: set[str] = set()

    def circle_from(name: str, trail: list[str]) -> list[str] | None:
        if name in trail:
            return trail[trail.index(name):] + [name]
        if name in done:
            return None
        for other in sorted(graph.get(name, ())):
            if found := circle_from(other, trail + [name]):
                return found
        done.add(name)
        return None

    circles = [circle for name in sorted(graph) if (circle := circle_from(name, []))]
    assert not circles, f"import circle: {' -> '.join(circles[0])}"
