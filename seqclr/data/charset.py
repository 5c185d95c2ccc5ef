"""Character sets (the recognizer's symbol classes) and label filtering.

The paper (appendix D) uses 95 symbol classes for English: 52 case-sensitive letters, 10 digits
and 33 "special characters". We count the 33 specials as the 32 ASCII punctuation marks of
``string.punctuation`` plus the space, so english95 is exactly the 94 visible ASCII characters of
``string.printable`` plus " ". For RIMES the French accented letters are added. Decoders add their
own special tokens (CTC "[blank]", attention "[S]"/"[EOW]") on top of the indices 0..n-1 used here.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# 32 ASCII punctuation marks + the space = the paper's 33 special characters.
ENGLISH_SPECIALS = string.punctuation + " "
FRENCH_ACCENTS_LOWER = "àâæçéèêëîïôœùûüÿ"
FRENCH_ACCENTS = FRENCH_ACCENTS_LOWER + FRENCH_ACCENTS_LOWER.upper()


@dataclass(frozen=True)
class Charset:
    """An ordered set of symbols; a symbol's index is its class id (0..n-1).

    symbols: the symbols in class-id order (no duplicates).
    name: a short name for reports.
    case_sensitive: when False, labels are lowercased by ``normalize`` before lookup (the symbols
        must then be lowercase themselves).
    """

    symbols: str
    name: str = "custom"
    case_sensitive: bool = True
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dup = [c for c, k in Counter(self.symbols).items() if k > 1]
        if dup:
            raise ValueError(f"charset {self.name!r}: duplicate symbols {dup!r}")
        if not self.symbols:
            raise ValueError(f"charset {self.name!r}: no symbols")
        if not self.case_sensitive and self.symbols != self.symbols.lower():
            raise ValueError(f"charset {self.name!r}: case-insensitive but has uppercase symbols")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.symbols)})

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def normalize(self, label: str) -> str:
        """The label as this charset sees it (lowercased for case-insensitive sets)."""
        return label if self.case_sensitive else label.lower()

    def unknown_chars(self, label: str) -> list[str]:
        """Characters of the (normalized) label that are not symbols, in order of appearance."""
        return list(dict.fromkeys(c for c in self.normalize(label) if c not in self._index))

    def covers(self, label: str) -> bool:
        """True when every character of the normalized label is a symbol of this set."""
        return all(c in self._index for c in self.normalize(label))

    def encode(self, label: str) -> list[int]:
        """Class ids 0..n-1 of the normalized label; ValueError naming the first unknown char."""
        norm = self.normalize(label)
        try:
            return [self._index[c] for c in norm]
        except KeyError as err:
            raise ValueError(
                f"label {label!r}: character {err.args[0]!r} is not in charset {self.name!r}"
            ) from None

    def decode(self, indices: Iterable[int]) -> str:
        """The string of the given class ids (ids must be in 0..n-1)."""
        out = []
        for i in indices:
            i = int(i)
            if not 0 <= i < len(self.symbols):
                raise ValueError(f"index {i} out of range for charset {self.name!r} (size {len(self)})")
            out.append(self.symbols[i])
        return "".join(out)


_PRESETS: dict[str, tuple[str, bool]] = {
    "english95": (string.digits + string.ascii_lowercase + string.ascii_uppercase + ENGLISH_SPECIALS, True),
    "french": (
        string.digits + string.ascii_lowercase + string.ascii_uppercase + ENGLISH_SPECIALS + FRENCH_ACCENTS,
        True,
    ),
    "case_insensitive36": (string.digits + string.ascii_lowercase, False),
}

CHARSET_NAMES: tuple[str, ...] = tuple(_PRESETS)


def get_charset(name: str | Charset) -> Charset:
    """A preset by name ("english95", "french", "case_insensitive36"); a Charset passes through."""
    if isinstance(name, Charset):
        return name
    if name not in _PRESETS:
        raise ValueError(f"unknown charset {name!r}; valid names: {', '.join(CHARSET_NAMES)}")
    symbols, case_sensitive = _PRESETS[name]
    return Charset(symbols, name=name, case_sensitive=case_sensitive)


def filter_by_charset(
    labels: Sequence[str], charset: Charset | str, max_examples: int = 5
) -> tuple[list[int], dict]:
    """Indices of labels the charset covers, and a report of the dropped ones.

    Empty labels are dropped too (nothing to recognize). The report is a dict with ``count`` (how
    many were dropped), ``examples`` (a few dropped labels), ``unknown_chars`` (the offending
    characters, most frequent first, with counts) and ``empty`` (how many were empty).
    """
    charset = get_charset(charset)
    keep: list[int] = []
    examples: list[str] = []
    unknown: Counter = Counter()
    empty = dropped = 0
    for i, label in enumerate(labels):
        bad = charset.unknown_chars(label)
        if label and not bad:
            keep.append(i)
            continue
        dropped += 1
        empty += not label
        unknown.update(bad)
        if len(examples) < max_examples:
            examples.append(label)
    report = {
        "count": dropped,
        "total": len(labels),
        "examples": examples,
        "unknown_chars": unknown.most_common(),
        "empty": empty,
        "charset": charset.name,
    }
    return keep, report
