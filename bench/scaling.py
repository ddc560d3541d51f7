"""Scaling on paper: hours per epoch of the 2.4M-image BMS training set on N CPU nodes vs one GPU.

    python bench/scaling.py --per-core 1.65 --efficiency 0.83

Inputs are measured figures, not guesses: ``--per-core`` is training images/s per core of the
model in question (bench/model_speed.py or bench/train_throughput.py, divided by the cores),
``--efficiency`` the measured data-parallel efficiency of Ray Train workers against one
process on the same cores (bench/train_throughput.py: row (d) / row (a)), ``--gpu`` one GPU's
images/s for the same model. The table assumes that efficiency holds at every node count
(optimistic beyond one machine: gradients then cross a network) and cost proportional to
machine-hours.
"""

from __future__ import annotations

import argparse
import sys

BMS_TRAIN_IMAGES = 2_424_186


def hours(images: int, images_per_s: float) -> float:
    return images / images_per_s / 3600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-core", type=float, required=True, help="images/s per CPU core")
    parser.add_argument("--efficiency", type=float, required=True, help="Ray scaling, 0-1")
    parser.add_argument("--gpu", type=float, default=3100.0, help="one GPU's images/s")
    parser.add_argument("--cores-per-node", type=int, default=16)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 4, 16, 64])
    args = parser.parse_args(argv)

    gpu_hours = hours(BMS_TRAIN_IMAGES, args.gpu)
    print("| machines | images/s | hours per epoch | machine-hours per epoch | vs one GPU |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for nodes in args.nodes:
        # One node is one process per core group, so the efficiency applies from the first node.
        rate = args.per_core * args.cores_per_node * nodes * args.efficiency
        wall = hours(BMS_TRAIN_IMAGES, rate)
        print(
            f"| {nodes} x {args.cores_per_node}-core CPU node | {rate:,.0f} | {wall:,.1f} "
            f"| {wall * nodes:,.0f} | {wall / gpu_hours:,.1f}x the time |"
        )
    print(f"| 1 GPU | {args.gpu:,.0f} | {gpu_hours:,.2f} | {gpu_hours:,.2f} | 1.0x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
