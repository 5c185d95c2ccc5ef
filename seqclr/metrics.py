"""Recognition metrics (section 5 "Metrics"): word accuracy (Acc), accuracy up to one edit (ED1),
character and word error rates (CER, WER). All return fractions in [0, 1] (CER/WER can exceed 1
when predictions are much longer than the references); tables multiply by 100.

Edit distances are Levenshtein distances from ``rapidfuzz.distance.Levenshtein`` (unit costs).

- Acc: fraction of predictions equal to their reference.
- ED1: fraction of predictions within one edit (insertion, deletion or substitution) of it.
- CER: sum over samples of the character edit distance / sum of reference lengths (in characters).
- WER: sum over samples of the word-level edit distance (each sample split on whitespace into
  words, words compared as whole tokens) / sum of the number of reference words. For word-level
  datasets (IAM, RIMES words: one word per image, predictions without spaces) every sample has one
  reference word and distance 0 or 1, so WER = 1 - Acc, the fraction of wrong words, as in the
  word-level state-of-the-art tables (Table 3).

``case_sensitive=False`` lowercases predictions and references before comparing (scene-text
benchmarks are usually scored that way).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein


def _pairs(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool) -> list[tuple[str, str]]:
    if isinstance(preds, str) or isinstance(refs, str):
        raise TypeError("metrics: preds and refs must be sequences of strings, not a single string")
    if len(preds) != len(refs):
        raise ValueError(f"metrics: {len(preds)} predictions for {len(refs)} references")
    for name, seq in (("prediction", preds), ("reference", refs)):
        for i, s in enumerate(seq):
            if not isinstance(s, str):
                raise TypeError(f"metrics: {name} {i} is {type(s).__name__} {s!r}, expected str")
    if case_sensitive:
        return list(zip(preds, refs))
    return [(p.lower(), r.lower()) for p, r in zip(preds, refs)]


def _need_samples(pairs: list, name: str) -> None:
    if not pairs:
        raise ValueError(f"metrics: {name} of an empty set of predictions is undefined")


def word_accuracy(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool = True) -> float:
    """Fraction of exact matches."""
    pairs = _pairs(preds, refs, case_sensitive)
    _need_samples(pairs, "word_accuracy")
    return sum(p == r for p, r in pairs) / len(pairs)


def ed1(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool = True) -> float:
    """Fraction of predictions at edit distance <= 1 from their reference."""
    pairs = _pairs(preds, refs, case_sensitive)
    _need_samples(pairs, "ed1")
    return sum(Levenshtein.distance(p, r, score_cutoff=1) <= 1 for p, r in pairs) / len(pairs)


def cer(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool = True) -> float:
    """Summed character edit distance / summed reference length."""
    pairs = _pairs(preds, refs, case_sensitive)
    total = sum(len(r) for _, r in pairs)
    if total == 0:
        raise ValueError("metrics: cer is undefined when the references have no characters")
    return sum(Levenshtein.distance(p, r) for p, r in pairs) / total


def wer(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool = True) -> float:
    """Summed word-level edit distance / summed number of reference words (see module doc)."""
    pairs = _pairs(preds, refs, case_sensitive)
    split = [(p.split(), r.split()) for p, r in pairs]
    total = sum(len(r) for _, r in split)
    if total == 0:
        raise ValueError("metrics: wer is undefined when the references have no words")
    return sum(Levenshtein.distance(p, r) for p, r in split) / total


def evaluate_predictions(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool = True) -> dict:
    """dict(acc, ed1, cer, wer, n) for one test set."""
    return {
        "acc": word_accuracy(preds, refs, case_sensitive),
        "ed1": ed1(preds, refs, case_sensitive),
        "cer": cer(preds, refs, case_sensitive),
        "wer": wer(preds, refs, case_sensitive),
        "n": len(refs),
    }
