"""``python -m inchi_lightning``: see ``inchi_lightning.cli``."""

import sys

from inchi_lightning.cli import main

if __name__ == "__main__":
    sys.exit(main())
