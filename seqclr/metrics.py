"""Recognition metrics (section 5 "Metrics"): word accuracy (Acc), accuracy up to one edit (ED1),
character and word error rates (CER, WER). All return fractions in [0, 1] (CER/WER can exceed 1
when predictions are much longer than the references); tables multiply by 100.

Edit distances are Levenshtein distances from ``rapidfuzz.distance.Levenshtein`` (unit costs).

- Acc: fraction of predictions equal to their reference.
- ED1: fraction of predictions within one edit (insertion, deletion or substitution) of it.
- CER: sum over samples of the character edit distance / sum of reference lengths (in characters).
- WER: sum over samples of a word error count / sum of the number of reference words, with
  words counted on the *reference's* segmentation (whitespace-separated tokens):

  * a reference with one word (no inner whitespace, e.g. every IAM / RIMES / scene-text word
    image) counts 0 errors if the prediction equals the reference (the same comparison as Acc)
    and 1 otherwise, whatever the prediction holds: a predicted space ("foo bar" for "foobar") is
    one wrong word, not a substitution plus an insertion;
  * a reference with several words counts the word-level Levenshtein distance between the
    whitespace-split prediction and reference (words compared as whole tokens);
  * a reference with no words (empty or blank) adds no reference word and counts the number of
    predicted words (insertions).

  So on a set of single-word references WER == 1 - Acc exactly, the fraction of wrong words, as
  in the word-level state-of-the-art tables (Table 3); on line-level text it is the usual WER.

``case_sensitive=False`` lowercases predictions and references before comparing (scene-text
benchmarks are usually scored that way).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

METRIC_NAMES = ("acc", "ed1", "cer", "wer")  # the scores of evaluate_predictions (besides n)


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


def _word_errors(pred: str, ref: str) -> tuple[int, int]:
    """(word errors, reference words) of one sample, on the reference's segmentation."""
    ref_words = ref.split()
    if len(ref_words) == 1:  # one reference word: right or wrong, at most one error
        return int(pred != ref), 1
    return Levenshtein.distance(pred.split(), ref_words), len(ref_words)


def wer(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool = True) -> float:
    """Summed word errors / summed number of reference words, words counted on the reference's
    segmentation: a one-word reference costs 0 (prediction == reference) or 1, a multi-word one
    its word-level Levenshtein distance (see the module docstring). WER == 1 - Acc on single-word
    references."""
    pairs = _pairs(preds, refs, case_sensitive)
    counts = [_word_errors(p, r) for p, r in pairs]
    total = sum(n for _, n in counts)
    if total == 0:
        raise ValueError("metrics: wer is undefined when the references have no words")
    return sum(e for e, _ in counts) / total


def evaluate_predictions(preds: Sequence[str], refs: Sequence[str], case_sensitive: bool = True) -> dict:
    """dict(acc, ed1, cer, wer, n) for one test set."""
    return {
        "acc": word_accuracy(preds, refs, case_sensitive),
        "ed1": ed1(preds, refs, case_sensitive),
        "cer": cer(preds, refs, case_sensitive),
        "wer": wer(preds, refs, case_sensitive),
        "n": len(refs),
    }
