"""The package's layers, enforced over its import graph (grimp): imports point down, never in a
circle.

From the top: ``cli`` (every command, and the package itself: ``from inchi_lightning import
Reader``) > ``evaluation`` > ``training`` > ``reading`` > ``network`` | ``prep`` (independent of
each other) > ``chemistry`` > the root modules every layer shares, in their own order. Lazy
imports inside functions count: grimp reads every import statement. Beside the order, which
outside packages a layer may use: the network only torch and torchvision, RDKit only the
chemistry and prep layers.
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
    ("reading",),
    ("network", "prep"),
    ("chemistry",),
    # The root modules.
    ("labels_file",),
    ("shards",),
    ("tokenizer", "imaging"),
    ("files", "processes", "shipped"),
)
# Root modules that belong to a layer above the root: "" is the package's own __init__.
ENTRY_POINTS = {"__main__": "cli", "": "cli"}
# The only outside packages a layer's modules may import, beside Python's standard library.
ALLOWED_OUTSIDE = {"network": {"torch", "torchvision"}}
RDKIT_LAYERS = {"chemistry", "prep"}


def layer_of(module: str, layers=LAYERS) -> tuple[int, str]:
    """(rank, layer name) of a module: rank 0 is the top; a module of no layer ranks below
    all (``test_every_module_is_in_a_named_layer`` finds it)."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    name = ENTRY_POINTS.get(name, name)
    for rank, siblings in enumerate(layers):
        if name in siblings:
            return rank, name
    return len(layers), "(none)"


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


def test_every_module_is_in_a_named_layer(package_graph):
    unnamed = sorted(m for m in package_graph.modules if layer_of(m)[1] == "(none)")
    assert unnamed == [], f"modules outside the layer list: {unnamed}"


@pytest.fixture(scope="module")
def outside_graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None, include_external_packages=True)


def outside_packages(graph: grimp.ImportGraph, module: str) -> set[str]:
    """The top-level names of the outside packages ``module`` imports (stdlib left out)."""
    imported = graph.find_modules_directly_imported_by(module)
    tops = {name.split(".")[0] for name in imported if not name.startswith(PACKAGE)}
    return tops - set(sys.stdlib_module_names) - {"__future__"}


def test_the_network_imports_only_torch_and_torchvision(outside_graph):
    for layer, allowed in ALLOWED_OUTSIDE.items():
        modules = [m for m in outside_graph.modules if layer_of(m)[1] == layer]
        assert modules
        for module in modules:
            assert outside_packages(outside_graph, module) <= allowed, module


def test_rdkit_stays_in_the_chemistry_and_prep_layers(outside_graph):
    users = {
        m
        for m in outside_graph.modules
        if m.startswith(PACKAGE) and "rdkit" in outside_packages(outside_graph, m)
    }
    assert users and {layer_of(m)[1] for m in users} <= RDKIT_LAYERS, sorted(users)


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
