"""InChI ⇄ tokens ⇄ ids, with a vocabulary built from training labels.

Every standard InChI starts with ``InChI=1S/``, so the prefix is implied rather than predicted.
The formula layer splits into elements, counts and ``.``; every later layer into its tag
(``/c``, ``/h``, ``/b``, ...), whole numbers and single characters. Joining the tokens gives the
string back exactly, which is what makes ``decode(encode(x)) == x``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from inchi_lightning.files import write_atomically

PREFIX = "InChI=1S/"
PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, SOS, EOS, UNK)
PAD_ID, SOS_ID, EOS_ID, UNK_ID = range(len(SPECIAL_TOKENS))

_FORMULA_TOKEN = re.compile(r"[A-Z][a-z]?|\d+|.", re.DOTALL)
_LAYER_TOKEN = re.compile(r"/[a-z]|\d+|.", re.DOTALL)


def tokenize(inchi: str) -> list[str]:
    """Split an InChI into tokens; ``"".join(tokenize(x)) == x[len(PREFIX):]``.

    Raises:
        ValueError: when ``inchi`` does not start with ``InChI=1S/``.
    """
    if not inchi.startswith(PREFIX):
        raise ValueError(f"not a standard InChI (no {PREFIX!r} prefix): {inchi[:40]!r}")
    formula, slash, layers = inchi[len(PREFIX) :].partition("/")
    tokens = _FORMULA_TOKEN.findall(formula)
    if slash:
        tokens += _LAYER_TOKEN.findall(slash + layers)
    return tokens


class InChITokenizer:
    """A fixed vocabulary of InChI tokens; ids 0-3 are ``<pad> <sos> <eos> <unk>``.

    Args:
        tokens: the whole vocabulary in id order, special tokens first.
        max_length: the longest encoded training label, ``<sos>`` and ``<eos>`` included;
            decoding never needs more steps than this.
    """

    def __init__(self, tokens: Sequence[str], max_length: int) -> None:
        if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with {SPECIAL_TOKENS}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not repeat a token")
        self.tokens = list(tokens)
        self.max_length = int(max_length)
        self._ids = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, inchis: Iterable[str]) -> InChITokenizer:
        """Build the vocabulary of every token in ``inchis`` (sorted, so builds are stable)."""
        seen: set[str] = set()
        longest = 0
        for inchi in inchis:
            tokens = tokenize(inchi)
            seen.update(tokens)
            longest = max(longest, len(tokens) + 2)
        return cls(list(SPECIAL_TOKENS) + sorted(seen - set(SPECIAL_TOKENS)), longest)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def fingerprint(self) -> str:
        """sha256 of the token list: two vocabularies with equal fingerprints give equal ids."""
        return hashlib.sha256("\n".join(self.tokens).encode()).hexdigest()

    def encode(self, inchi: str) -> list[int]:
        """``<sos>`` + token ids + ``<eos>``; tokens outside the vocabulary become ``<unk>``."""
        ids = [self._ids.get(token, UNK_ID) for token in tokenize(inchi)]
        return [SOS_ID, *ids, EOS_ID]

    def decode(self, ids: Iterable[int]) -> str:
        """The InChI that ``ids`` spell: stops at ``<eos>``; skips pad, sos and unk ids."""
        parts = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i >= len(SPECIAL_TOKENS) and i < len(self.tokens):
                parts.append(self.tokens[i])
        return PREFIX + "".join(parts)

    def decode_batch(self, rows: Iterable[Iterable[int]]) -> list[str]:
        return [self.decode(row) for row in rows]

    def unknown_tokens(self, inchi: str) -> list[str]:
        """The tokens of ``inchi`` that are not in the vocabulary, in order of appearance."""
        return [token for token in tokenize(inchi) if token not in self._ids]

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "max_length": self.max_length}

    @classmethod
    def from_dict(cls, data: dict) -> InChITokenizer:
        return cls(data["tokens"], data["max_length"])

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON, atomically (a reader never sees half a file)."""
        write_atomically(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> InChITokenizer:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InChITokenizer) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"InChITokenizer(vocab_size={self.vocab_size}, max_length={self.max_length})"
