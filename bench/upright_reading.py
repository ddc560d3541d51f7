"""Portrait drawings read as drawn and turned a quarter turn to landscape, side by side.

    python bench/upright_reading.py --images ../shared/data/uspto-300 [--ckpt_path CKPT]

``clean()`` turns drawings whose ink is taller than wide (``CleanParams.turn_portrait``), a habit
from the BMS scans; patent text is drawn upright. This reads only the drawings the turn changes,
once each way, with one checkpoint (default: the shipped model), and prints the exact matches
(after ``evaluate``'s RDKit post-processing) of each way, as a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses

from inchi_lightning.evaluation.labelled_set import (
    LabelledImages,
    load_reader,
    read_labelled_rows,
    read_samples,
)
from inchi_lightning.imaging import CleanParams, ImageError, clean_with_transform, read_gray
from inchi_lightning.shipped import require_shipped_model


def is_turned(path, params: CleanParams) -> bool:
    """Whether ``clean()`` turns this image: its geometry then swaps x and y."""
    try:
        _, matrix = clean_with_transform(
            read_gray(path), dataclasses.replace(params, turn_portrait=True)
        )
    except ImageError:
        return False
    return abs(matrix[0, 1]) > 0


def exact_matches(model, layout, rows, params: CleanParams) -> int:
    images = LabelledImages(layout, rows, params, model.reading_sizes)
    samples = read_samples(model, images, batch_size=16, progress=False)
    return sum(sample.prediction.final == sample.truth for sample in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", required=True, help="a labelled image set (either layout)")
    parser.add_argument("--ckpt_path", help="the checkpoint to read with (default: shipped)")
    args = parser.parse_args()
    model = load_reader(args.ckpt_path or require_shipped_model())
    layout, rows = read_labelled_rows(args.images)
    portrait = [
        row for row in rows if is_turned(layout.image_path(row.image_id), model.clean_params)
    ]
    print(f"{len(portrait)} of {len(rows)} drawings are turned by clean()\n")
    print("| portrait drawings | exact |\n| --- | ---: |")
    for name, turn in (("turned to landscape", True), ("upright, as drawn", False)):
        params = dataclasses.replace(model.clean_params, turn_portrait=turn)
        right = exact_matches(model, layout, portrait, params)
        print(f"| {name} | {right} / {len(portrait)} ({right / max(len(portrait), 1):.1%}) |")


if __name__ == "__main__":
    main()
