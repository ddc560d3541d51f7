"""What a fit did, read back from its TensorBoard log: steps, training images/s, the curve.

    python bench/fit_summary.py logs/cpu-60min            # the newest version_N under it
    python bench/fit_summary.py logs/gpu-attention/version_0

Prints a Markdown table of every validation (step, val/levenshtein, val/loss) and one line with
the median of ``train/images_per_s`` (the module's own rate, data loading included) over the
logged steps after the first ``--skip`` (start-up and the first loader fill are not the rate).
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


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of the run as (step, value), in step order."""
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def summary(series: dict[str, list[tuple[int, float]]], skip: int) -> str:
    rates = [value for _, value in series.get("train/images_per_s", [])[skip:]]
    loss = series.get("train/loss", [])
    val = dict(series.get("val/levenshtein", []))
    val_loss = dict(series.get("val/loss", []))
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
        "| step | val/levenshtein | val/loss |",
        "| ---: | ---: | ---: |",
    ]
    for step in sorted(val):
        loss_text = f"{val_loss[step]:.3f}" if step in val_loss else ""
        lines.append(f"| {step} | {val[step]:.2f} | {loss_text} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log_dir", type=Path, help="a logger's directory or one version_N")
    parser.add_argument(
        "--skip", type=int, default=2, help="logged rate points to leave out at the start (2)"
    )
    args = parser.parse_args()
    run = newest_version(args.log_dir)
    print(f"{run}\n")
    print(summary(scalars(run), args.skip))


if __name__ == "__main__":
    main()
