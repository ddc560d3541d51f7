"""What a fit did, read back from its TensorBoard log: steps, training images/s, the curve.

    python bench/fit_summary.py logs/cpu-60min            # the newest version_N under it
    python bench/fit_summary.py logs/gpu-attention/version_0

Prints a Markdown table of every validation (step, minutes since the first logged point, and
whichever of val/levenshtein, val/exact_match, val/atom_recall, val/bond_recall, val/loss the
model logs; images seen with ``--batch-size``) and one line with the median of
``train/images_per_s`` (the module's own rate, data loading included) over the logged steps
after the first ``--skip`` (start-up and the first loader fill are not the rate).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def newest_version(log_dir: Path) -> Path:
    """``log_dir`` itself when it holds event files, else its newest ``version_N``."""
    if any(log_dir.glob("events.out.tfevents.*")):
        return log_dir
    versions = sorted(log_dir.glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    if not versions:
        raise SystemExit(f"error: no TensorBoard events under {log_dir}")
    return versions[-1]


VALIDATION_TAGS = ("val/levenshtein", "val/exact_match", "val/atom_recall", "val/bond_recall",
                   "val/loss")  # fmt: skip


def scalars(run: Path) -> tuple[dict[str, list[tuple[int, float]]], dict[int, float]]:
    """Every scalar series of the run as (step, value), in step order, and the minutes since the
    first logged point at which each step was first logged."""
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags()["scalars"]
    series = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in tags}
    times = [(e.step, e.wall_time) for tag in tags for e in events.Scalars(tag)]
    start = min((t for _, t in times), default=0.0)
    minutes: dict[int, float] = {}
    for step, wall_time in sorted(times, key=lambda point: point[1]):
        minutes.setdefault(step, (wall_time - start) / 60)
    return series, minutes


def validation_table(series, minutes: dict[int, float], batch_size: int | None) -> list[str]:
    tags = [tag for tag in VALIDATION_TAGS if tag in series]
    values = {tag: dict(series[tag]) for tag in tags}
    steps = sorted({step for tag in tags for step in values[tag]})
    head = ["step", *(["images seen"] if batch_size else []), "minutes", *tags]
    lines = ["| " + " | ".join(head) + " |", "|" + " ---: |" * len(head)]
    for step in steps:
        cells = [str(step), *([f"{(step + 1) * batch_size:,}"] if batch_size else [])]
        cells.append(f"{minutes.get(step, float('nan')):.1f}")
        for tag in tags:
            value = values[tag].get(step)
            percent = tag.endswith(("exact_match", "recall"))
            cells.append("" if value is None else f"{value:.1%}" if percent else f"{value:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary(
    series: dict[str, list[tuple[int, float]]],
    skip: int,
    minutes: dict[int, float] | None = None,
    batch_size: int | None = None,
) -> str:
    rates = [value for _, value in series.get("train/images_per_s", [])[skip:]]
    loss = series.get("train/loss", [])
    last_step = max((step for values in series.values() for step, _ in values), default=0)
    lines = [
        f"last logged step {last_step}; "
        + (
            f"train/images_per_s median {statistics.median(rates):.1f} over {len(rates)} logged "
            f"steps (min {min(rates):.1f}, max {max(rates):.1f})"
            if rates
            else "no train/images_per_s logged"
        )
        + (f"; last train/loss {loss[-1][1]:.3f}" if loss else ""),
        "",
        *validation_table(series, minutes or {}, batch_size),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log_dir", type=Path, help="a logger's directory or one version_N")
    parser.add_argument(
        "--skip", type=int, default=2, help="logged rate points to leave out at the start (2)"
    )
    parser.add_argument("--batch-size", type=int, help="adds an images-seen column")
    args = parser.parse_args()
    run = newest_version(args.log_dir)
    print(f"{run}\n")
    series, minutes = scalars(run)
    print(summary(series, args.skip, minutes, args.batch_size))


if __name__ == "__main__":
    main()
