"""Images/s and peak memory of the captioning network on this CPU, one fresh process per case.

    python bench/model_speed.py train     # resnet18/34/50 x plain/attention x 128/224/256 px
    python bench/model_speed.py train --encoders resnet50 --sizes 224 --decoders plain
    python bench/model_speed.py train --ray-workers 2   # also on 2 Ray Train workers (DDP)
    python bench/model_speed.py tricks    # channels_last, torch.compile, threads, bf16 autocast
    python bench/model_speed.py decode    # greedy vs beam k=1 vs beam k=4

Every step runs on one fixed random batch held in memory, so the figures are the network's own
ceiling: no loader (``bench/loader_speed.py`` measures that), no Lightning. Token sequences
have ``--tokens`` tokens (the mean InChI of the synthetic corpus is about that long). For
decoding, <eos> is ruled out so that every search runs exactly ``--tokens`` steps: the worst
case, and the same work for greedy and beam search.

Peak MB is the process's peak RSS on CPU, the peak of GPU memory allocated on a GPU. Each case
runs in its own process (its peak is then its own) and is repeated
``--rounds`` times, interleaved with the other cases, so that a change in the machine's load
falls on every case alike; ratios are taken within a round, then the median is reported.

With ``--ray-workers N`` every round of the train suite also runs all its cases on N Ray Train
workers of cores/N CPUs each, data parallel through DDP as ``fit`` runs them on Ray:
``--batch-size`` images per worker (``data.batch_size`` is per worker there too), the workers'
threads limited to their share. One TorchTrainer per round runs the cases one after another (its
~35 s start is not timed), so those cases share their worker processes and have no peak memory
of their own; after each case the workers also time one all-reduce of its whole gradient.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

from rounds import in_fresh_process, median_ratio, peak_rss_mb, rotated

VOCAB = 101  # the synthetic corpus's vocabulary size, specials included
EOS_ID = 2


@dataclass(frozen=True)
class Case:
    """One measurement: a network, a way of running it, and how long to time it."""

    encoder: str = "resnet18"
    attention: bool = False
    image_size: int = 128
    batch_size: int = 16
    mode: str = "train"  # train | greedy | beam1 | beam4
    channels_last: bool = False
    compile: bool = False
    threads: int = 0  # 0: torch's default (one per core)
    bf16: bool = False
    device: str = "cpu"
    tokens: int = 100
    warmup: int = 2
    steps: int = 3

    @property
    def label(self) -> str:
        parts = [self.encoder, "attention" if self.attention else "plain", f"{self.image_size}px"]
        parts += [self.mode] if self.mode != "train" else []
        parts += ["channels_last"] if self.channels_last else []
        parts += ["compile"] if self.compile else []
        parts += [f"{self.threads} threads"] if self.threads else []
        parts += ["bf16"] if self.bf16 else []
        parts += [self.device] if self.device != "cpu" else []
        return " ".join(parts)


@dataclass
class Result:
    case: Case
    rates: list[float] = field(default_factory=list)  # images/s, one per round
    ray_rates: list[float] = field(default_factory=list)  # the same on Ray workers
    all_reduce_s: list[float] = field(default_factory=list)  # a whole gradient, on its own
    peak_mb: float = 0.0
    error: str = ""


# ---- one case, in its own process ------------------------------------------------------------


def build(case: Case):
    import torch

    from inchi_lightning.network.captioner import Captioner, DecoderConfig
    from inchi_lightning.network.encoder import EncoderConfig

    torch.manual_seed(0)
    net = Captioner(
        vocab_size=VOCAB,
        encoder=EncoderConfig(name=case.encoder, channels_last=case.channels_last),
        decoder=DecoderConfig(attention=case.attention),
    )
    with torch.no_grad():
        net.decoder.head.bias[EOS_ID] = -1e4  # searches run their full length
    images = torch.rand(case.batch_size, 1, case.image_size, case.image_size)
    tokens = torch.randint(4, VOCAB, (case.batch_size, case.tokens))
    tokens[:, 0] = 1  # <sos>
    return net.to(case.device), images.to(case.device), tokens.to(case.device)


def step_function(case: Case, net, images, tokens):
    """A closure that runs one step of ``case.mode``."""
    import torch
    import torch.nn.functional as F

    autocast = torch.autocast(torch.device(case.device).type, torch.bfloat16, enabled=case.bf16)
    if case.mode != "train":
        net.eval()
        width = {"greedy": 0, "beam1": 1, "beam4": 4}[case.mode]

        def decode_step() -> None:
            with autocast:
                if width == 0:
                    net.greedy(images, max_length=case.tokens)
                else:
                    net.beam(images, max_length=case.tokens, beam_width=width)

        return decode_step
    net.train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    forward = torch.compile(net) if case.compile else net

    def train_step() -> None:
        with autocast:
            logits = forward(images, tokens)
        loss = F.cross_entropy(logits.float().reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return train_step


def measure(case: Case) -> tuple[float, float, str]:
    """(images/s, peak RSS in MB, error) of ``case``, run in a fresh process."""
    import torch

    if case.threads:
        torch.set_num_threads(case.threads)
    try:
        step = step_function(case, *build(case))
        for _ in range(case.warmup):
            step()
        synchronize(case.device)
        start = time.perf_counter()
        for _ in range(case.steps):
            step()
        synchronize(case.device)
        rate = case.steps * case.batch_size / (time.perf_counter() - start)
        error = ""
    except Exception as exc:  # a case that cannot run here (bf16 on this CPU) is a result too
        rate, error = float("nan"), f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    if case.device.startswith("cuda"):
        peak_mb = torch.cuda.max_memory_allocated() / 2**20  # GPU memory is the limit there
    else:
        peak_mb = peak_rss_mb()
    return rate, peak_mb, error


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_rounds(cases: list[Case], rounds: int, ray_workers: int = 0) -> list[Result]:
    results = [Result(case) for case in cases]
    for round_index in range(rounds):
        order = rotated(results, round_index)
        # The Ray run alternates between the end and the start of a round, as the cases rotate.
        ray_first = ray_workers and round_index % 2 == 1
        if ray_first:
            run_on_ray_workers(order, ray_workers)
        run_in_processes(order)
        if ray_workers and not ray_first:
            run_on_ray_workers(order, ray_workers)
    return results


def run_in_processes(results: list[Result]) -> None:
    for result in results:
        # One process per run: peak RSS and warm caches belong to this case alone.
        rate, peak_mb, error = in_fresh_process(measure, result.case)
        result.rates.append(rate)
        result.peak_mb = max(result.peak_mb, peak_mb)
        result.error = result.error or error
        print(f"  {result.case.label}: {rate:.2f} images/s {error}", file=sys.stderr)


# ---- the same cases on Ray Train workers -----------------------------------------------------


def run_on_ray_workers(results: list[Result], workers: int) -> None:
    """Time every case of ``results`` on ``workers`` Ray Train workers, in one TorchTrainer."""
    import tempfile

    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from inchi_lightning.training.distributed import RaySettings, ray_connection

    cpus = len(os.sched_getaffinity(0)) // workers
    settings = RaySettings(num_workers=workers, cpus_per_worker=cpus)
    with tempfile.TemporaryDirectory() as storage, ray_connection(settings):
        trainer = TorchTrainer(
            ray_worker_loop,
            train_loop_config={"cases": [result.case for result in results], "cpus": cpus},
            scaling_config=ScalingConfig(num_workers=workers, resources_per_worker={"CPU": cpus}),
            run_config=RunConfig(name="model_speed", storage_path=storage),
        )
        measured = trainer.fit().return_value
    for result in results:
        rate, all_reduce_s = measured[result.case.label]
        result.ray_rates.append(rate)
        result.all_reduce_s.append(all_reduce_s)
        print(
            f"  {result.case.label} on {workers} Ray workers: {rate:.2f} images/s, "
            f"all-reduce {all_reduce_s:.3f} s",
            file=sys.stderr,
        )


def ray_worker_loop(config: dict) -> dict[str, tuple[float, float]]:
    """One Ray Train worker: every case's training step under DDP.

    Returns, per case label, the images/s of all workers together and the seconds one
    all-reduce of the whole gradient takes on its own (DDP overlaps it with the backward pass).
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from inchi_lightning.training.distributed import limit_threads

    limit_threads(config["cpus"])
    world = dist.get_world_size()
    measured = {}
    for case in config["cases"]:
        net, images, tokens = build(case)
        step = step_function(case, DistributedDataParallel(net), images, tokens)
        for _ in range(case.warmup):
            step()
        dist.barrier()
        start = time.perf_counter()
        for _ in range(case.steps):
            step()  # DDP's all-reduce keeps the workers in step
        dist.barrier()
        rate = world * case.steps * case.batch_size / (time.perf_counter() - start)
        measured[case.label] = (rate, all_reduce_seconds(net))
        del net, images, tokens, step
    return measured


def all_reduce_seconds(net, repeats: int = 3) -> float:
    """Median seconds of one all-reduce of ``net``'s whole gradient, as one flat tensor."""
    import torch
    import torch.distributed as dist

    flat = torch.cat([p.grad.reshape(-1) for p in net.parameters() if p.grad is not None])
    seconds = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


# ---- the three suites ------------------------------------------------------------------------


def common(args: argparse.Namespace) -> dict:
    """The Case fields every suite takes from the command line."""
    return {
        "batch_size": args.batch_size,
        "tokens": args.tokens,
        "steps": args.steps,
        "warmup": args.warmup,
        "device": args.device,
    }


def train_cases(args: argparse.Namespace) -> list[Case]:
    return [
        Case(
            encoder=encoder,
            attention=decoder == "attention",
            image_size=size,
            bf16=args.bf16,
            **common(args),
        )
        for encoder in args.encoders
        for decoder in args.decoders
        for size in args.sizes
    ]


def trick_cases(args: argparse.Namespace) -> list[Case]:
    base = Case(
        encoder=args.encoders[0],
        attention=args.decoders[0] == "attention",
        image_size=args.sizes[0],
        **common(args),
    )
    cores = len(os.sched_getaffinity(0))
    variants = [
        base,
        dataclasses.replace(base, channels_last=True),
        dataclasses.replace(base, compile=True, warmup=base.warmup + 1),
        dataclasses.replace(base, bf16=True),
    ]
    variants += [dataclasses.replace(base, threads=n) for n in (1, cores)]
    return variants


def decode_cases(args: argparse.Namespace) -> list[Case]:
    base = Case(
        encoder=args.encoders[0],
        attention=args.decoders[0] == "attention",
        image_size=args.sizes[0],
        bf16=args.bf16,
        **common(args),
    )
    return [dataclasses.replace(base, mode=mode) for mode in ("greedy", "beam1", "beam4")]


SUITES = {"train": train_cases, "tricks": trick_cases, "decode": decode_cases}


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    cores = len(os.sched_getaffinity(0))
    print(
        f"\n`python bench/model_speed.py {' '.join(sys.argv[1:])}` — batch {args.batch_size}, "
        f"{args.tokens} tokens, {args.steps} timed steps after warm-up, median of "
        f"{args.rounds} interleaved rounds, {cores} cores, load {os.getloadavg()[0]:.1f}\n"
    )
    baseline = results[0].rates
    on_ray = bool(results[0].ray_rates)
    ray_header = (
        f" on {args.ray_workers} Ray workers | Ray / in process | s per step on Ray "
        "| all-reduce s |"
    )
    ray_header = ray_header if on_ray else ""
    ray_align = " ---: | ---: | ---: | ---: |" if on_ray else ""
    print(f"| case | images/s | per core | vs first | peak MB |{ray_header} note |")
    print(f"| --- | ---: | ---: | ---: | ---: |{ray_align} --- |")
    for result in results:
        rate, ratio = statistics.median(result.rates), median_ratio(result.rates, baseline)
        ray_cells = ""
        if on_ray:
            ray_rate = statistics.median(result.ray_rates)
            ray_ratio = median_ratio(result.ray_rates, result.rates)
            step_s = args.ray_workers * args.batch_size / ray_rate
            all_reduce_s = statistics.median(result.all_reduce_s)
            ray_cells = f" {ray_rate:.2f} | {ray_ratio:.2f} | {step_s:.2f} | {all_reduce_s:.3f} |"
        print(
            f"| {result.case.label} | {rate:.2f} | {rate / cores:.2f} "
            f"| {ratio:.2f} | {result.peak_mb:.0f} |{ray_cells} {result.error} |"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--encoders", nargs="+", default=["resnet18", "resnet34", "resnet50"])
    parser.add_argument("--decoders", nargs="+", default=["plain", "attention"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 224, 256])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per run")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (train, decode)")
    parser.add_argument(
        "--ray-workers",
        type=int,
        default=0,
        help="train suite: also run every case on this many Ray Train workers (DDP)",
    )
    args = parser.parse_args(argv)
    if args.ray_workers and (args.suite != "train" or args.device != "cpu"):
        parser.error("--ray-workers measures the train suite on CPU workers only")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run_rounds(SUITES[args.suite](args), args.rounds, args.ray_workers)
    print_table(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
