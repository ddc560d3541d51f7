"""Running ``fit``, ``validate`` and ``test`` on Ray Train workers, one Lightning Trainer each.

The driver (the command the user typed) has already prepared the shard directory and written the
vocabulary into the LightningCLI configuration. It dumps that configuration to YAML and starts a
``TorchTrainer``; every worker rebuilds the model, data and Trainer from the YAML with Ray's DDP
strategy, so N workers train the configured model on N shares of the data.

Re-running a command with the same ``ray.name`` and ``ray.storage_path`` resumes from the run's
latest checkpoint, as does a run that Ray restarts after a worker failure.

Ray is imported only inside the functions that use it: ``import ray`` costs seconds, and the
in-process path (``ray.num_workers: 0``) never needs it. What a worker runs (``train_loop``, which
rebuilds the CLI) belongs to the CLI layer and is handed in by it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace
from lightning.pytorch import LightningDataModule
from lightning.pytorch.cli import LightningArgumentParser
from torch.utils.data import DataLoader

from inchi_lightning.processes import available_cpus

# No Ray types in annotations, not even under TYPE_CHECKING: jsonargparse runs those imports
# when it reads RaySettings, and the in-process path must not pay for `import ray`.

log = logging.getLogger(__name__)

RAY_SUBCOMMANDS = ("fit", "validate", "test")
SCORE_METRIC = "val/levenshtein"
RAY_CHECKPOINT_FILE = "checkpoint.ckpt"  # what RayTrainReportCallback writes in each checkpoint
BEST_CHECKPOINT_FILE = "best.ckpt"


@dataclass
class RaySettings:
    """Where fit, validate and test run: in this process, or on Ray Train workers.

    Args:
        num_workers: Ray Train workers (one Lightning process each); 0 runs in this process.
        cpus_per_worker: CPU cores reserved for each worker; also its torch thread count.
        use_gpu: one GPU per worker (NCCL) instead of CPU only (gloo).
        address: null starts a private Ray cluster on this machine (or joins $RAY_ADDRESS, as
            ``ray job submit`` sets it); ``auto`` or ``HOST:PORT`` joins a running cluster.
        storage_path: where Ray keeps the run's checkpoints; shared storage on a cluster.
        name: the run's directory under storage_path; the same name resumes that run.
            Default: the logger's name. validate and test runs add ``-validate``/``-test``.
        max_failures: worker-group restarts, each from the latest checkpoint, before giving up.
        keep_checkpoints: epoch-end checkpoints kept: the best by val/levenshtein and the latest.
    """

    num_workers: int = 0
    cpus_per_worker: int = 1
    use_gpu: bool = False
    address: str | None = None
    storage_path: str = "ray_results"
    name: str | None = None
    max_failures: int = 1
    keep_checkpoints: int = 2


def runs_on_ray(subcommand: str | None, num_workers: int) -> bool:
    """True when ``subcommand`` goes to Ray Train workers rather than running in this process."""
    return subcommand in RAY_SUBCOMMANDS and num_workers >= 1


@dataclass(frozen=True)
class WorkerJob:
    """What every worker needs to rebuild the driver's run: plain, picklable values only.

    ``config_yaml`` is the driver's LightningCLI configuration without the subcommand's own
    arguments (``ckpt_path``, ``verbose``...), which travel in ``method_kwargs``.
    """

    subcommand: str
    config_yaml: str
    method_kwargs: dict[str, Any]
    cpus: int
    use_gpu: bool
    driver_cwd: str


@dataclass
class RayRunOutcome:
    """What a Ray run left behind: rank 0's final metrics; after ``fit``, the best checkpoint."""

    name: str
    run_dir: str
    metrics: dict[str, float] = field(default_factory=dict)
    best_checkpoint: str | None = None


# ---- driver ----------------------------------------------------------------------------------


def run_on_ray(
    parser: LightningArgumentParser,
    config: Namespace,
    subcommand: str,
    method_arguments: list[str],
    worker_loop: Callable[[dict[str, Any]], dict[str, float]],
) -> RayRunOutcome:
    """Run ``subcommand`` on Ray Train workers, each building its Trainer from ``config``.

    ``parser`` is the subcommand's parser and ``config`` its parsed configuration (shards prepared,
    vocabulary filled in); ``method_arguments`` names the keys that are arguments of
    ``Trainer.<subcommand>`` rather than configuration; ``worker_loop`` is what each worker runs
    (it receives ``{"job": WorkerJob}``; the CLI layer's ``train_loop``). Prints and returns the
    outcome.

    Raises:
        ValueError: a private cluster would need more CPUs than this machine has.
        ray.train.TrainingFailedError: the workers failed more than ``ray.max_failures`` times.
    """
    settings = RaySettings(**config.ray.as_dict())
    name = run_name(settings, config, subcommand)
    loaders = loader_processes(config.data.init_args.num_workers, settings.cpus_per_worker)
    # A fixed log directory per fit run, so a resumed or restarted run continues its curves.
    log_version = name if subcommand == "fit" else None
    job = WorkerJob(
        subcommand=subcommand,
        config_yaml=worker_config_yaml(parser, config, method_arguments, loaders, log_version),
        method_kwargs={key: config[key] for key in method_arguments if key in config},
        cpus=settings.cpus_per_worker,
        use_gpu=settings.use_gpu,
        driver_cwd=os.getcwd(),
    )
    print(
        f"Ray run {name!r}: {settings.num_workers} workers x {settings.cpus_per_worker} CPUs, "
        f"{loaders} DataLoader processes each; stored in {storage(settings)}"
    )
    with ray_connection(settings):
        result = ray_trainer(job, settings, name, worker_loop).fit()
    outcome = RayRunOutcome(name=name, run_dir=str(result.path), metrics=result.return_value or {})
    if subcommand == "fit":
        outcome.best_checkpoint = export_best_checkpoint(result)
    print_outcome(outcome)
    return outcome


def run_name(settings: RaySettings, config: Namespace, subcommand: str) -> str:
    """``ray.name``, else the first logger's name; validate and test get runs of their own."""
    name = settings.name or logger_name(config.trainer.logger) or "inchi_lightning"
    return name if subcommand == "fit" else f"{name}-{subcommand}"


def configured_loggers(logger: Any) -> list[Namespace]:
    """The logger entries of a trainer configuration (it may hold one, a list, or a bool)."""
    entries = logger if isinstance(logger, list) else [logger]
    return [entry for entry in entries if hasattr(entry, "get") and entry.get("init_args")]


def logger_name(logger: Any) -> str | None:
    for entry in configured_loggers(logger):
        if isinstance(entry.init_args.get("name"), str) and entry.init_args.name:
            return entry.init_args.name
    return None


def loader_processes(configured: int, cpus_per_worker: int) -> int:
    """DataLoader processes per worker: at most ``cpus_per_worker - 1``, so that they and the
    training threads stay within the cores Ray reserved for the worker."""
    return min(configured, max(cpus_per_worker - 1, 0))


def worker_config_yaml(
    parser: LightningArgumentParser,
    config: Namespace,
    method_arguments: list[str],
    loader_workers: int,
    log_version: str | None,
) -> str:
    """The configuration every worker parses: the driver's, without the subcommand's own
    arguments, with ``data.num_workers = loader_workers`` and, when ``log_version`` is given,
    that version for every logger that has none."""
    config = config.clone()
    config.data.init_args.num_workers = loader_workers
    for entry in configured_loggers(config.trainer.logger):
        if log_version and "version" in entry.init_args and entry.init_args.version is None:
            entry.init_args.version = log_version
    document = yaml.safe_load(parser.dump(config, skip_none=False))
    for key in method_arguments:
        document.pop(key, None)
    return yaml.safe_dump(document, sort_keys=False)


def storage(settings: RaySettings) -> str:
    """``ray.storage_path`` as Ray needs it: local paths absolute, URIs (``s3://``) unchanged."""
    if "://" in settings.storage_path:
        return settings.storage_path
    return str(Path(settings.storage_path).expanduser().resolve())


@contextmanager
def ray_connection(settings: RaySettings) -> Iterator[None]:
    """Join the configured cluster, or start a private one, for the length of one run.

    A connection made before (a notebook, a test) is used as it is, whatever ``ray.address``
    says, and left open.
    """
    import ray

    if ray.is_initialized():
        yield
        return
    if settings.address is not None or os.environ.get("RAY_ADDRESS"):
        ray.init(address=settings.address)  # None here means $RAY_ADDRESS
    else:
        # "local" so that a cluster someone else started on this machine is not joined. The
        # dashboard stays on: Ray Train's placement-group cleaner polls the State API it serves
        # and logs a warning every few seconds without it.
        ray.init(address="local", num_cpus=local_cpus(settings))
    try:
        yield
    finally:
        ray.shutdown()


def local_cpus(settings: RaySettings) -> int:
    """This machine's cores, checked against what the workers will reserve."""
    available = available_cpus()
    needed = settings.num_workers * settings.cpus_per_worker
    if needed > available:
        raise ValueError(
            f"ray.num_workers {settings.num_workers} x ray.cpus_per_worker "
            f"{settings.cpus_per_worker} needs {needed} CPUs, but this machine has {available}: "
            "lower them, or join a larger cluster with ray.address"
        )
    return available


def ray_trainer(
    job: WorkerJob,
    settings: RaySettings,
    name: str,
    worker_loop: Callable[[dict[str, Any]], dict[str, float]],
) -> Any:
    """The ``ray.train.torch.TorchTrainer`` that runs ``job`` as configured by ``settings``."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    resources = {"CPU": settings.cpus_per_worker} | ({"GPU": 1} if settings.use_gpu else {})
    return TorchTrainer(
        worker_loop,
        train_loop_config={"job": job},
        scaling_config=ScalingConfig(
            num_workers=settings.num_workers,
            use_gpu=settings.use_gpu,
            resources_per_worker=resources,
        ),
        torch_config=TorchConfig(backend="nccl" if settings.use_gpu else "gloo"),
        run_config=RunConfig(
            name=name,
            storage_path=storage(settings),
            failure_config=FailureConfig(max_failures=settings.max_failures),
            checkpoint_config=CheckpointConfig(
                num_to_keep=settings.keep_checkpoints,
                checkpoint_score_attribute=SCORE_METRIC,
                checkpoint_score_order="min",
            ),
        ),
    )


def export_best_checkpoint(result: Any) -> str | None:
    """Copy the kept checkpoint of a ``ray.train.Result`` with the lowest val/levenshtein to
    ``<run dir>/best.ckpt``; None when no checkpoint has that metric.

    A fixed name on the run's storage, which every node can read, so that ``validate`` and
    ``predict --ckpt_path`` need not know Ray's checkpoint directory names.
    """
    scored = [
        (metrics[SCORE_METRIC], checkpoint)
        for checkpoint, metrics in result.best_checkpoints or []
        if SCORE_METRIC in metrics
    ]
    if not scored:
        return None
    _, best = min(scored, key=lambda pair: pair[0])
    target = f"{result.path}/{BEST_CHECKPOINT_FILE}"
    best.filesystem.copy_file(f"{best.path}/{RAY_CHECKPOINT_FILE}", target)
    return target


def print_outcome(outcome: RayRunOutcome) -> None:
    print(f"Ray run {outcome.name!r} finished: {outcome.run_dir}")
    for key in sorted(k for k in outcome.metrics if k.startswith(("val/", "test/"))):
        print(f"  {key:<24} {outcome.metrics[key]:.4f}")
    if outcome.best_checkpoint:
        print(f"best checkpoint (lowest {SCORE_METRIC}): {outcome.best_checkpoint}")


# ---- worker ----------------------------------------------------------------------------------


def limit_threads(cpus: int) -> None:
    """Keep this worker's compute threads within the cores Ray reserved for it.

    Without this, torch and OpenCV each start a thread per core of the machine in every worker,
    and N workers fight over the same cores. OpenCV (albumentations) works per image in the data
    path, where one thread is enough.
    """
    import cv2
    import torch

    torch.set_num_threads(cpus)
    cv2.setNumThreads(1)


def enter_driver_directory(driver_cwd: str) -> None:
    """Work where the driver works, so relative paths in the config mean the same files.

    Ray Train starts each worker in a directory of its own; where the driver's directory does not
    exist (another node without it), relative paths resolve there instead, hence the warning.
    """
    if Path(driver_cwd).is_dir():
        os.chdir(driver_cwd)
    else:
        log.warning(
            "%s does not exist on this node: relative paths in the config resolve under %s; "
            "use absolute paths on shared storage",
            driver_cwd,
            os.getcwd(),
        )


@contextmanager
def latest_ray_checkpoint() -> Iterator[str | None]:
    """The Lightning checkpoint file of the run's latest Ray checkpoint, while it is readable."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        yield None
        return
    with checkpoint.as_directory() as directory:
        yield str(Path(directory) / RAY_CHECKPOINT_FILE)


def evaluate_each_sample_once(datamodule: LightningDataModule) -> None:
    """Split the val and test sets across ranks without the padding DistributedSampler adds.

    Lightning's DistributedSampler repeats samples until every rank has the same count, which
    would count those samples twice in the metrics. Here ranks differ by at most one sample;
    evaluation is safe with that because DDP synchronises buffers only on the first no-grad
    batch, which every rank runs, and the metrics reduce sums and counts once at epoch end.
    """
    for stage in ("val", "test"):
        hook = f"{stage}_dataloader"
        setattr(datamodule, hook, partial(without_padding, getattr(datamodule, hook)))


def without_padding(make_loader: Callable[[], DataLoader]) -> DataLoader:
    from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
    from torch.distributed import get_world_size

    loader = make_loader()
    if len(loader.dataset) < get_world_size():
        raise ValueError(
            f"{len(loader.dataset)} evaluation samples cannot give each of "
            f"{get_world_size()} Ray workers one; use fewer workers"
        )
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=UnrepeatedDistributedSampler(loader.dataset, shuffle=False),
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        persistent_workers=loader.persistent_workers,
    )
