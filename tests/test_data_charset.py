import string

import pytest

from seqclr.data.charset import CHARSET_NAMES, Charset, filter_by_charset, get_charset


def test_preset_sizes_and_membership():
    en = get_charset("english95")
    assert len(en) == 95
    assert set(en.symbols) == set(string.printable) - set("\t\n\r\x0b\x0c") | {" "}
    assert " " in en and "~" in en and "é" not in en
    fr = get_charset("french")
    assert set(en.symbols) < set(fr.symbols)
    assert len(fr) == 95 + 32 and {"é", "É", "œ", "Œ", "ç", "Ç"} <= set(fr.symbols)
    ci = get_charset("case_insensitive36")
    assert len(ci) == 36 and not ci.case_sensitive


def test_encode_decode_roundtrip_and_normalize():
    en = get_charset("english95")
    ids = en.encode("Hello, World!")
    assert all(0 <= i < 95 for i in ids)
    assert en.decode(ids) == "Hello, World!"
    ci = get_charset("case_insensitive36")
    assert ci.normalize("AbC1") == "abc1"
    assert ci.encode("ABC") == ci.encode("abc")
    assert ci.covers("Hello") and not ci.covers("hello!")
    with pytest.raises(ValueError, match="'!'"):
        ci.encode("hi!")
    with pytest.raises(ValueError, match="out of range"):
        ci.decode([36])


def test_unknown_charset_lists_valid_names():
    with pytest.raises(ValueError) as err:
        get_charset("klingon")
    for name in CHARSET_NAMES:
        assert name in str(err.value)


def test_bad_custom_charset():
    with pytest.raises(ValueError, match="duplicate"):
        Charset("aab")
    with pytest.raises(ValueError, match="uppercase"):
        Charset("aB", case_sensitive=False)


def test_filter_by_charset_counts():
    labels = ["ok", "élan", "", "fine", "naïve", "A+B"]
    keep, dropped = filter_by_charset(labels, "english95")
    assert keep == [0, 3, 5]
    assert dropped["count"] == 3 and dropped["empty"] == 1
    assert "élan" in dropped["examples"]
    assert {c for c, _ in dropped["unknown_chars"]} == {"é", "ï"}
    keep_fr, dropped_fr = filter_by_charset(labels, "french")
    assert keep_fr == [0, 1, 3, 4, 5] and dropped_fr["count"] == 1
    keep_ci, _ = filter_by_charset(["ABC", "a-b"], "case_insensitive36")
    assert keep_ci == [0]
