"""``InChICLI``: LightningCLI for fit/validate/test/predict with the project's defaults."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from jsonargparse import Namespace
from lightning import Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from inchi_lightning.checkpoints import LastCheckpoint, check_checkpoint, checkpoint_to_load
from inchi_lightning.data import InChIDataModule, QuickstartSettings, prepare_shards
from inchi_lightning.module import InChICaptioner
from inchi_lightning.submission import SubmissionWriter


class InChICLI(LightningCLI):
    """LightningCLI with the project's checkpointing defaults and the vocabulary filled in.

    The model's vocabulary and clean() parameters come from the shard directory when a run
    starts from nothing, and from the checkpoint's hyperparameters when ``--ckpt_path`` is given,
    so a checkpoint alone is enough to predict. Checkpoints are loaded with
    ``weights_only=True`` unless ``--weights_only false`` is given, and a ``--ckpt_path`` file
    that is not an inchi_lightning checkpoint is refused before anything is built.

    Two checkpoint callbacks write to ``checkpoint.dirpath``: ``checkpoint`` keeps ``best.ckpt``
    (lowest ``val/levenshtein``, judged right after each validation) and ``last_checkpoint``
    keeps ``last.ckpt``, the latest state, every ``last_checkpoint.every_n_train_steps`` steps
    or after each validation.

    With ``ray.num_workers >= 1``, fit, validate and test run on Ray Train workers
    (``distributed.py``), each building its Trainer from this same configuration; the outcome is
    kept in ``ray_outcome``.
    """

    def __init__(
        self,
        args: list[str] | dict[str, Any] | None = None,
        run: bool = True,
        trainer_defaults: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            InChICaptioner,
            InChIDataModule,
            args=args,
            run=run,
            save_config_kwargs={"overwrite": True},
            trainer_defaults=trainer_defaults,
        )

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        # No prefix matching: a misspelt option is an error naming it, never another option.
        return super().init_parser(allow_abbrev=False, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
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
        parser.add_lightning_class_args(SubmissionWriter, "submission")
        # Imported here: distributed.py builds on this class.
        from inchi_lightning.distributed import RaySettings

        parser.add_class_arguments(RaySettings, "ray")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if subcommand is None:
            return
        config = self.config[subcommand]
        if config.get("weights_only") is None:
            config.weights_only = True  # what Trainer.fit/validate/test/predict load with
        if subcommand == "predict" and config.get("return_predictions") is None:
            config.return_predictions = False  # SubmissionWriter has written every batch
        checkpoint = checkpoint_to_load(config.get("ckpt_path"), config.checkpoint.dirpath)
        if checkpoint is not None:
            check_checkpoint(checkpoint)

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand]
        if config.model.vocabulary is not None or self.subcommand == "predict":
            return
        quickstart = config.data.quickstart
        if isinstance(quickstart, Namespace):
            quickstart = QuickstartSettings(**quickstart.as_dict())
        tokenizer, clean_params = prepare_shards(config.data.shards, quickstart)
        config.model.vocabulary = tokenizer.tokens
        config.model.max_length = tokenizer.max_length
        config.model.clean_params = Namespace(**asdict(clean_params))

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
        from inchi_lightning.distributed import run_on_ray

        self.ray_outcome = run_on_ray(
            parser=self._parser(subcommand),
            config=self.config[subcommand],
            subcommand=subcommand,
            method_arguments=self._subcommand_method_arguments[subcommand],
        )

    def _runs_on_ray(self) -> bool:
        from inchi_lightning.distributed import runs_on_ray

        if self.subcommand is None:
            return False
        return runs_on_ray(self.subcommand, self.config[self.subcommand].ray.num_workers)
