"""The ``predict`` command: a submission (``image_id,InChI``) for images, read by ``Reader``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from inchi_lightning.cli.errors import user_error
from inchi_lightning.cli.options import add_reading_options, reader_settings
from inchi_lightning.reading.inputs import image_files

log = logging.getLogger("inchi_lightning.predict")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inchi_lightning predict",
        description="Read images of chemical structures and write a submission CSV "
        "(image_id,InChI; image_id is the file's name without its suffix), optionally with "
        "confidence, SMILES and error columns and an SDF of the molecules with the "
        "coordinates read. An image that cannot be read keeps its row, with an empty InChI, "
        "and its reason is logged (and written in the error column). Reads PNG, JPEG, TIFF, "
        "BMP, WebP and GIF, gray, colour, CMYK or 16-bit.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--data.predict_dir",
        "--images",
        dest="images",
        nargs="+",
        required=True,
        metavar="PATH",
        help="image files, folders (read recursively: a Kaggle test/ tree too) or glob "
        "patterns (quote them: 'scans/*.png')",
    )
    parser.add_argument(
        "--submission.output",
        "--output",
        dest="output",
        default="submission.csv",
        help="the CSV to write (default: %(default)s)",
    )
    parser.add_argument(
        "--columns",
        default="",
        help="extra columns, comma-separated: confidence (0-1), smiles, error",
    )
    parser.add_argument("--sdf", help="also write the molecules, with read coordinates, here")
    add_reading_options(parser)
    parser.add_argument(
        "--verbose", action="store_true", help="log every library's warnings and notices too"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    columns = tuple(c.strip() for c in args.columns.split(",") if c.strip())
    try:
        if args.ckpt_path:  # a bad checkpoint is named before any image is looked at
            from inchi_lightning.reading.checkpoint import check_checkpoint  # imports torch

            check_checkpoint(args.ckpt_path)
        paths, skipped = image_files(args.images)
        if skipped:
            shown = ", ".join(str(p) for p in skipped[:5])
            files = (
                "1 file that is not an image"
                if len(skipped) == 1
                else f"{len(skipped)} files that are not images"
            )
            log.warning("skipping %s: %s", files, shown)
        written = predict(paths, args, columns)
    except (OSError, ValueError) as exc:
        return user_error(exc)
    rows, unread = written
    unread_note = f" ({unread} could not be read: see the log above)" if unread else ""
    print(f"wrote {rows} predictions to {args.output}{unread_note}")
    return 0


def predict(
    paths: list[Path], args: argparse.Namespace, columns: tuple[str, ...]
) -> tuple[int, int]:
    """Read ``paths`` and write them; (rows written, images not read)."""
    # Imported here: torch costs seconds that --help and argument errors do not need.
    from inchi_lightning.reading.outputs import ReadingWriter
    from inchi_lightning.reading.reader import Reader

    reader = Reader(args.ckpt_path, **reader_settings(args))
    with reader, ReadingWriter(args.output, columns, args.sdf) as writer:
        progress = sys.stderr.isatty() or args.verbose
        readings = reader.iter_read(paths, progress=progress, total=len(paths))
        for path, reading in zip(paths, readings, strict=True):
            if reading.error:
                log.warning("could not read %s: %s", path, reading.error)
            writer.write(path.stem, reading)
    return writer.rows, writer.unread
