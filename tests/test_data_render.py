import numpy as np
import pytest

from seqclr.data.charset import get_charset
from seqclr.data.fonts import FONT_SPLITS, SPLITS, STYLES, split_faces
from seqclr.data.render import render_text, sample_render_style
from seqclr.data.synthetic import SyntheticWords


def test_font_splits_disjoint_and_installed():
    for style, splits in FONT_SPLITS.items():
        sets = {s: set(splits[s]) for s in SPLITS}
        assert not sets["train"] & sets["val"]
        assert not sets["train"] & sets["test"]
        assert not sets["val"] & sets["test"]
        for split in SPLITS:
            families = {f.family for f in split_faces(style, split)}
            assert families and families <= sets[split]
    assert not set(FONT_SPLITS["handwriting"]["test"]) & set(FONT_SPLITS["print"]["train"])


def test_caps_only_fonts_do_not_claim_lowercase():
    bebas = [f for f in split_faces("print", "val") if f.family == "bebas-neue"]
    assert bebas, "fontpkg-bebas-neue is a dependency"
    assert "A" in bebas[0].coverage and "a" not in bebas[0].coverage
    marker = [f for f in split_faces("handwriting", "train") if f.family == "permanent-marker"]
    assert marker and "a" not in marker[0].coverage and "A" in marker[0].coverage
    roboto = [f for f in split_faces("print", "train") if f.family == "roboto"]
    assert set(get_charset("english95").symbols) <= roboto[0].coverage


@pytest.mark.parametrize("style", STYLES)
def test_deterministic_and_index_dependent(style):
    a = SyntheticWords(split="train", style=style, size=20, seed=7)
    b = SyntheticWords(split="train", style=style, size=20, seed=7)
    s5 = a[5]
    for i in (3, 9, 1):  # call order must not matter
        b[i]
    t5 = b[5]
    assert s5.label == t5.label and s5.image.tobytes() == t5.image.tobytes()
    assert np.array_equal(s5.char_boxes, t5.char_boxes)
    assert a[6].image.tobytes() != s5.image.tobytes()
    c = SyntheticWords(split="train", style=style, size=20, seed=8)
    assert c[5].image.tobytes() != s5.image.tobytes()


def test_sample_format_and_label_bounds():
    ds = SyntheticWords(split="val", size=30, seed=1, min_len=3, max_len=6)
    for i in range(len(ds)):
        s = ds[i]
        assert s.image.dtype == np.uint8 and s.image.ndim == 2
        assert 3 <= len(s.label) <= 6 and s.label == ds.labels[i]
        assert s.char_boxes.shape == (len(s.label), 2) and s.char_boxes.dtype == np.float32
    with pytest.raises(IndexError):
        ds[30]


def test_char_boxes_contain_ink_and_are_ordered():
    face = [f for f in split_faces("handwriting", "train") if f.family == "caveat"][0]
    for seed in range(4):
        rng = np.random.default_rng(seed)
        text = "Wavy jig"
        s = render_text(text, face, sample_render_style(rng, len(text), "handwriting"))
        paper, ink = s.meta["render"]["paper"], s.meta["render"]["ink"]
        dist = np.abs(s.image.astype(float) - paper)
        boxes = s.char_boxes
        assert np.all(boxes[:, 1] > boxes[:, 0]) and boxes.min() >= 0 and boxes.max() <= s.image.shape[1]
        for (x0, x1), ch in zip(boxes, text):
            if ch != " ":
                assert dist[:, int(x0) : int(np.ceil(x1))].max() > 0.5 * abs(ink - paper), ch
        centers = boxes.mean(axis=1)
        assert np.all(np.diff(centers) > 0)
        # Columns outside every box (and outside the margin) hold no ink.
        covered = np.zeros(s.image.shape[1], bool)
        for x0, x1 in boxes:
            covered[max(0, int(x0) - 2) : int(np.ceil(x1)) + 2] = True
        assert dist[:, ~covered].max(initial=0) < 0.5 * abs(ink - paper)


def test_renderer_refuses_missing_glyphs():
    bebas = [f for f in split_faces("print", "val") if f.family == "bebas-neue"][0]
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no glyph"):
        render_text("word", bebas, sample_render_style(rng, 4, "print"))


def test_no_font_lacks_a_glyph_of_its_label():
    seen_families = set()
    for style in STYLES:
        for split in SPLITS:
            ds = SyntheticWords(split=split, style=style, size=60, seed=11, languages=("en", "fr"), charset="french")
            for i in range(len(ds)):
                label, face = ds.label_and_face(i)
                assert all(c in face.coverage for c in label), (label, face.key)
                assert face.family in ds.benchmark.families(split)
                seen_families.add(face.family)
    assert "bebas-neue" in seen_families or "permanent-marker" in seen_families


def test_labels_exercise_the_charset():
    ds = SyntheticWords(size=600, seed=0)
    chars = set("".join(ds.labels))
    assert chars <= set(get_charset("english95").symbols)
    assert any(c.isupper() for c in chars) and any(c.isdigit() for c in chars)
    assert len(chars & set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")) >= 10


def test_print_style_has_light_on_dark():
    ds = SyntheticWords(style="print", size=40, seed=2)
    polarities = {ds[i].meta["render"]["ink"] > ds[i].meta["render"]["paper"] for i in range(40)}
    assert polarities == {True, False}
