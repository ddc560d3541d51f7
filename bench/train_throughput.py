"""Training throughput (images/s) of the same model and data four ways, in one run:

    (a) a plain PyTorch loop                    1 process
    (b) Lightning in process (LightningCLI fit) 1 process
    (c) Ray Train, 1 worker x 2 CPUs            (the CLI with --ray.num_workers 1)
    (d) Ray Train, 2 workers x 1 CPU            (the CLI with --ray.num_workers 2)
    (e) as (d), gradients accumulated over ``--accumulate`` batches before each all-reduce
        (``--trainer.accumulate_grad_batches``; only with ``--only ...e``)

Each setup trains until it has timed ``--windows`` windows of ``--window-steps`` batches
after ``--warmup-steps``; a run's rate is its median window. The four setups run ``--rounds``
times, interleaved (a b c d, b c d a, ...), so that a change in the machine's load during the
benchmark falls on every setup alike; each ratio is taken within a round, then the median over
rounds is reported. Start-up (Ray, workers, model
building) is never timed, nor is any step whose interval spans an epoch end (validation,
checkpoints, loader restarts). Workers are data-parallel with ``--batch-size`` images each, so
a step of (d) trains on twice the images of a step of (a).

    python bench/train_throughput.py                                   # resnet18 at 128 px
    python bench/train_throughput.py --encoder resnet50 --image-size 224 --batch-size 16

The shard directory is built on first use (a synthetic set, as the quickstart does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from rounds import interleaved, median_ratio

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "quickstart.yaml"
# Ray workers import StepTimer by this name: the bench folder goes on their PYTHONPATH.
TIMER_CLASS_PATH = f"{Path(__file__).stem}.StepTimer"
ENCODERS = ("resnet18", "resnet34", "resnet50")


@dataclass
class StepClock:
    """Durations of optimiser steps after a warm-up, leaving out those that span an epoch end."""

    warmup_steps: int
    needed: int
    durations: list[float] = field(default_factory=list)
    steps: int = 0
    last: float | None = None

    def tick(self, first_of_epoch: bool) -> None:
        """Call when a step ends; ``first_of_epoch`` marks the first step of an epoch."""
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # a GPU step has ended when its kernels have
        now = time.perf_counter()
        self.steps += 1
        if self.last is not None and not first_of_epoch and self.steps > self.warmup_steps:
            self.durations.append(now - self.last)
        self.last = now

    @property
    def done(self) -> bool:
        return len(self.durations) >= self.needed


class StepTimer(Callback):
    """Times training steps on every rank, stops training when enough are timed, and writes
    rank 0's durations as JSON.

    Args:
        path: the JSON file rank 0 writes.
        warmup_steps: steps not timed at the start.
        needed: timed steps after which training stops.
    """

    def __init__(self, path: str, warmup_steps: int, needed: int) -> None:
        self.path = path
        self.clock = StepClock(warmup_steps=warmup_steps, needed=needed)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.clock.tick(first_of_epoch=batch_idx == 0)
        if self.clock.done:
            trainer.should_stop = True  # every rank reaches this at the same step

    def on_train_end(self, trainer: L.Trainer, pl_module) -> None:
        if trainer.global_rank == 0:
            record = {"durations": self.clock.durations, "world_size": trainer.world_size}
            Path(self.path).write_text(json.dumps(record))


@dataclass
class Setup:
    """One way of training; ``rates`` holds one median images/s per round."""

    label: str
    workers: int  # 0: in process
    cpus_per_worker: int
    measure: Callable[[], list[float]]
    rates: list[float] = field(default_factory=list)
    # The machine's cores may be shared: a 1-minute load average well above the cores this
    # bench uses means another job took part of them during the measurement.
    loads: list[float] = field(default_factory=list)

    def run(self) -> None:
        self.rates.append(statistics.median(self.measure()))
        self.loads.append(os.getloadavg()[0])


def window_rates(durations: list[float], window: int, images_per_step: int) -> list[float]:
    """Images/s of each full window of ``window`` consecutive step durations."""
    windows = [durations[i : i + window] for i in range(0, len(durations) - window + 1, window)]
    return [window * images_per_step / sum(w) for w in windows]


# ---- (a) plain PyTorch -----------------------------------------------------------------------


def plain_pytorch(args: argparse.Namespace, shards: Path) -> list[float]:
    """The training step of CaptionerModule, written as a bare loop over the same loader."""
    from inchi_lightning.network.captioner import DecoderConfig
    from inchi_lightning.network.encoder import EncoderConfig, ink
    from inchi_lightning.tokenizer import PAD_ID
    from inchi_lightning.training.captioner_module import CaptionerModule
    from inchi_lightning.training.data import InChIDataModule

    torch.manual_seed(0)
    datamodule = InChIDataModule(
        str(shards), batch_size=args.batch_size, num_workers=args.loader_workers, augment=True
    )
    datamodule.setup("fit")
    tokenizer = datamodule.tokenizer
    net = CaptionerModule(
        vocabulary=tokenizer.tokens,
        max_length=tokenizer.max_length,
        encoder=EncoderConfig(name=args.encoder, channels_last=args.channels_last),
        decoder=DecoderConfig(
            attention=args.attention, embed_dim=args.embed_dim, hidden_dim=args.hidden_dim
        ),
    ).net
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    net.to(device)
    bf16 = args.precision == "bf16-mixed"
    optimizer = torch.optim.AdamW(
        [
            {"params": net.encoder.parameters(), "lr": 1e-3},
            {"params": net.decoder.parameters(), "lr": 2e-3},
        ]
    )
    clock = StepClock(warmup_steps=args.warmup_steps, needed=args.windows * args.window_steps)
    net.train()
    loader = datamodule.train_dataloader()
    while not clock.done:
        for batch_idx, batch in enumerate(loader):
            tokens = batch["tokens"].to(device, non_blocking=True)  # (B, T)
            images = batch["images"].to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = net(ink(images), tokens)  # (B, T-1, V)
            loss = F.cross_entropy(
                logits.float().reshape(-1, logits.size(-1)),
                tokens[:, 1:].reshape(-1),
                ignore_index=PAD_ID,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            clock.tick(first_of_epoch=batch_idx == 0)
            if clock.done:
                break
    return window_rates(clock.durations, args.window_steps, args.batch_size)


# ---- (b)-(d) through the command line --------------------------------------------------------


def cli_fit(args: argparse.Namespace, shards: Path, workdir: Path, overrides: list[str]) -> dict:
    """One ``fit`` through InChICLI with a StepTimer; returns rank 0's timing record."""
    from inchi_lightning.cli.lightning import InChICLI

    timings = workdir / "timings.json"
    timer = {
        "class_path": TIMER_CLASS_PATH,
        "init_args": {
            "path": str(timings),
            "warmup_steps": args.warmup_steps,
            "needed": args.windows * args.window_steps,
        },
    }
    callbacks = workdir / "callbacks.yaml"
    callbacks.write_text(json.dumps({"trainer": {"callbacks": [timer]}}))  # JSON is YAML
    argv = [
        "fit",
        "--config", str(CONFIG),
        "--config", str(callbacks),
        "--data.shards", str(shards),
        "--data.quickstart", "null",
        "--data.batch_size", str(args.batch_size),
        "--data.num_workers", str(args.loader_workers),
        "--model.encoder.name", args.encoder,
        "--model.encoder.channels_last", str(args.channels_last).lower(),
        "--model.decoder.attention", str(args.attention).lower(),
        "--trainer.accelerator", args.accelerator,
        "--trainer.precision", args.precision,
        "--model.decoder.embed_dim", str(args.embed_dim),
        "--model.decoder.hidden_dim", str(args.hidden_dim),
        "--trainer.max_time", "null",
        "--trainer.max_epochs", "1000",  # StepTimer stops it
        "--trainer.limit_val_batches", "1",
        "--trainer.num_sanity_val_steps", "0",
        "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--trainer.logger.init_args.save_dir", str(workdir / "logs"),
        "--checkpoint.dirpath", str(workdir / "checkpoints"),
        "--checkpoint.save_last", "false",
        "--ray.storage_path", str(workdir / "ray_results"),
        "--ray.name", "bench",
        *overrides,
    ]  # fmt: skip
    InChICLI(args=argv)
    return json.loads(timings.read_text())


def cli_rates(
    args: argparse.Namespace, shards: Path, workers: int, cpus: int, accumulate: int = 1
) -> list[float]:
    """Images/s of each timed window; a step is one batch per worker, accumulated or not."""
    overrides = [] if workers == 0 else [
        "--ray.num_workers", str(workers), "--ray.cpus_per_worker", str(cpus)
    ]  # fmt: skip
    overrides += ["--trainer.accumulate_grad_batches", str(accumulate)]
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        record = cli_fit(args, shards, Path(workdir), overrides)
    images_per_step = args.batch_size * record["world_size"]
    return window_rates(record["durations"], args.window_steps, images_per_step)


# ---- running and reporting -------------------------------------------------------------------


def ensure_shards(args: argparse.Namespace) -> Path:
    from inchi_lightning.prep.quickstart import QuickstartSettings, prepare_shards

    shards = Path(args.shards or f"data/bench/shards-{args.image_size}").resolve()
    settings = QuickstartSettings(n=args.n, seed=0, image_size=args.image_size, val_fraction=0.05)
    prepare_shards(shards, settings)
    return shards


def print_table(setups: list[Setup], args: argparse.Namespace) -> None:
    baseline = setups[0].rates
    print(
        f"\n{args.encoder} + {'attention' if args.attention else 'plain'} LSTM at "
        f"{args.image_size} px, {args.accelerator}, {args.precision}"
        f"{', channels_last' if args.channels_last else ''}, batch {args.batch_size} per worker; "
        f"each run: median of {args.windows} windows of {args.window_steps} steps after "
        f"{args.warmup_steps} warm-up steps; {args.rounds} interleaved rounds; "
        "load: 1-minute load average after each run\n"
    )
    print("| setup | workers x CPUs | images/s (median) | rounds (min-max) | vs (a) | load |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for setup in setups:
        spread = f"{min(setup.rates):.1f}-{max(setup.rates):.1f}"
        loads = f"{min(setup.loads):.1f}-{max(setup.loads):.1f}"
        print(
            f"| {setup.label} | {max(setup.workers, 1)} x {setup.cpus_per_worker} "
            f"| {statistics.median(setup.rates):.1f} | {spread} "
            f"| {median_ratio(setup.rates, baseline):.2f} | {loads} |"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", help="preprocessed shards (default data/bench/shards-SIZE)")
    parser.add_argument("--n", type=int, default=1500, help="images to draw if shards is empty")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--encoder", default="resnet18", choices=ENCODERS)
    parser.add_argument("--attention", action="store_true", help="the attention LSTM decoder")
    parser.add_argument("--channels-last", action="store_true", help="NHWC convolutions")
    parser.add_argument("--accelerator", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    parser.add_argument("--embed-dim", type=int, default=128)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32, help="images per worker per step")
    parser.add_argument("--loader-workers", type=int, default=1, help="DataLoader processes")
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--window-steps", type=int, default=10)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each setup")
    parser.add_argument(
        "--accumulate", type=int, default=4, help="batches per all-reduce in setup (e)"
    )
    parser.add_argument("--prepare-only", action="store_true", help="build the shards and stop")
    parser.add_argument(
        "--only", default="abcd", help="setups to run besides (a), e.g. ab: plain vs Lightning"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_dir = str(Path(__file__).resolve().parent)
    sys.path.insert(0, bench_dir)  # so that TIMER_CLASS_PATH resolves here, as in the workers
    python_path = [bench_dir, os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, python_path))
    shards = ensure_shards(args)
    if args.prepare_only:
        print(f"shards ready at {shards}")
        return 0
    cpus = len(os.sched_getaffinity(0))
    setups = [
        Setup("(a) plain PyTorch loop", 0, cpus, lambda: plain_pytorch(args, shards)),
        Setup("(b) Lightning in process", 0, cpus, lambda: cli_rates(args, shards, 0, cpus)),
        Setup("(c) Ray Train", 1, 2, lambda: cli_rates(args, shards, 1, 2)),
        Setup("(d) Ray Train", 2, 1, lambda: cli_rates(args, shards, 2, 1)),
        Setup(
            f"(e) Ray Train, accumulating {args.accumulate} batches",
            2,
            1,
            lambda: cli_rates(args, shards, 2, 1, args.accumulate),
        ),
    ]
    setups = [s for s in setups if s.label[1] in "a" + args.only]  # (a) is the baseline
    for setup in interleaved(setups, args.rounds):
        setup.run()
    print_table(setups, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
