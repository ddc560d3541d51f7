"""Per-sample analyses of ``evaluate``'s CSVs (``evaluate --out``), one subcommand each:

    python -m inchi_lightning evaluate --images data/heldout190 --out shipped.csv
    python bench/analyse.py style shipped.csv other.csv --seed 190 --n 1114 --patent-fraction 0.5
    python bench/analyse.py label data/heldout190 shipped.csv --style patent \\
        --seed 190 --n 1114 --patent-fraction 0.5
    python bench/analyse.py confidence shipped.csv
    python bench/analyse.py misses shipped.csv

``style``: exact match and Levenshtein, BMS and patent styles apart, one row per CSV. ``label``:
exact match by drawn atom label. ``confidence``: exact match of the readings a model is surest
of. ``misses``: what kind of mistake each wrong reading is. ``python bench/analyse.py COMMAND
--help`` says more. Every analysis scores the ``final`` column (after RDKit's post-processing),
as ``evaluate`` reports, against ``truth``; each CSV is read once.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from inchi_lightning.chemistry.inchi import inchi_from_mol, inchi_without_stereo, mol_from_inchi
from inchi_lightning.prep.styles import STYLE_KINDS

Row = dict[str, str]
Readings = list[tuple[Path, list[Row]]]  # each CSV given and its rows, in order

# ---- the CSVs, read once ------------------------------------------------------------------------


def read_samples(path: Path, columns: Iterable[str]) -> list[Row]:
    """The rows of one ``evaluate --out`` CSV, refused without the ``columns`` an analysis needs."""
    if not path.is_file():
        raise SystemExit(f"error: no file {path}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in columns if column not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"error: {path} has no {missing[0]} column (an evaluate --out CSV?)")
        return list(reader)


def exact(row: Row, column: str = "final") -> bool:
    return row[column] == row["truth"]


def synth_styles(args: argparse.Namespace) -> dict[str, str]:
    """Each image id of the synth run ``--seed``, ``--n``, ``--patent-fraction`` -> its style."""
    from inchi_lightning.prep.synth import image_styles  # OpenCV and the drawing: only here

    return image_styles(args.seed, args.n, args.patent_fraction)


# ---- style --------------------------------------------------------------------------------------


def style_cell(rows: list[Row]) -> str:
    right = sum(exact(row) for row in rows)
    return f"{right} / {len(rows)} ({right / len(rows):.2%})" if rows else "-"


def style_row(path: Path, rows: list[Row], styles: dict[str, str]) -> str:
    unknown = [row["image_id"] for row in rows if row["image_id"] not in styles]
    if unknown:
        raise SystemExit(
            f"error: {path}: {len(unknown)} ids not in this synth plan, e.g. {unknown[0]}"
        )
    by_style = defaultdict(list)
    for row in rows:
        by_style[styles[row["image_id"]]].append(row)
    distances = [int(row["levenshtein_final"]) for row in rows]
    distance = f"{statistics.mean(distances):.2f}" if distances else "-"
    cells = [style_cell(rows), *(style_cell(by_style[style]) for style in STYLE_KINDS), distance]
    return f"| {path.name} | " + " | ".join(cells) + " |"


def style(readings: Readings, args: argparse.Namespace) -> str:
    styles = synth_styles(args)
    lines = [
        "| reading | all | BMS style | patent style | Levenshtein |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    return "\n".join(lines + [style_row(path, rows, styles) for path, rows in readings])


# ---- label --------------------------------------------------------------------------------------


def drawn_labels(dataset: Path) -> dict[str, set[str]]:
    """Each image's atom labels, as synth annotated them (none for an image without a graph)."""
    labels = {}
    with (dataset / "train_annotations.jsonl").open() as handle:
        for line in handle:
            record = json.loads(line)
            graph = record["graph"] or {"atoms": []}
            labels[record["image_id"]] = {atom[2] for atom in graph["atoms"]}
    return labels


def right_by_label(
    rows: list[Row], labels: dict[str, set[str]], images: set[str]
) -> tuple[Counter, Counter]:
    """(drawings, right readings) per label among ``images`` of one CSV's rows."""
    shown, right = Counter(), Counter()
    for row in rows:
        if row["image_id"] in images:
            for label in labels[row["image_id"]]:
                shown[label] += 1
                right[label] += exact(row)
    return shown, right


def label(readings: Readings, args: argparse.Namespace) -> str:
    labels = drawn_labels(args.dataset)
    images = set(labels)
    if args.style:
        styles = synth_styles(args)
        images = {image for image in images if styles.get(image) == args.style}
    counts = [right_by_label(rows, labels, images) for _, rows in readings]
    shown, first_right = counts[0]
    order = sorted(shown, key=lambda name: (first_right[name] - shown[name], name))
    lines = [
        "| label | drawings | " + " | ".join(path.name for path, _ in readings) + " |",
        "| --- | ---: |" + " ---: |" * len(readings),
    ]
    for name in order[: args.top]:
        cells = [str(right[name]) for _, right in counts]
        lines.append(f"| {name} | {shown[name]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- confidence ---------------------------------------------------------------------------------

SHARES = (0.5, 0.75, 0.9, 0.95, 1.0)


def confident_first(rows: list[Row]) -> list[tuple[float, bool]]:
    """(confidence, exact) per row, the most confident first, NaN (unreadable) last."""
    pairs = [(float(row["confidence"]), exact(row)) for row in rows]
    return sorted(pairs, key=lambda pair: math.inf if math.isnan(pair[0]) else -pair[0])


def coverage_rows(
    pairs: list[tuple[float, bool]], shares: tuple[float, ...] = SHARES
) -> list[tuple[float, int, float, int]]:
    """(share, images kept, the least confidence kept, exact among them) for each share."""
    rows = []
    for share in shares:
        kept = pairs[: max(1, round(share * len(pairs)))]
        rows.append((share, len(kept), kept[-1][0], sum(right for _, right in kept)))
    return rows


def confidence_table(path: Path, rows: list[Row]) -> str:
    if not rows:
        raise SystemExit(f"error: {path} has no rows")
    lines = [
        f"{path} ({len(rows)} images)",
        "",
        "| most confident | images | confidence at least | exact | exact match |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for share, kept, least, right in coverage_rows(confident_first(rows)):
        lines.append(f"| {share:.0%} | {kept} | {least:.3g} | {right} | {right / kept:.1%} |")
    return "\n".join(lines)


def confidence(readings: Readings, args: argparse.Namespace) -> str:
    return "\n\n".join(confidence_table(path, rows) for path, rows in readings)


# ---- misses -------------------------------------------------------------------------------------

KINDS = (
    "right",
    "right but for stereo",
    "no molecule",
    "right molecule, extra fragments",
    "right formula, other structure",
    "right atom count, other elements",
    "fewer heavy atoms",
    "more heavy atoms",
)
SWAPPED = "right atom count, other elements"


def elements(molecule: Chem.Mol) -> Counter:
    return Counter(atom.GetSymbol() for atom in molecule.GetAtoms())


def kind_of_molecules(truth: str, expected: Chem.Mol, read: Chem.Mol) -> str:
    """The kind of a wrong reading ``read`` that RDKit parsed, against ``expected``."""
    fragments = {inchi_from_mol(part) for part in Chem.GetMolFrags(read, asMols=True)}
    if len(Chem.GetMolFrags(expected)) == 1 and truth in fragments:
        return "right molecule, extra fragments"
    formula = rdMolDescriptors.CalcMolFormula
    if formula(read) == formula(expected):
        return "right formula, other structure"
    difference = read.GetNumHeavyAtoms() - expected.GetNumHeavyAtoms()
    if difference == 0:
        return SWAPPED
    return "fewer heavy atoms" if difference < 0 else "more heavy atoms"


def kind_of(truth: str, reading: str) -> str:
    """The first of ``KINDS`` that fits ``reading`` of ``truth``."""
    if reading == truth:
        return "right"
    if reading and inchi_without_stereo(reading) == inchi_without_stereo(truth):
        return "right but for stereo"
    expected, read = mol_from_inchi(truth), mol_from_inchi(reading)
    if read is None or expected is None:
        return "no molecule"
    return kind_of_molecules(truth, expected, read)


def swaps(truth: str, reading: str) -> list[str]:
    """ "O->Cl"-style swaps between the two molecules' element counts, atom for atom."""
    expected, read = elements(mol_from_inchi(truth)), elements(mol_from_inchi(reading))
    lost = [e for e in sorted(expected) for _ in range(expected[e] - read[e])]
    gained = [e for e in sorted(read) for _ in range(read[e] - expected[e])]
    return [f"{a}->{b}" for a, b in zip(lost, gained, strict=False)]


def misses_table(path: Path, rows: list[Row], column: str) -> str:
    kinds, swapped = Counter(), Counter()
    for row in rows:
        kind = kind_of(row["truth"], row[column])
        kinds[kind] += 1
        if kind == SWAPPED:
            swapped.update(swaps(row["truth"], row[column]))
    lines = [f"{path}: {len(rows)} images, column {column!r}", "", "| kind | images | share |"]
    lines.append("| --- | ---: | ---: |")
    lines += [f"| {k} | {kinds[k]} | {kinds[k] / max(len(rows), 1):.1%} |" for k in KINDS]
    if swapped:
        common = ", ".join(f"{swap} {count}" for swap, count in swapped.most_common(6))
        lines += ["", f"element swaps where the atom count is right: {common}"]
    return "\n".join(lines)


def misses(readings: Readings, args: argparse.Namespace) -> str:
    return "\n\n".join(misses_table(path, rows, args.column) for path, rows in readings)


# ---- the command --------------------------------------------------------------------------------


def add_csvs(parser: argparse.ArgumentParser, text: str = "evaluate --out files") -> None:
    parser.add_argument("csvs", type=Path, nargs="+", metavar="CSV", help=text)


def add_synth_run(parser: argparse.ArgumentParser, required: bool, note: str = "") -> None:
    """The synth command's --seed, --n and --patent-fraction: which style each image id has."""
    for flag, kind in (("--seed", int), ("--n", int), ("--patent-fraction", float)):
        parser.add_argument(
            flag, type=kind, required=required, help=f"the synth command's {flag}{note}"
        )


def subcommand(
    commands: argparse._SubParsersAction, name: str, run: Callable, text: str
) -> argparse.ArgumentParser:
    summary = text.partition("\n\n")[0]
    parser = commands.add_parser(
        name, help=summary, description=text, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.set_defaults(run=run)
    return parser


STYLE_HELP = """\
exact match and Levenshtein, BMS and patent styles apart, one row per CSV

The CSVs are readings of one synth set, several side by side. A synth image's style follows
from its id (synth.image_styles): --seed, --n and --patent-fraction are the synth command's."""

LABEL_HELP = """\
exact match by drawn atom label, the most missed first in the first reading

For each atom label of a synth set (a text group such as C4H9 or (CH2)3, or an element), how
many drawings that show it each reading got right; one row per label, several readings side
by side. The labels come from DATASET's train_annotations.jsonl (what synth drew, text groups
as their class); --style keeps the drawings of one style (needs the synth command's --seed,
--n and --patent-fraction)."""

CONFIDENCE_HELP = """\
exact match of the readings a model is surest of, one table per CSV

Rows keep the most confident readings first: at each share of the images, the confidence a
reading needs to be kept, and how many of those kept are exact. A user who checks by hand what
falls below the threshold reads the rest at that exact match. Unreadable images (no
confidence) count as kept last."""

MISSES_HELP = """\
what kind of mistake each wrong reading is, one table per CSV

Each image falls in the first kind that fits: right; right but for stereo; no molecule read;
the labelled molecule read plus extra fragments (stray text or marks read as atoms); the right
formula in another structure; the right number of heavy atoms with other elements (the
element swaps most often seen are listed); fewer heavy atoms (text groups and labels not
expanded, most often); more heavy atoms. The kinds say where to look, not why: look at the
images."""


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    by_style = subcommand(commands, "style", style, STYLE_HELP)
    add_csvs(by_style, "evaluate --out files of one synth set")
    add_synth_run(by_style, required=True)
    by_label = subcommand(commands, "label", label, LABEL_HELP)
    by_label.add_argument("dataset", type=Path, metavar="DATASET", help="the synth set they read")
    add_csvs(by_label, "evaluate --out files of that set")
    by_label.add_argument("--style", choices=STYLE_KINDS, help="only the drawings of this style")
    add_synth_run(by_label, required=False, note=" (with --style)")
    by_label.add_argument("--top", type=int, default=20, help="rows to print (default: 20)")
    add_csvs(subcommand(commands, "confidence", confidence, CONFIDENCE_HELP))
    by_kind = subcommand(commands, "misses", misses, MISSES_HELP)
    add_csvs(by_kind)
    by_kind.add_argument("--column", default="final", help="the reading to judge (default final)")
    return main_parser


# The columns each analysis reads besides the reading it judges (``final``, or misses' --column).
COLUMNS = {
    "style": ("image_id", "truth", "levenshtein_final"),
    "label": ("image_id", "truth"),
    "confidence": ("truth", "confidence"),
    "misses": ("truth",),
}


def main(argv: list[str] | None = None) -> None:
    command = parser()
    args = command.parse_args(argv)
    if args.command == "label" and args.style and None in (args.seed, args.n, args.patent_fraction):
        command.error("label --style needs the synth command's --seed, --n and --patent-fraction")
    columns = (*COLUMNS[args.command], vars(args).get("column", "final"))
    readings = [(path, read_samples(path, columns)) for path in args.csvs]
    print(args.run(readings, args))


if __name__ == "__main__":
    main()
