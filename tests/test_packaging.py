"""Every package the code imports is declared in pyproject.toml: the package's own imports as
dependencies, the tests', bench scripts' and maintenance scripts' as dependencies or ``dev``
extras. A fresh install (CI's) would otherwise find it missing, or find it only by luck as a
dependency of a dependency."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
FIRST_PARTY = {"inchi_lightning", "tests", "rounds"}  # rounds: bench/'s shared helper


def imported_names(folder: Path) -> set[str]:
    """The top-level names every module under ``folder`` imports, lazily or not."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - FIRST_PARTY - {"__future__"}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {normalised(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements}


def undeclared(names: set[str], allowed: set[str]) -> list[str]:
    """The imported names no allowed distribution provides."""
    providers = importlib.metadata.packages_distributions()
    return sorted(
        name for name in names if not {normalised(d) for d in providers.get(name, [name])} & allowed
    )


def test_the_package_imports_only_its_dependencies():
    assert undeclared(imported_names(ROOT / "inchi_lightning"), declared()) == []


def test_tests_bench_and_scripts_import_only_declared_packages():
    names = set().union(*(imported_names(ROOT / d) for d in ("tests", "bench", "scripts")))
    assert undeclared(names, declared("dev")) == []


def test_an_undeclared_import_is_found(tmp_path):
    (tmp_path / "module.py").write_text("import numpy\nimport pandas\nfrom . import sibling\n")
    names = imported_names(tmp_path)
    assert names == {"numpy", "pandas"}
    assert undeclared(names, declared()) == ["pandas"]
