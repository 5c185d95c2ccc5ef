"""SyntheticWords: the embedded default data source (rendered word images, no download).

Which fonts, labels and rendering a split uses is fixed by its benchmark (seqclr.data.benchmarks:
``hw-v2`` by default for handwriting). Each item is a word from wordfreq's frequency lists drawn
with one font of the split's families. hw-v1 / print-v1 labels are sometimes capitalized,
upper-cased, a number, wrapped in punctuation, or a random string of charset symbols (so all of
the charset's symbols occur); hw-v2 labels are IAM-like (:func:`sample_iam_label`). Items are deterministic functions of
(seed, split, style, index): each has its own ``numpy.random.default_rng``, so the result does not
depend on call order or on which DataLoader worker renders it.
"""

from __future__ import annotations

import functools

import numpy as np

from seqclr.data.charset import Charset, get_charset
from seqclr.data.benchmarks import BENCHMARKS, DEFAULT_BENCHMARK, get_benchmark
from seqclr.data.fonts import SPLITS, STYLES, FontFace
from seqclr.data.render import render_text, sample_render_style
from seqclr.data.sample import WordSample
from seqclr.data.words import word_list

_SPLIT_ID = {s: i for i, s in enumerate(SPLITS)}
_VERSION_ID = {"hw-v2": 2}
_STYLE_ID = {s: i for i, s in enumerate(STYLES)}
_WRAPS = (("(", ")"), ('"', '"'), ("'", "'"), ("[", "]"), ("<", ">"), ("{", "}"), ("*", "*"), ("_", "_"))
_SUFFIXES = tuple(".,;:!?") + ("'s", "...", "?!", "%", "#")
_PREFIXES = ("#", "@", "$", "&", "~", "+", "-", "/", "\\", "|", "^", "`", "=")
_MAX_TRIES = 100


def sample_label(
    rng: np.random.Generator, words: tuple[str, ...], charset: Charset, min_len: int, max_len: int
) -> str:
    """One label: mostly a plain word, sometimes with case changes, numbers or punctuation."""
    for _ in range(_MAX_TRIES):
        word = words[int(rng.integers(len(words)))]
        r = rng.random()
        if r < 0.55:
            label = word
        elif r < 0.70:
            label = word[:1].upper() + word[1:]
        elif r < 0.75:
            label = word.upper()
        elif r < 0.84:
            label = _number(rng)
        elif r < 0.91:
            label = word + _SUFFIXES[int(rng.integers(len(_SUFFIXES)))]
        elif r < 0.94:
            a, b = _WRAPS[int(rng.integers(len(_WRAPS)))]
            label = a + word + b
        elif r < 0.96:
            label = _PREFIXES[int(rng.integers(len(_PREFIXES)))] + word
        elif r < 0.98:
            other = words[int(rng.integers(len(words)))]
            label = word + ("-", " ", "/")[int(rng.integers(3))] + other
        else:
            pool = charset.symbols.replace(" ", "")
            label = "".join(pool[int(j)] for j in rng.integers(len(pool), size=int(rng.integers(1, 7))))
        if min_len <= len(label) <= max_len and label.strip() == label and charset.covers(label):
            return label
    raise RuntimeError(f"no label of length {min_len}..{max_len} found in {_MAX_TRIES} tries")


_IAM_PUNCTUATION = (".", ",", "-", "'", '"', "!", "?", ";", ":", "(", ")")


def sample_iam_label(
    rng: np.random.Generator, words: tuple[str, ...], charset: Charset, min_len: int, max_len: int
) -> str:
    """An IAM-like word token: a dictionary word drawn with a tempered frequency (rank ** -0.5,
    so common words recur as in running text without drowning the vocabulary), in its natural case
    (lower, Capitalized at a sentence start, rarely UPPER), sometimes a punctuation token of its
    own or a word with its trailing comma or full stop, rarely a number. No random symbol strings."""
    weights = _tempered_weights(len(words))
    for _ in range(_MAX_TRIES):
        word = words[int(rng.choice(len(words), p=weights))]
        r = rng.random()
        if r < 0.66:
            label = word
        elif r < 0.82:
            label = word[:1].upper() + word[1:]
        elif r < 0.84:
            label = word.upper()
        elif r < 0.91:
            label = _IAM_PUNCTUATION[int(rng.integers(len(_IAM_PUNCTUATION)))]
        elif r < 0.97:
            label = word + (",", ".")[int(rng.integers(2))]
        else:
            label = str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
        if min_len <= len(label) <= max_len and label.strip() == label and charset.covers(label):
            return label
    raise RuntimeError(f"no label of length {min_len}..{max_len} found in {_MAX_TRIES} tries")


@functools.lru_cache(maxsize=8)
def _tempered_weights(n: int) -> np.ndarray:
    w = 1.0 / np.sqrt(np.arange(1, n + 1, dtype=np.float64))
    return w / w.sum()


LABEL_SAMPLERS = {"v1": sample_label, "iam": sample_iam_label}


def _number(rng: np.random.Generator) -> str:
    kind = int(rng.integers(6))
    n = int(rng.integers(0, 10 ** int(rng.integers(1, 6))))
    if kind == 0:
        return str(n)
    if kind == 1:
        return f"{n}.{int(rng.integers(0, 100)):02d}"
    if kind == 2:
        return f"{n:,}"
    if kind == 3:
        return f"{n % 100}%"
    if kind == 4:
        return f"${n}"
    return str(int(rng.integers(1900, 2030)))


class SyntheticWords:
    """Map-style dataset of rendered words (see the module docstring).

    split: "train" | "val" | "test" — selects disjoint font families (writer-independent analog).
    style: "handwriting" | "print" (scene-text stand-in).
    benchmark: a name of seqclr.data.benchmarks.BENCHMARKS of that style (families, labels,
    rendering); None = the style's default (hw-v2 for handwriting, print-v1 for print).
    size: number of items; seed: dataset seed; languages: wordfreq language codes ("en", "fr").
    charset: labels are drawn so the charset covers them; min_len/max_len: label length bounds.
    vocab_size: how many of the most frequent words of each language are used.
    """

    def __init__(
        self,
        split: str = "train",
        style: str = "handwriting",
        size: int = 1000,
        seed: int = 0,
        languages: tuple[str, ...] | list[str] | str = ("en",),
        charset: Charset | str = "english95",
        min_len: int = 1,
        max_len: int = 12,
        vocab_size: int = 10000,
        benchmark: str | None = None,
    ) -> None:
        if split not in _SPLIT_ID:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        if style not in _STYLE_ID:
            raise ValueError(f"unknown style {style!r}; valid: {', '.join(STYLES)}")
        if int(size) < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if not 1 <= min_len <= max_len:
            raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
        self.benchmark = get_benchmark(benchmark if benchmark is not None else DEFAULT_BENCHMARK[style])
        if self.benchmark.style != style:
            raise ValueError(
                f"benchmark {self.benchmark.name!r} is a {self.benchmark.style} benchmark, not {style}; "
                f"valid for {style}: {', '.join(n for n, b in BENCHMARKS.items() if b.style == style)}"
            )
        self.split, self.style, self.size, self.seed = split, style, int(size), int(seed)
        self.languages = (languages,) if isinstance(languages, str) else tuple(languages)
        if not self.languages:
            raise ValueError("languages must name at least one wordfreq language")
        self.charset = get_charset(charset)
        self.min_len, self.max_len, self.vocab_size = int(min_len), int(max_len), int(vocab_size)
        self._labels: list[str] | None = None

    def __len__(self) -> int:
        return self.size

    def _key(self, index: int) -> list[int]:
        key = [self.seed, _SPLIT_ID[self.split], _STYLE_ID[self.style], index]
        # v1 benchmarks keep their original keys (the same images as before versioning)
        return key if self.benchmark.labels == "v1" else key + [_VERSION_ID[self.benchmark.name]]

    def _check(self, index: int) -> int:
        index = int(index)
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for SyntheticWords of size {self.size}")
        return index

    def label_and_face(self, index: int) -> tuple[str, FontFace]:
        """The label of item ``index`` and the font face it is drawn with (no rendering)."""
        index = self._check(index)
        rng = np.random.default_rng(self._key(index) + [0])
        faces = self.benchmark.faces(self.split)
        families = tuple(dict.fromkeys(f.family for f in faces))
        sampler = LABEL_SAMPLERS[self.benchmark.labels]
        for _ in range(_MAX_TRIES):
            lang = self.languages[int(rng.integers(len(self.languages)))]
            words = word_list(lang, self.vocab_size, self.charset, 1, self.max_len)
            label = sampler(rng, words, self.charset, self.min_len, self.max_len)
            family = families[int(rng.integers(len(families)))]
            own = [f for f in faces if f.family == family]
            first = own[int(rng.integers(len(own)))]
            if first.covers(label):
                return label, first
            # The chosen font lacks a glyph: take another face of the split, never a tofu box.
            for j in rng.permutation(len(faces)):
                if faces[j].covers(label):
                    return label, faces[j]
        raise RuntimeError(f"{self.style}/{self.split}: no font covers the sampled labels (item {index})")

    @property
    def labels(self) -> list[str]:
        """All labels, computed without rendering (used for charset filtering)."""
        if self._labels is None:
            self._labels = [self.label_and_face(i)[0] for i in range(self.size)]
        return self._labels

    def __getitem__(self, index: int) -> WordSample:
        index = self._check(index)
        label, face = self.label_and_face(index)
        rng = np.random.default_rng(self._key(index) + [1])
        sample = render_text(label, face, sample_render_style(rng, len(label), self.benchmark.render_style))
        sample.meta.update(split=self.split, style=self.style, index=index, seed=self.seed, benchmark=self.benchmark.name)
        return sample

    def __repr__(self) -> str:
        return (
            f"SyntheticWords(split={self.split!r}, style={self.style!r}, benchmark={self.benchmark.name!r}, size={self.size}, seed={self.seed}, "
            f"languages={self.languages!r}, charset={self.charset.name!r})"
        )
