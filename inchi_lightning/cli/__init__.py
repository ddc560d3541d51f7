"""The command line: ``synth``, ``preprocess``, LightningCLI's fit/validate/test, and the
reading commands ``predict``, ``score`` and ``evaluate``.

Heavy imports (Lightning, torch, Ray) happen only inside the command that needs them, so
``synth --help`` answers at once.
"""

from __future__ import annotations

import sys

from inchi_lightning.cli.errors import user_error

USAGE = """\
usage: python -m inchi_lightning <command> [options]

Read images of skeletal chemical formulas and write their InChI strings.

commands:
  synth       draw a synthetic BMS-style dataset with RDKit (train_labels.csv + train/a/b/c/*.png)
  preprocess  clean images (despeckle, sharpen, crop, resize) on Ray and write training shards
  fit         train a model (LightningCLI: --config configs/quickstart.yaml)
  validate    score a checkpoint on the validation split (--ckpt_path)
  test        score a checkpoint on the test split (--ckpt_path)
  predict     read images: submission.csv (image_id,InChI), SMILES, confidence, an SDF
  score       mean Levenshtein and exact match of a submission against labels
  evaluate    score a checkpoint on a labelled image set, before and after RDKit post-processing

`python -m inchi_lightning <command> --help` explains each command's options.
Interrupted? Run synth and preprocess again as they were; fit again with --ckpt_path last
(--last_checkpoint.every_n_train_steps N saves last.ckpt every N steps).
Set INCHI_LIGHTNING_DEBUG=1 to see full tracebacks instead of one-line errors.
"""

LIGHTNING_COMMANDS = ("fit", "validate", "test")


def run_lightning(argv: list[str] | None) -> int:
    """Run a LightningCLI subcommand; user errors become one line on stderr and exit code 2."""
    from inchi_lightning.cli.lightning import InChICLI

    try:
        InChICLI(args=argv)
    except (FileNotFoundError, ValueError) as exc:
        return user_error(exc)
    return 0


def main(argv: list[str] | None = None) -> int:
    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv else None
    if command == "synth":
        from inchi_lightning.cli import synth

        return synth.main(argv[1:])
    if command == "preprocess":
        from inchi_lightning.cli import preprocess

        return preprocess.main(argv[1:])
    if command == "predict":
        from inchi_lightning.cli import predict

        return predict.main(argv[1:])
    if command in ("score", "evaluate"):
        from inchi_lightning.cli import evaluate

        run = evaluate.score_main if command == "score" else evaluate.evaluate_main
        return run(argv[1:])
    if command in LIGHTNING_COMMANDS:
        # From the shell, LightningCLI reads sys.argv itself (it warns when given both).
        return run_lightning(None if from_command_line else argv)
    print(USAGE, end="", file=sys.stdout if command in (None, "-h", "--help") else sys.stderr)
    return 0 if command in (None, "-h", "--help") else 2
