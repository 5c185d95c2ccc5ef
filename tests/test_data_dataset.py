import pickle

import numpy as np
import pytest
import torch

from seqclr.data.dataset import SOURCES, WordDataset, build_source, collate_words
from seqclr.data.preprocess import estimate_paper, preprocess, resize_word, to_grayscale, to_tensor
from seqclr.data.readers import write_lmdb
from seqclr.data.sample import WordSample


def _bar_image():
    """200x40 paper (230) with ink bars in columns [20, 40) and [120, 160)."""
    img = np.full((40, 200), 230, np.uint8)
    img[10:30, 20:40] = 0
    img[10:30, 120:160] = 0
    return img, np.array([[20, 40], [120, 160]], np.float32)


def test_plain_resize_remaps_boxes():
    img, boxes = _bar_image()
    out, b = resize_word(img, boxes, 32, 100)
    assert out.shape == (32, 100) and out.dtype == np.uint8
    assert np.allclose(b, boxes / 2)
    for x0, x1 in b:  # the bars are still inside their boxes
        assert out[:, int(x0) + 1 : int(x1) - 1].min() < 50


def test_keep_ratio_pads_with_paper():
    img, boxes = _bar_image()
    out, b = resize_word(img, boxes, 32, 400, keep_ratio=True)
    assert out.shape == (32, 400)
    assert np.allclose(b, boxes * 32 / 40)
    assert np.all(out[:, 161:] == 230)  # padding = paper estimated from the border
    out2, _ = resize_word(img, boxes, 32, 400, keep_ratio=True, pad_value=255)
    assert np.all(out2[:, 161:] == 255)
    narrow, nb = resize_word(img, boxes, 32, 100, keep_ratio=True)  # too wide: squeezed to width
    assert narrow.shape == (32, 100) and np.allclose(nb, boxes / 2)


def test_grayscale_and_tensor():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255
    g = to_grayscale(rgb)
    assert g.shape == (4, 5) and 70 < g[0, 0] < 80  # ITU-R 601 luma of pure red
    assert estimate_paper(np.pad(np.zeros((3, 3), np.uint8), 1, constant_values=200)) == 200
    t = to_tensor([np.zeros((32, 100), np.uint8), np.full((32, 100), 255, np.uint8)])
    assert t.shape == (2, 1, 32, 100) and t.dtype == torch.float32
    assert t[0].max() == 0 and t[1].min() == 1
    assert to_tensor(np.zeros((8, 9), np.uint8)).shape == (1, 1, 8, 9)
    s = preprocess(WordSample(np.full((10, 50), 255, np.uint8), "ab", np.array([[0, 25], [25, 50]], np.float32)))
    assert s.image.shape == (32, 100) and np.allclose(s.char_boxes, [[0, 50], [50, 100]])


def test_word_dataset_filters_and_reports(tmp_path):
    samples = [WordSample(np.full((10, 30), 255, np.uint8), lab) for lab in ["Cat", "dog!", "été", "A1"]]
    write_lmdb(tmp_path / "db", samples)
    with pytest.warns(UserWarning, match="dropped 2 of 4"):
        ds = WordDataset(build_source("lmdb", path=tmp_path / "db"), "case_insensitive36")
    assert len(ds) == 2 and ds.dropped_labels["count"] == 2
    assert [ds[i]["label"] for i in range(2)] == ["cat", "a1"]
    item = ds[0]
    assert item["image"].shape == (1, 32, 100) and item["char_boxes"] is None and item["index"] == 0


def test_word_dataset_synthetic_batch():
    ds = WordDataset(build_source("synthetic-handwriting", size=6, seed=1), "english95", height=32, width=128)
    assert ds.dropped_labels["count"] == 0
    batch = collate_words([ds[i] for i in range(4)])
    assert batch["image"].shape == (4, 1, 32, 128)
    assert 0 <= batch["image"].min() and batch["image"].max() <= 1
    assert batch["index"].tolist() == [0, 1, 2, 3]
    for label, boxes in zip(batch["label"], batch["char_boxes"]):
        assert boxes.shape == (len(label), 2) and float(boxes.max()) <= 128
    ds2 = pickle.loads(pickle.dumps(ds))  # DataLoader workers get a pickled copy
    assert torch.equal(ds2[3]["image"], ds[3]["image"])


def test_build_source_errors():
    assert {"synthetic-handwriting", "synthetic-print", "lmdb", "iam", "cvl", "rimes", "tsv"} <= set(SOURCES)
    with pytest.raises(ValueError, match="synthetic-print"):
        build_source("imagenet")
    with pytest.raises(TypeError, match="'colour'"):
        build_source("synthetic-print", colour="red")
    with pytest.raises(TypeError, match="'style'"):
        build_source("synthetic-print", style="handwriting")
    assert build_source("synthetic-print", size=3).style == "print"
