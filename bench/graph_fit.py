"""A timed fit of the graph recogniser under Lightning, with its learning curve.

Draws a synthetic set with annotations (synth), preprocesses it (local processes), trains
``GraphReader`` for ``--minutes`` and validates every ``--val-every`` steps on a held-out split,
writing exact match and Levenshtein against images seen to ``RUN/curve.csv``. At the end it
reads ``--uspto`` (real patent drawings, labelled) with the same model and scores it.

    python bench/graph_fit.py --run ~/runs/graph-cpu --n 8000 --size 192 --minutes 22

The set is drawn and preprocessed once per ``--run`` (or ``--shards`` names one built before).
``--init CKPT`` starts from an earlier fit's weights (a new optimiser and schedule); the fit
writes ``RUN/last.ckpt`` every ``--save-every`` steps and, run again with the same arguments,
resumes from it.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader


class Curve(L.Callback):
    """Appends (step, images seen, minutes, val exact match, val Levenshtein) per validation."""

    def __init__(self, path: Path, batch_size: int, append: bool = False) -> None:
        self.path, self.batch_size, self.start = path, batch_size, time.perf_counter()
        if append:
            return
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerow(
                ["step", "images_seen", "minutes", "exact_match", "levenshtein",
                 "atom_recall", "bond_recall"]
            )  # fmt: skip

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        row = [
            trainer.global_step,
            trainer.global_step * self.batch_size,
            round((time.perf_counter() - self.start) / 60, 2),
            *(round(float(metrics.get(f"val/{k}", float("nan"))), 4)
              for k in ("exact_match", "levenshtein", "atom_recall", "bond_recall")),
        ]  # fmt: skip
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow(row)
        print("curve:", row, flush=True)


def build_set(run: Path, n: int, size: int, patent_fraction: float) -> Path:
    from inchi_lightning.imaging import CleanParams
    from inchi_lightning.prep.preprocess import preprocess
    from inchi_lightning.prep.synth import synthesise

    shards = run / "shards"
    if not (shards / "manifest.json").is_file():
        synthesise(run / "raw", n=n, seed=0, patent_fraction=patent_fraction)
        preprocess(
            run / "raw", shards, clean_params=CleanParams(image_size=size),
            val_fraction=300 / n, processes=True,
        )  # fmt: skip
    return shards


def score_folder(model, folder: Path, size: int) -> tuple[float, float, int]:
    """Exact match and mean Levenshtein of ``model`` on a labelled folder (flat layout)."""
    from rapidfuzz.distance import Levenshtein

    from inchi_lightning.graph_chem import molecule_from_graph
    from inchi_lightning.imaging import ImageError, clean, read_gray
    from inchi_lightning.labels_file import read_pairs

    pairs = read_pairs(folder / "labels.csv")
    exact, distance = 0, 0
    for image_id, truth in pairs.items():
        try:
            image = clean(read_gray(folder / "images" / f"{image_id}.png"), model.clean_params)
            graph = model.read(torch.from_numpy(image)[None, None])[0]
            inchi = molecule_from_graph(graph).inchi
        except ImageError:
            inchi = ""
        exact += inchi == truth
        distance += Levenshtein.distance(inchi, truth)
    return exact / len(pairs), distance / len(pairs), len(pairs)


def main() -> None:
    from inchi_lightning.imaging import CleanParams
    from inchi_lightning.network.encoder import EncoderConfig
    from inchi_lightning.shards import ShardSet
    from inchi_lightning.training.checkpoints import LastCheckpoint
    from inchi_lightning.training.graph_data import (
        GraphDataset,
        collate_graphs,
        keypoint_augmentation,
    )
    from inchi_lightning.training.graph_module import GraphReader

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--patent-fraction", type=float, default=0.5)
    parser.add_argument("--minutes", type=float, default=25)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--val-every", type=int, default=400)
    parser.add_argument("--encoder", default="resnet18")
    # bf16 autocast is 1.6x slower than fp32 on a CPU without AVX512-BF16 (measured here).
    parser.add_argument("--precision", default="32-true")
    parser.add_argument("--max-steps", type=int, default=-1, help="the cosine decay's length")
    parser.add_argument("--shards", type=Path, help="a preprocessed annotated set to train on")
    parser.add_argument(
        "--init", type=Path, help="start from this checkpoint's weights ('shipped': the release)"
    )
    parser.add_argument("--save-every", type=int, default=200, help="steps between last.ckpt")
    parser.add_argument("--uspto", type=Path, default=Path("../shared/data/uspto-300"))
    args = parser.parse_args()
    args.run.mkdir(parents=True, exist_ok=True)
    shards = args.shards or build_set(args.run, args.n, args.size, args.patent_fraction)
    train = GraphDataset(ShardSet(shards / "train"), keypoint_augmentation())
    val = GraphDataset(ShardSet(shards / "val"))
    loaders = [
        DataLoader(d, batch_size=args.batch_size, shuffle=s, collate_fn=collate_graphs,
                   num_workers=1, persistent_workers=True)
        for d, s in ((train, True), (val, False))
    ]  # fmt: skip
    L.seed_everything(0)
    model = GraphReader(
        clean_params=CleanParams(image_size=args.size),
        encoder=EncoderConfig(name=args.encoder, weights="none"),
        init_weights=None if args.init is None else str(args.init),
    )
    last = args.run / "last.ckpt"
    resume = last if last.is_file() else None
    trainer = L.Trainer(
        accelerator="cpu", precision=args.precision, max_epochs=1000, max_steps=args.max_steps,
        max_time={"minutes": args.minutes}, val_check_interval=args.val_every,
        check_val_every_n_epoch=None, logger=False, num_sanity_val_steps=0,
        callbacks=[
            Curve(args.run / "curve.csv", args.batch_size, append=resume is not None),
            LastCheckpoint(str(args.run), every_n_train_steps=args.save_every),
        ],
    )  # fmt: skip
    started = time.perf_counter()
    trainer.fit(model, *loaders, ckpt_path=resume, weights_only=False)
    minutes = (time.perf_counter() - started) / 60
    final = trainer.validate(model, loaders[1], verbose=False)[0]
    print(f"fit: {trainer.global_step} steps, {trainer.global_step * args.batch_size} images "
          f"in {minutes:.1f} min; val exact {final['val/exact_match']:.3f} "
          f"Levenshtein {final['val/levenshtein']:.2f} on {len(val)}")  # fmt: skip
    model.eval()
    if (args.uspto / "labels.csv").is_file():
        exact, distance, count = score_folder(model, args.uspto, args.size)
        print(f"uspto: exact {exact:.3f} Levenshtein {distance:.2f} on {count}")


if __name__ == "__main__":
    main()
