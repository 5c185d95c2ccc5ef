"""The embedded benchmarks: versioned, named definitions of the rendered data.

A benchmark fixes everything that decides which images a split holds: the font families of each
split (a family plays a writer; the splits are disjoint, as in IAM's writer-independent split),
the label sampler and the rendering style. Figures measured on one version stay comparable
because a version is never changed, only added.

- ``hw-v1``: the first handwriting benchmark (10 train, 2 val, 2 test families; labels with
  random symbol strings; mild writer variation). Kept for comparison with earlier studies.
- ``hw-v2``: every handwriting-style family that the fontpkg packages on PyPI offer (15: the
  Google Fonts "handwriting" families plus the script display faces Lobster, Lobster Two and Oleo
  Script), split by style coverage BEFORE any model was scored on them:

  ============ =========================================================================
  test (4)     kalam (print-like hand), shadows-into-light (thin, quick pen),
               dancing-script (connected cursive), pacifico (heavy brush script)
  val (3)      caveat (casual felt pen), satisfy (cursive), oleo-script (bold script)
  train (8)    indie-flower, delius, zeyada, permanent-marker (marker, capitals only),
               great-vibes, yellowtail, lobster, lobster-two
  ============ =========================================================================

  Each style of the test split has relatives in train (print-like: indie-flower, delius; thin
  pen: zeyada; cursive: great-vibes, yellowtail; heavy script: lobster, lobster-two) and none of
  its families. Per word, the renderer draws a new writer inside the family (stroke width, slant,
  letter spacing, word width, baseline drift, elastic distortion: ``handwriting-v2`` in
  seqclr.data.render). Labels are IAM-like (``iam`` sampler of seqclr.data.synthetic): dictionary
  words with natural case, punctuation tokens and a few numbers; no random symbol strings.
- ``print-v1``: the scene-text stand-in (print families).
"""

from __future__ import annotations

from dataclasses import dataclass

from seqclr.data.fonts import FONT_SPLITS, SPLITS, FontFace, family_faces


@dataclass(frozen=True)
class Benchmark:
    """One versioned benchmark: families per split, the label sampler and the render style."""

    name: str
    style: str  # the source style it belongs to: "handwriting" | "print"
    splits: dict[str, tuple[str, ...]]
    labels: str  # "v1" (seqclr.data.synthetic.sample_label) | "iam" (sample_iam_label)
    render_style: str  # a style of seqclr.data.render.sample_render_style

    def families(self, split: str) -> tuple[str, ...]:
        if split not in SPLITS:
            raise ValueError(f"benchmark {self.name}: unknown split {split!r}; valid: {', '.join(SPLITS)}")
        return self.splits[split]

    def faces(self, split: str) -> tuple[FontFace, ...]:
        """The installed faces of ``split`` (RuntimeError naming the packages when none is)."""
        return family_faces(self.families(split), f"{self.name}/{split}")


HW_V2_SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "indie-flower",
        "delius",
        "zeyada",
        "permanent-marker",
        "great-vibes",
        "yellowtail",
        "lobster",
        "lobster-two",
    ),
    "val": ("caveat", "satisfy", "oleo-script"),
    "test": ("kalam", "shadows-into-light", "dancing-script", "pacifico"),
}

BENCHMARKS: dict[str, Benchmark] = {
    "hw-v1": Benchmark("hw-v1", "handwriting", FONT_SPLITS["handwriting"], labels="v1", render_style="handwriting"),
    "hw-v2": Benchmark("hw-v2", "handwriting", HW_V2_SPLITS, labels="iam", render_style="handwriting-v2"),
    "print-v1": Benchmark("print-v1", "print", FONT_SPLITS["print"], labels="v1", render_style="print"),
}
BENCHMARK_NAMES: tuple[str, ...] = tuple(BENCHMARKS)
# The benchmark a style's source uses when none is named.
DEFAULT_BENCHMARK: dict[str, str] = {"handwriting": "hw-v2", "print": "print-v1"}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; valid: {', '.join(BENCHMARK_NAMES)}")
    return BENCHMARKS[name]
