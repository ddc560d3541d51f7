"""inchi_lightning: read images of skeletal chemical formulas and write their InChI strings.

    from inchi_lightning import Reader
    readings = Reader().read(["a.png"])

``Reader`` and ``Reading`` load on first use, so importing the package stays light (no torch,
Lightning or Ray until a reader is made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.16.0"
__all__ = ["Reader", "Reading", "__version__"]

if TYPE_CHECKING:
    from inchi_lightning.reading.reader import Reader
    from inchi_lightning.reading.readings import Reading


def __getattr__(name: str) -> Any:
    if name == "Reader":
        from inchi_lightning.reading.reader import Reader

        return Reader
    if name == "Reading":
        from inchi_lightning.reading.readings import Reading

        return Reading
    raise AttributeError(f"module 'inchi_lightning' has no attribute {name!r}")
