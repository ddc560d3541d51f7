"""The package's layers, enforced over its import graph (grimp): imports point down, never in a
circle.

From the top: ``cli`` (every command) > ``evaluation`` > ``training`` > ``network`` | ``prep``
(independent of each other) > the root modules every layer shares (tokenizer, chem, imaging,
shards, ...). Lazy imports inside functions count: grimp reads every import statement.
"""

from __future__ import annotations

import sys
import textwrap

import grimp
import pytest

PACKAGE = "inchi_lightning"
# Top first; the names in one tuple are sibling layers that must not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("evaluation",),
    ("training",),
    ("network", "prep"),
)
ENTRY_POINTS = {"__main__": "cli"}  # root modules that belong to a layer above the root


def layer_of(module: str, layers=LAYERS) -> tuple[int, str]:
    """(rank, layer name) of a module: rank 0 is the top; the root modules rank below all."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    name = ENTRY_POINTS.get(name, name)
    for rank, siblings in enumerate(layers):
        if name in siblings:
            return rank, name
    return len(layers), "(root)"


def illegal_imports(graph: grimp.ImportGraph, package: str, layers=LAYERS) -> list[str]:
    """Every import from a layer to a higher one or to a sibling, as 'importer -> imported'."""
    found = []
    for importer in sorted(graph.modules):
        rank, layer = layer_of(importer, layers)
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if not imported.startswith(package):
                continue
            other_rank, other_layer = layer_of(imported, layers)
            if other_rank < rank or (other_rank == rank and other_layer != layer):
                found.append(f"{importer} -> {imported}")
    return found


def import_cycles(graph: grimp.ImportGraph, package: str) -> list[str]:
    """Every direct import ``a -> b`` whose module ``b`` also reaches ``a``: an import circle."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported.startswith(package) and graph.chain_exists(imported, importer):
                found.append(f"{importer} -> {imported}")
    return found


@pytest.fixture(scope="module")
def package_graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def test_every_import_points_down_the_layers(package_graph):
    assert illegal_imports(package_graph, PACKAGE) == []


def test_no_module_imports_itself_through_others(package_graph):
    assert import_cycles(package_graph, PACKAGE) == []


def test_every_subpackage_is_a_named_layer(package_graph):
    subpackages = {
        m.split(".")[1] for m in package_graph.modules if m.count(".") == 2
    }  # modules inside a folder
    named = {name for siblings in LAYERS for name in siblings}
    assert subpackages <= named, f"a folder outside the layer list: {subpackages - named}"


def test_the_checks_catch_an_upward_import_a_sibling_import_and_a_circle(tmp_path, monkeypatch):
    files = {
        "fake/__init__.py": "",
        "fake/base.py": "import fake.base_two\n",
        "fake/base_two.py": "def helper():\n    import fake.base\n",  # a lazy circle
        "fake/cli/__init__.py": "",
        "fake/training/__init__.py": "",
        "fake/training/loop.py": "from fake.cli import x\nimport fake.base\n",  # upward
        "fake/network/__init__.py": "",
        "fake/network/net.py": "import fake.prep.draw\n",  # sibling
        "fake/prep/__init__.py": "",
        "fake/prep/draw.py": "import fake.base\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("fake", cache_dir=None)
    assert illegal_imports(graph, "fake") == [
        "fake.network.net -> fake.prep.draw",
        "fake.training.loop -> fake.cli",
    ]
    assert import_cycles(graph, "fake") == [
        "fake.base -> fake.base_two",
        "fake.base_two -> fake.base",
    ]
    for module in [m for m in sys.modules if m == "fake" or m.startswith("fake.")]:
        del sys.modules[module]
