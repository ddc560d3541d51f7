"""Files and directories that appear complete or not at all.

Everything the project writes for later runs to trust (PNGs, labels, plans, vocabularies,
manifests, shard directories, submissions) is written under one kind of temporary name beside
its final path, synced to disk, and renamed into place. A run killed at any moment leaves only
hidden temporaries, which ``temporaries`` finds by that one name scheme.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_MARK = ".tmp-"  # .NAME.tmp-PID-RANDOM: hidden, and unique to its writer


def temporary_path(path: str | os.PathLike) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    path = Path(path)
    return path.with_name(f".{path.name}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def temporaries(folder: str | os.PathLike, pattern: str = "*") -> list[Path]:
    """The temporaries under ``folder`` of final names matching ``pattern`` (a glob that may
    hold directories, ``*/*/*.png``), sorted."""
    head, _, name = pattern.rpartition("/")
    glob = f"{head}/.{name}{TEMPORARY_MARK}*" if head else f".{name}{TEMPORARY_MARK}*"
    return sorted(Path(folder).glob(glob))


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s file (or directory) at; on a clean exit sync
    it and rename it into place, on an error remove it.

    A directory renamed onto one that exists already (another writer finished first) is
    discarded: the finished one stands.
    """
    path = Path(path)
    temporary = temporary_path(path)
    try:
        yield temporary
        _sync_tree(temporary)
        try:
            os.replace(temporary, path)
        except OSError:
            if not (temporary.is_dir() and path.is_dir()):
                raise
            shutil.rmtree(temporary)
    except BaseException:
        remove(temporary)
        raise
    _sync(path.parent)  # makes the rename itself durable


def write_atomically(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) so that ``path`` holds all of it or its old content."""
    path = Path(path)
    with atomic_path(path) as temporary:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)
    return path


def _sync_tree(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            _sync_tree(child)
    _sync(path)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
