"""inchi_lightning: read images of skeletal chemical formulas and write their InChI strings."""

__version__ = "0.1.0"
