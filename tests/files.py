"""Helpers for tests that compare whole output folders byte for byte."""

from pathlib import Path


def file_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones included) by relative path, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
