"""The options every reading command shares (``predict``, ``evaluate``): the checkpoint and how
``Reader`` reads with it."""

from __future__ import annotations

import argparse
from typing import Any


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_reading_options(parser: argparse.ArgumentParser) -> None:
    """``--ckpt_path`` and ``Reader``'s settings, as options of ``parser``."""
    parser.add_argument(
        "--ckpt_path", "--ckpt-path", help="model checkpoint (default: the shipped model)"
    )
    parser.add_argument("--batch-size", type=positive_int, default=16, help="images per batch")
    parser.add_argument("--num-threads", type=positive_int, help="CPU threads (default: all)")
    parser.add_argument(
        "--vote",
        choices=["auto", "always", "never"],
        default="always",
        help="the graph recogniser reads an image again at the sizes its bonds ask for and "
        "votes: on every image (always, the default: most accurate), only where its reading "
        "is unsure (auto: faster, a few fewer right), or never (fastest)",
    )
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="the network's arithmetic; auto: bf16 on CPUs with native bf16, else fp32",
    )
    parser.add_argument(
        "--beam-width",
        type=positive_int,
        help="the captioner's candidates per image (default: the checkpoint's); the graph "
        "recogniser reads one molecule",
    )


def reader_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``Reader``'s settings (all but the checkpoint, ``args.ckpt_path``) from the options
    ``add_reading_options`` added."""
    return {
        "batch_size": args.batch_size,
        "num_threads": args.num_threads,
        "vote": args.vote,
        "precision": args.precision,
        "beam_width": args.beam_width,
    }
