"""The versioned embedded benchmarks: hw-v2's writer-independent split (families disjoint, test
families fixed before any scoring), IAM-like labels, per-word writer variation, and hw-v1 kept
reachable by name."""

from __future__ import annotations

import re

import numpy as np
import pytest

from seqclr.data.benchmarks import BENCHMARKS, DEFAULT_BENCHMARK, get_benchmark
from seqclr.data.fonts import SPLITS
from seqclr.data.render import RenderStyle, _map_boxes, elastic_warp, render_text, sample_render_style
from seqclr.data.synthetic import SyntheticWords
from seqclr.data.words import word_list

HW_V2_TEST = ("kalam", "shadows-into-light", "dancing-script", "pacifico")


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_splits_are_disjoint_and_installed(name):
    bench = get_benchmark(name)
    sets = {s: set(bench.families(s)) for s in SPLITS}
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not sets[a] & sets[b], (name, a, b)
        assert {f.family for f in bench.faces(a)} == sets[a]  # every family has an installed face


def test_hw_v2_is_the_default_and_its_test_families_are_fixed():
    bench = get_benchmark("hw-v2")
    assert DEFAULT_BENCHMARK["handwriting"] == "hw-v2"
    assert bench.families("test") == HW_V2_TEST  # chosen by style before scoring: never changed
    assert len(bench.families("val")) >= 2
    # every handwriting-style family of the installed font packages is in the benchmark
    v1 = get_benchmark("hw-v1")
    assert {f for s in SPLITS for f in v1.families(s)} | {"lobster"} == {f for s in SPLITS for f in bench.families(s)}
    ds = SyntheticWords("test", size=40, seed=3)
    assert ds.benchmark.name == "hw-v2"
    assert {ds[i].meta["family"] for i in range(40)} <= set(HW_V2_TEST)


def test_hw_v2_labels_are_iam_like():
    words = {w.lower() for w in word_list("en", 10000, "english95", 1, 12)}
    ds = SyntheticWords("test", size=400, seed=1)
    kinds = {"word": 0, "punct": 0, "number": 0}
    for label in ds.labels:
        core = label[:-1] if len(label) > 1 and label[-1] in ",." else label
        if core.lower() in words:
            kinds["word"] += 1
        elif re.fullmatch(r"[.,\-'\"!?;:()]", label):
            kinds["punct"] += 1
        elif re.fullmatch(r"\d+", label):
            kinds["number"] += 1
        else:
            pytest.fail(f"label {label!r} is not a word, punctuation token or number")
    assert kinds["word"] > 0.8 * len(ds.labels) and kinds["punct"] > 0
    assert any(lab[:1].isupper() for lab in ds.labels) and any(lab.islower() for lab in ds.labels)


def test_hw_v1_stays_reachable_and_styles_are_checked():
    v1 = SyntheticWords("test", size=30, seed=0, benchmark="hw-v1")
    assert {v1[i].meta["family"] for i in range(30)} <= {"zeyada", "oleo-script"}
    v2 = SyntheticWords("test", size=30, seed=0)
    assert v1.labels != v2.labels
    with pytest.raises(ValueError, match="hw-v2.*handwriting benchmark, not print"):
        SyntheticWords("test", style="print", benchmark="hw-v2")
    with pytest.raises(ValueError, match="unknown benchmark 'hw-v9'"):
        SyntheticWords("test", benchmark="hw-v9")


def test_writer_variation_changes_per_word_and_boxes_hold():
    rng = np.random.default_rng(0)
    styles = [sample_render_style(rng, 6, "handwriting-v2") for _ in range(50)]
    for field in ("x_scale", "elastic", "shear", "spacing"):
        assert len({round(getattr(s, field), 4) for s in styles}) > 10, field
    assert {s.stroke for s in styles} == {0, 1} and {s.thin for s in styles} == {0, 1}
    face = get_benchmark("hw-v2").faces("train")[0]
    for s in styles[:10]:
        sample = render_text("minimum", face, RenderStyle(**{**s.__dict__, "jitter": s.jitter[:1] * 7, "scale": (1.0,) * 7}))
        ink = 255 - sample.image.astype(int)
        for x0, x1 in sample.char_boxes:
            assert x1 > x0 and ink[:, int(x0) : int(np.ceil(x1))].max() > 40  # each box holds ink


def test_elastic_warp_identity_and_box_mapping():
    alpha = (np.random.default_rng(0).random((20, 40)) * 255).astype(np.uint8)
    same, cols = elastic_warp(alpha, 0.0, 8.0, seed=1)
    assert np.array_equal(same, alpha) and np.allclose(cols, np.arange(40))
    moved, cols = elastic_warp(alpha, 3.0, 8.0, seed=1)
    assert not np.array_equal(moved, alpha)
    boxes = _map_boxes(np.array([[5.0, 10.0], [10.0, 30.0]], dtype=np.float32), cols)
    assert (boxes[:, 1] >= boxes[:, 0]).all() and boxes[0, 1] <= boxes[1, 0] + 1e-6
