"""One-line errors for a user's mistakes, shared by every command."""

from __future__ import annotations

import os
import sys


def user_error(exc: Exception) -> int:
    """Report a user's mistake as one ``error:`` line on stderr; returns the exit status, 2.

    With ``INCHI_LIGHTNING_DEBUG`` set, ``exc`` is raised again instead, with its traceback.
    """
    if os.environ.get("INCHI_LIGHTNING_DEBUG"):
        raise exc
    print(f"error: {exc}", file=sys.stderr)
    return 2
