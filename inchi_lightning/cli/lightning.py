"""``InChICLI``: LightningCLI for fit/validate/test with the project's defaults, and
``WorkerCLI``, the same configuration rebuilt on each Ray Train worker (``train_loop``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import yaml
from jsonargparse import Namespace
from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from inchi_lightning.prep.quickstart import QuickstartSettings, prepare_shards
from inchi_lightning.reading.checkpoint import CAPTIONER_CLASS_PATH, check_checkpoint
from inchi_lightning.training.checkpoints import LastCheckpoint, checkpoint_to_load
from inchi_lightning.training.data import InChIDataModule
from inchi_lightning.training.distributed import (
    RaySettings,
    WorkerJob,
    enter_driver_directory,
    evaluate_each_sample_once,
    latest_ray_checkpoint,
    limit_threads,
    run_on_ray,
    runs_on_ray,
)

DATA_CLASS_PATH = f"{InChIDataModule.__module__}.{InChIDataModule.__qualname__}"
# What a model is told about the shards it trains on, where its config leaves it unset (None).
SHARD_SETTINGS = ("vocabulary", "max_length", "clean_params")


class InChICLI(LightningCLI):
    """LightningCLI for every model of the project, with its checkpointing defaults and the
    shards' settings filled in.

    ``model`` and ``data`` take a ``class_path`` (``configs/graph-*.yaml``: the graph
    recogniser ``GraphModule`` with ``GraphDataModule``); without one they are the captioner
    ``CaptionerModule`` and ``InChIDataModule``, so the captioner's configs need none. A
    checkpoint names the model it holds, so ``--ckpt_path`` alone picks the model class.

    The model's vocabulary and clean() parameters come from the shard directory when a run
    starts from nothing, and from the checkpoint's hyperparameters when ``--ckpt_path`` is given,
    so a checkpoint alone is enough to validate or test. Checkpoints are loaded with
    ``weights_only=True`` unless ``--weights_only false`` is given, and a ``--ckpt_path`` file
    that is not an inchi_lightning checkpoint is refused before anything is built.

    Two checkpoint callbacks write to ``checkpoint.dirpath``: ``checkpoint`` keeps ``best.ckpt``
    (lowest ``val/levenshtein``, judged right after each validation) and ``last_checkpoint``
    keeps ``last.ckpt``, the latest state, every ``last_checkpoint.every_n_train_steps`` steps
    or after each validation.

    With ``ray.num_workers >= 1``, fit, validate and test run on Ray Train workers
    (``training/distributed.py``; each runs ``train_loop`` below), each building its Trainer from
    this same configuration; the outcome is kept in ``ray_outcome``.
    """

    def __init__(
        self,
        args: list[str] | dict[str, Any] | None = None,
        run: bool = True,
        trainer_defaults: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            LightningModule,
            InChIDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            args=args,
            run=run,
            save_config_kwargs={"overwrite": True},
            trainer_defaults=trainer_defaults,
        )

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        # No prefix matching: a misspelt option is an error naming it, never another option.
        return super().init_parser(allow_abbrev=False, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.set_defaults(
            {"model": {"class_path": CAPTIONER_CLASS_PATH}, "data": {"class_path": DATA_CLASS_PATH}}
        )
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.dirpath": "checkpoints",
                "checkpoint.filename": "best",
                "checkpoint.enable_version_counter": False,
                "checkpoint.monitor": "val/levenshtein",
                "checkpoint.mode": "min",
                # last.ckpt is LastCheckpoint's: ModelCheckpoint's own last follows new bests only.
                "checkpoint.save_last": False,
            }
        )
        parser.add_lightning_class_args(LastCheckpoint, "last_checkpoint")
        parser.link_arguments("checkpoint.dirpath", "last_checkpoint.dirpath")
        parser.add_lightning_class_args(LearningRateMonitor, "lr_monitor")
        parser.add_class_arguments(RaySettings, "ray")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if subcommand is None:
            return
        config = self.config[subcommand]
        if config.get("weights_only") is None:
            config.weights_only = True  # what Trainer.fit/validate/test load with
        checkpoint = checkpoint_to_load(config.get("ckpt_path"), config.checkpoint.dirpath)
        if checkpoint is not None:
            check_checkpoint(checkpoint)

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand]
        data = config.data.init_args
        quickstart = data.quickstart
        if isinstance(quickstart, Namespace):
            quickstart = QuickstartSettings(**quickstart.as_dict())
        tokenizer, clean_params = prepare_shards(data.shards, quickstart)
        from_shards = {
            "vocabulary": tokenizer.tokens,
            "max_length": tokenizer.max_length,
            "clean_params": Namespace(**asdict(clean_params)),
        }
        model = config.model
        # A checkpoint's hyperparameters arrive as dict_kwargs (LightningCLI's _parse_ckpt_path).
        known = {**model.init_args.as_dict(), **(model.get("dict_kwargs") or {})}
        if "vocabulary" in known and known["vocabulary"] is not None:
            return  # a trained captioner keeps its own vocabulary and clean() settings
        for name in SHARD_SETTINGS:
            if name in model.init_args and known.get(name) in (None, 0):
                model.init_args[name] = from_shards[name]

    def instantiate_classes(self) -> None:
        # On Ray, every worker builds the model, data and Trainer from this configuration.
        if not self._runs_on_ray():
            super().instantiate_classes()

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer = super().instantiate_trainer(**kwargs)
        if not trainer.loggers:
            # --trainer.logger false: no learning rates to log, and LearningRateMonitor would
            # refuse to start.
            trainer.callbacks = [
                c for c in trainer.callbacks if not isinstance(c, LearningRateMonitor)
            ]
        return trainer

    def _run_subcommand(self, subcommand: str) -> None:
        if not self._runs_on_ray():
            super()._run_subcommand(subcommand)
            return
        self.ray_outcome = run_on_ray(
            parser=self._parser(subcommand),
            config=self.config[subcommand],
            subcommand=subcommand,
            method_arguments=self._subcommand_method_arguments[subcommand],
            worker_loop=train_loop,
        )

    def _runs_on_ray(self) -> bool:
        if self.subcommand is None:
            return False
        return runs_on_ray(self.subcommand, self.config[self.subcommand].ray.num_workers)


# ---- on a Ray Train worker ------------------------------------------------------------------


def train_loop(config: dict[str, Any]) -> dict[str, float]:
    """One Ray Train worker: rebuild the driver's run and run its subcommand on this rank's share.

    Returns the Trainer's final metrics (Ray hands rank 0's to the driver), with ``step`` and
    ``epoch``.
    """
    job: WorkerJob = config["job"]
    limit_threads(job.cpus)
    enter_driver_directory(job.driver_cwd)
    cli = WorkerCLI(yaml.safe_load(job.config_yaml), use_gpu=job.use_gpu)
    evaluate_each_sample_once(cli.datamodule)
    kwargs = dict(job.method_kwargs)
    run = getattr(cli.trainer, job.subcommand)
    with latest_ray_checkpoint() as resume_from:
        if job.subcommand == "fit" and resume_from is not None:
            kwargs["ckpt_path"] = resume_from
            if cli.trainer.global_rank == 0:
                print(f"resuming from the run's latest checkpoint {resume_from}")
        run(model=cli.model, datamodule=cli.datamodule, **kwargs)
    trainer = cli.trainer
    metrics = {key: float(value) for key, value in trainer.callback_metrics.items()}
    return metrics | {"step": trainer.global_step, "epoch": trainer.current_epoch}


class WorkerCLI(InChICLI):
    """Builds one worker's model, data and Trainer from the driver's configuration; runs nothing.

    The Trainer is the configured one with Ray's DDP strategy and cluster environment, and a
    callback that reports metrics and a checkpoint to Ray at every training epoch end.
    """

    def __init__(self, config: dict[str, Any], use_gpu: bool) -> None:
        from ray.train.lightning import RayTrainReportCallback

        self.use_gpu = use_gpu
        super().__init__(
            args=config, run=False, trainer_defaults={"callbacks": [RayTrainReportCallback()]}
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        # The configuration comes from the driver only; sys.argv here is Ray's worker's.
        self.config = parser.parse_object(args)

    def before_instantiate_classes(self) -> None:
        """Nothing to prepare: the driver built the shards and filled in the vocabulary."""

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        from ray.train.lightning import RayDDPStrategy, RayLightningEnvironment, prepare_trainer

        trainer = super().instantiate_trainer(
            accelerator="gpu" if self.use_gpu else "cpu",
            devices="auto",
            strategy=RayDDPStrategy(),
            plugins=[RayLightningEnvironment()],
            **kwargs,
        )
        return prepare_trainer(trainer)
