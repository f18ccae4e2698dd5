"""House rules that keep ``helpers/`` readable: short functions, documented modules."""

import ast

import pytest

from helpers.config import REPO_ROOT

#: Longest function allowed in helpers/ (lines from ``def`` or decorator to the end).
MAX_FUNCTION_LINES = 60

MODULES = sorted((REPO_ROOT / "helpers").rglob("*.py"))


def _functions(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            yield node.name, node.end_lineno - start + 1


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_functions_are_short(path):
    long = [f"{name} ({n} lines)" for name, n in _functions(path) if n > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: split {', '.join(long)} (limit {MAX_FUNCTION_LINES} lines)"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_module_says_what_it_is_for(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and len(docstring.split()) >= 4, f"{path} needs a module docstring"


def test_package_map_names_every_module():
    """The package docstring lists every subpackage and top-level module."""
    import helpers

    names = {p.stem for p in (REPO_ROOT / "helpers").glob("*.py") if p.stem != "__init__"}
    names |= {p.parent.name for p in (REPO_ROOT / "helpers").glob("*/__init__.py")}
    missing = sorted(n for n in names if f":mod:`helpers.{n}`" not in helpers.__doc__)
    assert not missing, f"helpers/__init__.py's map does not mention {missing}"
