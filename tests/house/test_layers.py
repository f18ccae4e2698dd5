"""The package's layers, read from the source: which ``helpers`` modules each module imports.

Every ``import`` and ``from ... import`` is found with :mod:`ast`, including those inside
functions (the lazy imports of heavy libraries), so a layer cannot be crossed by hiding the
import in a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.config import REPO_ROOT

PACKAGE = REPO_ROOT / "helpers"

#: Numpy in, numpy out: they may import each other, nothing else of ``helpers``.
PURE = ("config", "gpstime", "granules", "bbox", "projection", "tracks", "fileio")
#: What the reducer must not depend on (the faces, the generator, the tooling, the loader).
NOT_FOR_REDUCE = ("synthetic", "render", "access", "earthdata", "load", "dhdt", "devtools",
                  "sample")
#: What the loader must not depend on.
NOT_FOR_LOAD = ("synthetic", "render", "access", "earthdata", "devtools", "sample")


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    """``helpers/reduce/run.py`` -> ``helpers.reduce.run``; packages by their ``__init__``."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path = REPO_ROOT) -> bool:
    """True if a dotted name is a module or package below ``root``."""
    path = root / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path, root: Path = REPO_ROOT) -> set[str]:
    """Every ``helpers`` module a file imports, anywhere in it (relative imports resolved).

    ``from helpers.x import y`` counts as ``helpers.x.y`` when ``y`` is a module, else as
    ``helpers.x``; ``from helpers import __version__`` counts as ``helpers``.
    """
    this = module_name(path, root)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if is_module(full, root) else base)
    return {name for name in found if name == "helpers" or name.startswith("helpers.")}


def modules() -> dict[str, set[str]]:
    """Module name -> the ``helpers`` modules it imports, for every file of the package."""
    return {module_name(p): imported_modules(p) for p in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, roots: tuple[str, ...]) -> bool:
    """True if ``name`` is ``helpers.<root>`` or inside it, for one of the roots."""
    return any(name == f"helpers.{r}" or name.startswith(f"helpers.{r}.") for r in roots)


def test_the_layers_named_here_exist():
    # A renamed module must not make a rule below pass by checking nothing.
    found = modules()
    for root in {*PURE, *NOT_FOR_REDUCE, *NOT_FOR_LOAD, "reduce", "load"}:
        assert any(within(name, (root,)) for name in found), f"helpers.{root} is gone"
    assert imported_modules(PACKAGE / "reduce" / "run.py") >= {"helpers.reduce.granule"}


@pytest.mark.parametrize("pure", PURE)
def test_pure_utilities_import_only_each_other(pure):
    imports = modules()[f"helpers.{pure}"]
    others = {m for m in imports if m != "helpers" and not within(m, PURE)}
    assert not others, f"helpers.{pure} imports {sorted(others)}: pure utilities may not"


def test_the_reducer_imports_no_face_generator_tooling_or_loader():
    for name, imports in modules().items():
        if within(name, ("reduce",)):
            bad = {m for m in imports if within(m, NOT_FOR_REDUCE)}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_the_loader_imports_no_face_generator_or_tooling():
    bad = {m for m in modules()["helpers.load"] if within(m, NOT_FOR_LOAD)}
    assert not bad, f"helpers.load imports {sorted(bad)}"


def test_imports_inside_functions_and_relative_imports_are_seen(tmp_path):
    # The parser itself, on a file that hides its imports.
    source = (
        "import numpy\n"
        "def f():\n"
        "    from helpers.synthetic import surface\n"
        "    import helpers.render\n"
        "    from . import bbox\n"
        "    from .reduce.variables import OUTPUT_DTYPES\n"
    )
    package = tmp_path / "helpers"
    modules_there = (
        "__init__.py",
        "bbox.py",
        "render.py",
        "synthetic/__init__.py",
        "synthetic/surface.py",
        "reduce/__init__.py",
        "reduce/variables.py",
    )
    for module in modules_there:
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        (package / module).write_text("")
    (package / "hidden.py").write_text(source)
    assert imported_modules(package / "hidden.py", root=tmp_path) == {
        "helpers.synthetic.surface",
        "helpers.render",
        "helpers.bbox",
        "helpers.reduce.variables",
    }
