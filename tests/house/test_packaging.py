"""The packaging files agree with each other.

pyproject.toml is what pip installs (the tested path); environment.yml is what conda users on a
JupyterHub get, and .binder/environment.yml what Binder installs (the runtime packages only;
.binder/postBuild installs the project). These tests keep the package lists in step, and check
that the Makefile and the CI entry point still offer what the README promises.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

#: conda entries that have no counterpart in pyproject's dependency lists.
CONDA_ONLY = {"python", "pip"}
#: Packages whose conda-forge name differs from their PyPI name (conda name -> PyPI name).
CONDA_NAMES = {"python-isal": "isal"}

#: Makefile targets the README and the CI rely on.
MAKE_TARGETS = ("venv", "sample", "tutorial", "book", "linkcheck", "lab", "test", "bench", "clean")
#: The optional-dependency extras that environment.yml also lists.
EXTRAS = ("test", "hpc", "book")

# name, optional [extras], then the version constraint (pip and conda spellings).
_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*$")


def normalize(name: str) -> str:
    """Compare package names case-insensitively, with ``_`` and ``.`` read as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"dask[dataframe]>=2024.8"`` into ``("dask", "2024.8")``.

    Returns the normalised name and the ``>=`` lower bound (None when there is none).
    """
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(f"cannot parse the requirement {spec!r}")
    name, _extras, constraint = match.groups()
    lower = re.search(r">=\s*([^\s,;]+)", constraint)
    return normalize(name), lower.group(1) if lower else None


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def pyproject_deps(pyproject: dict) -> dict[str, str | None]:
    """Runtime dependencies and those of the extras: normalised name -> lower bound."""
    project = pyproject["project"]
    specs = list(project["dependencies"])
    extras = project.get("optional-dependencies", {})
    for extra in EXTRAS:
        assert extra in extras, f"pyproject.toml has no optional-dependencies extra {extra!r}"
        specs += extras[extra]
    deps: dict[str, str | None] = {}
    for spec in specs:
        name, lower = parse_spec(spec)
        assert name not in deps, f"{name} is listed twice in pyproject.toml"
        deps[name] = lower
    return deps


@pytest.fixture(scope="module")
def runtime_deps(pyproject: dict) -> dict[str, str | None]:
    """pyproject's runtime dependencies only: normalised name -> lower bound."""
    return dict(parse_spec(spec) for spec in pyproject["project"]["dependencies"])


def _conda_deps(environment: dict, label: str) -> dict[str, str | None]:
    """The conda packages of an environment file (without its ``pip:`` list)."""
    deps: dict[str, str | None] = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):  # the pip: sub-list
            continue
        name, lower = parse_spec(str(entry))
        name = CONDA_NAMES.get(name, name)
        assert name not in deps, f"{name} is listed twice in {label}"
        deps[name] = lower
    return deps


@pytest.fixture(scope="module")
def environment() -> dict:
    with open(ROOT / "environment.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def conda_deps(environment: dict) -> dict[str, str | None]:
    """The conda packages of environment.yml (without the ``pip:`` list): name -> lower bound."""
    return _conda_deps(environment, "environment.yml")


@pytest.fixture(scope="module")
def binder_environment() -> dict:
    with open(ROOT / ".binder" / "environment.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def binder_deps(binder_environment: dict) -> dict[str, str | None]:
    """The conda packages of .binder/environment.yml: name -> lower bound."""
    return _conda_deps(binder_environment, ".binder/environment.yml")


def test_environment_uses_conda_forge_only(environment: dict) -> None:
    assert environment.get("channels") == ["conda-forge"]


def test_pyproject_dependencies_have_lower_bounds(pyproject_deps: dict) -> None:
    problems = [
        f"{name} has no '>=' lower bound in pyproject.toml"
        for name, lower in pyproject_deps.items()
        if lower is None
    ]
    assert not problems, "\n".join(problems)


def test_every_pyproject_dependency_is_in_environment(
    pyproject_deps: dict, conda_deps: dict
) -> None:
    problems = []
    for name, lower in pyproject_deps.items():
        if name not in conda_deps:
            problems.append(f"{name} is in pyproject.toml but missing from environment.yml")
        elif conda_deps[name] != lower:
            problems.append(
                f"{name}: lower bound {conda_deps[name]!r} in environment.yml differs from "
                f"{lower!r} in pyproject.toml"
            )
    assert not problems, "\n".join(problems)


def test_environment_lists_nothing_extra(pyproject_deps: dict, conda_deps: dict) -> None:
    problems = [
        f"{name} is in environment.yml but not in pyproject.toml (dependencies or the "
        f"{'/'.join(EXTRAS)} extras)"
        for name in conda_deps
        if name not in CONDA_ONLY and name not in pyproject_deps
    ]
    assert not problems, "\n".join(problems)


def test_environment_python_matches_requires_python(pyproject: dict, conda_deps: dict) -> None:
    _, required = parse_spec("python" + pyproject["project"]["requires-python"])
    assert "python" in conda_deps, "python is missing from environment.yml"
    assert conda_deps["python"] == required, (
        f"python: environment.yml asks for >={conda_deps['python']}, "
        f"pyproject.toml for >={required}"
    )


def test_environment_installs_the_project(environment: dict, conda_deps: dict) -> None:
    assert "pip" in conda_deps, "pip is missing from environment.yml (needed for the pip: list)"
    pip_lists = [
        e["pip"] for e in environment["dependencies"] if isinstance(e, dict) and "pip" in e
    ]
    assert pip_lists, "environment.yml has no pip: list that installs the project"
    pip_entries = [" ".join(str(e).split()) for e in pip_lists[0]]
    assert "-e ." in pip_entries, "environment.yml does not install the project with '-e .' (pip)"


def test_binder_environment_has_the_runtime_packages(
    binder_environment: dict, binder_deps: dict, runtime_deps: dict, pyproject_deps: dict,
    pyproject: dict,
) -> None:
    """Binder gets every runtime dependency with pyproject's lower bound, and nothing unknown."""
    assert binder_environment.get("channels") == ["conda-forge"]
    problems = []
    for name, lower in runtime_deps.items():
        if name not in binder_deps:
            problems.append(f"{name} is a runtime dependency missing from .binder/environment.yml")
        elif binder_deps[name] != lower:
            problems.append(f"{name}: lower bound {binder_deps[name]!r} in .binder/environment.yml "
                            f"differs from {lower!r} in pyproject.toml")  # fmt: skip
    problems += [f"{name} is in .binder/environment.yml but not in pyproject.toml"
                 for name in binder_deps if name not in CONDA_ONLY | set(pyproject_deps)]
    _, required = parse_spec("python" + pyproject["project"]["requires-python"])
    if binder_deps.get("python") != required:
        problems.append(f".binder/environment.yml asks for python>={binder_deps.get('python')}, "
                        f"pyproject.toml for >={required}")  # fmt: skip
    assert not problems, "\n".join(problems)


def test_binder_installs_the_project_after_the_copy_and_makes_the_sample(
    binder_environment: dict,
) -> None:
    """repo2docker installs the environment before copying the repository: a `-e .` there
    fails the build (jupyterhub/repo2docker#1265), so postBuild installs the project."""
    pip_lists = [e["pip"] for e in binder_environment["dependencies"] if isinstance(e, dict)]
    entries = [" ".join(str(e).split()) for pip in pip_lists for e in pip]
    assert not [e for e in entries if e.startswith("-e") or e in (".", "./")], (
        ".binder/environment.yml must not install the project (the repository is not there yet)"
    )
    script = ROOT / ".binder" / "postBuild"
    assert script.is_file() and os.access(script, os.X_OK), ".binder/postBuild is not executable"
    code = [line.strip() for line in script.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]  # fmt: skip
    assert code[0].startswith("set -e"), "postBuild must stop at the first failing command"
    assert any(re.match(r"^python -m pip install (--\S+ )*-e \.$", line) for line in code)
    assert "python -m helpers.sample" in code, "postBuild does not make the embedded sample"


def _make_targets(text: str) -> set[str]:
    """Explicit targets of a Makefile (rule lines ``a b: deps``, not ``VAR := value``)."""
    targets: set[str] = set()
    for line in text.splitlines():
        if line.startswith(("\t", "#")):
            continue
        match = re.match(r"^([^:=#\s][^:=#]*?)\s*::?(?![=])", line)
        if match:
            targets.update(match.group(1).split())
    return targets


def _phony_targets(text: str) -> set[str]:
    phony: set[str] = set()
    for match in re.finditer(r"^\.PHONY\s*:(.*)$", text, flags=re.MULTILINE):
        phony.update(match.group(1).split())
    return phony


@pytest.mark.parametrize("target", MAKE_TARGETS)
def test_makefile_has_target(target: str) -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert target in _make_targets(text), f"the Makefile has no '{target}' target"
    assert target in _phony_targets(text), f"the Makefile's '{target}' target is not .PHONY"


def test_ci_runs_make_test() -> None:
    script = ROOT / ".ci" / "run"
    assert script.is_file(), ".ci/run is missing"
    assert os.access(script, os.X_OK), ".ci/run is not executable"
    lines = script.read_text(encoding="utf-8").splitlines()
    code = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert any(re.match(r"^(exec\s+)?make\s+test\b", line) for line in code), (
        ".ci/run does not call 'make test'"
    )
    assert "set -euo pipefail" in code, ".ci/run does not 'set -euo pipefail'"


#: The only actions the Pages workflow may use: GitHub's own, documented ones.
PAGES_ACTIONS = {"actions/checkout", "actions/setup-python", "actions/upload-pages-artifact",
                 "actions/deploy-pages"}  # fmt: skip


def test_pages_workflow_builds_the_book_with_documented_actions_only() -> None:
    with open(ROOT / ".github" / "workflows" / "book.yml", encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers["push"]["branches"] == ["main"]
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    used = {step["uses"].split("@")[0] for step in steps if "uses" in step}
    assert used <= PAGES_ACTIONS, f"actions beyond GitHub's documented ones: {used - PAGES_ACTIONS}"
    assert {"actions/upload-pages-artifact", "actions/deploy-pages"} <= used
    runs = [step["run"] for step in steps if "run" in step]
    assert any(re.match(r"^make book\b", run) for run in runs), "the workflow does not `make book`"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "build/book"


def test_readme_and_make_help_list_every_target() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `make ([\w-]+)`", readme, flags=re.MULTILINE))
    helped = set(re.findall(r'^\t@echo "  ([\w-]+)\s', makefile, flags=re.MULTILINE))
    targets = _phony_targets(makefile) - {"help"}
    assert targets <= table, f"not in the README's Make targets table: {targets - table}"
    assert targets <= helped, f"not listed by `make help`: {targets - helped}"


def test_readme_explains_every_test_marker(pyproject: dict) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    markers = {m.split(":")[0] for m in pyproject["tool"]["pytest"]["ini_options"]["markers"]}
    table = set(re.findall(r"^\| `(\w+)` \|", readme, flags=re.MULTILINE))
    assert markers <= table, f"markers missing from the README's table: {markers - table}"
