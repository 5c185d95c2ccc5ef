"""Acc, ED1, CER and WER on cases computed by hand."""

from __future__ import annotations

import pytest

from seqclr.metrics import cer, ed1, evaluate_predictions, wer, word_accuracy

PREDS = ["hello", "wrld", "Hello", "abc", ""]
REFS = ["hello", "world", "hello", "xyz", "a"]
# edit distances, case-sensitive: 0, 1 (missing o), 1 (H/h), 3, 1 (missing a); reference chars 19
# case-insensitive: 0, 1, 0, 3, 1


def test_word_accuracy():
    assert word_accuracy(PREDS, REFS) == pytest.approx(1 / 5)
    assert word_accuracy(PREDS, REFS, case_sensitive=False) == pytest.approx(2 / 5)


def test_ed1():
    assert ed1(PREDS, REFS) == pytest.approx(4 / 5)
    assert ed1(PREDS, REFS, case_sensitive=False) == pytest.approx(4 / 5)
    # A transposition is two Levenshtein edits, so it is not within one edit.
    assert ed1(["ba"], ["ab"]) == 0.0
    assert ed1(["abx"], ["ab"]) == 1.0


def test_cer():
    assert cer(PREDS, REFS) == pytest.approx(6 / 19)
    assert cer(PREDS, REFS, case_sensitive=False) == pytest.approx(5 / 19)
    assert cer(["sitting"], ["kitten"]) == pytest.approx(3 / 6)
    # summed over the set, not averaged per sample: (1 + 0) / (1 + 9), not (1/1 + 0/9) / 2
    assert cer(["b", "abcdefghi"], ["a", "abcdefghi"]) == pytest.approx(1 / 10)


def test_wer_single_words_is_one_minus_accuracy():
    assert wer(PREDS, REFS) == pytest.approx(4 / 5)
    assert wer(PREDS, REFS, case_sensitive=False) == pytest.approx(3 / 5)


def test_wer_counts_word_edits_over_reference_words():
    # "the cat sat" -> "the bat sat down": one substitution + one insertion; "on mat" exact.
    preds, refs = ["the bat sat down", "on mat"], ["the cat sat", "on mat"]
    assert wer(preds, refs) == pytest.approx(2 / 5)
    # CER of the same: 1 substitution + 5 inserted characters (" down") over 11 + 6 characters.
    assert cer(preds, refs) == pytest.approx(6 / 17)
    assert word_accuracy(preds, refs) == pytest.approx(1 / 2)



def test_wer_predicted_space_in_a_single_word_is_one_error():
    # "foo bar" for "foobar": one wrong word (a word-level Levenshtein would count 2: sub + ins).
    assert wer(["foo bar"], ["foobar"]) == 1.0
    assert wer(["a b c d"], ["abcd"]) == 1.0
    assert wer(["foo bar", "baz"], ["foobar", "baz"]) == pytest.approx(1 / 2)
    assert wer(["foo bar"], ["foobar"]) == 1 - word_accuracy(["foo bar"], ["foobar"])


def test_wer_is_one_minus_accuracy_on_single_word_samples():
    preds = ["foo bar", "hello", "Wor ld", "", "x y z", "abc", "ab c", "Street", "  "]
    refs = ["foobar", "hello", "world", "a", "q", "abc", "abc", "STREET", "b"]
    for cs in (True, False):
        # equal as fractions (k wrong / n); the float subtraction may differ in the last bit
        assert wer(preds, refs, case_sensitive=cs) == pytest.approx(1 - word_accuracy(preds, refs, case_sensitive=cs), abs=1e-12)
    assert wer(preds, refs) == pytest.approx(7 / 9)  # only "hello" and "abc" are right
    assert wer(preds, refs, case_sensitive=False) == pytest.approx(6 / 9)  # + "Street"


def test_wer_multi_word_references_keep_word_edit_distance():
    # two-word reference: "foo bar baz" vs "foo baz" is one insertion; "ab cd" vs "abcd" is a
    # substitution + a deletion (2 word errors over 2 reference words).
    assert wer(["foo bar baz"], ["foo baz"]) == pytest.approx(1 / 2)
    assert wer(["abcd"], ["ab cd"]) == pytest.approx(2 / 2)
    # mixed set: 1 (single word, spaced) + 2 (line: sub "sat"->"sit" and del "down") over 1 + 4 words
    assert wer(["foo bar", "the cat sit"], ["foobar", "the cat sat down"]) == pytest.approx(3 / 5)
    # an empty reference adds no word but its predicted words are insertions
    assert wer(["x y", "a b"], ["", "a b"]) == pytest.approx(2 / 2)

def test_evaluate_predictions_dict():
    out = evaluate_predictions(PREDS, REFS, case_sensitive=False)
    assert set(out) == {"acc", "ed1", "cer", "wer", "n"}
    assert out["n"] == 5
    assert out["acc"] == pytest.approx(0.4) and out["ed1"] == pytest.approx(0.8)
    assert out["cer"] == pytest.approx(5 / 19) and out["wer"] == pytest.approx(0.6)
    perfect = evaluate_predictions(["Ab", "c"], ["Ab", "c"])
    assert perfect == {"acc": 1.0, "ed1": 1.0, "cer": 0.0, "wer": 0.0, "n": 2}


def test_bad_input():
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        word_accuracy(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="empty"):
        ed1([], [])
    with pytest.raises(ValueError, match="no characters"):
        cer(["a"], [""])
    with pytest.raises(TypeError, match="single string"):
        wer("abc", "abc")
    with pytest.raises(TypeError, match="prediction 0"):
        word_accuracy([None], ["a"])
