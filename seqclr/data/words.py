"""Word lists for the embedded renderer: the most frequent words of a language (wordfreq).

``wordfreq`` ships its frequency tables inside the package (no download). Words are kept in
frequency order (deterministic) and filtered to those the charset covers; the list is cached.
"""

from __future__ import annotations

import functools

from wordfreq import top_n_list

from seqclr.data.charset import Charset, get_charset


@functools.lru_cache(maxsize=32)
def _word_list(language: str, n: int, charset: Charset, min_len: int, max_len: int) -> tuple[str, ...]:
    try:
        words = top_n_list(language, n)
    except LookupError as err:  # wordfreq raises LookupError for unsupported languages
        raise ValueError(f"wordfreq has no word list for language {language!r}") from err
    out = [w for w in words if min_len <= len(w) <= max_len and charset.covers(w)]
    if not out:
        raise ValueError(
            f"no word of wordfreq's top {n} {language!r} words fits charset {charset.name!r} "
            f"with length {min_len}..{max_len}"
        )
    return tuple(dict.fromkeys(out))


def word_list(
    language: str = "en",
    n: int = 10000,
    charset: Charset | str = "english95",
    min_len: int = 1,
    max_len: int = 12,
) -> tuple[str, ...]:
    """The top-``n`` words of ``language`` (in frequency order) that ``charset`` covers and whose
    length is within [min_len, max_len]. Cached per arguments."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    return _word_list(language, int(n), get_charset(charset), int(min_len), int(max_len))
