"""Instance spans, the character under each instance (hand-made boxes and real rendered words),
nearest neighbours, and seeded UMAP (one test: numba compiles once per process)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqclr.evaluate.embeddings import (
    NO_CHAR,
    InstanceSet,
    agreement_by_encoder,
    chars_under,
    embed_instances,
    embeddings_summary,
    instance_spans,
    nearest_neighbours,
    neighbour_agreement,
    neighbour_char_agreement,
    pretrained_representation,
    representation_for,
    save_embeddings,
    umap_2d,
)


def test_frame_spans_tile_the_image():
    spans = instance_spans("frame", 4, 100)
    assert spans.tolist() == [[0, 25], [25, 50], [50, 75], [75, 100]]


@pytest.mark.parametrize("t, n", [(26, 5), (7, 3), (5, 5)])
def test_window_spans_follow_the_pooling_bins(t, n):
    """A window covers exactly the frames the instance mapping averages into it."""
    from seqclr.contrastive.instance_mapping import adaptive_pool_weights

    w = adaptive_pool_weights(torch.tensor([t]), t, n)[0]
    frames = instance_spans("frame", t, 100)
    spans = instance_spans("window", t, 100, n)
    for i in range(n):
        used = torch.nonzero(w[i]).flatten().tolist()
        assert spans[i].tolist() == pytest.approx([frames[used[0], 0], frames[used[-1], 1]])


def test_chars_under_hand_made_boxes():
    spans = instance_spans("frame", 10, 100)  # [0,10), [10,20), ...
    boxes = np.array([[12, 30], [28, 52], [70, 75]], dtype=np.float32)  # "a", "b", " " (space) then nothing
    got = chars_under(spans, boxes, "ab ")
    # [20, 30) overlaps "a" by 10 columns and "b" by 2; [50, 60) only "b" (2); the space is no glyph
    assert got == [NO_CHAR, "a", "a", "b", "b", "b", NO_CHAR, NO_CHAR, NO_CHAR, NO_CHAR]
    assert chars_under(spans[:2], None, "ab") == [NO_CHAR, NO_CHAR]
    with pytest.raises(ValueError, match="do not match label"):
        chars_under(spans, boxes, "abcd")


def test_embed_instances_of_rendered_words():
    from seqclr.data.dataset import WordDataset, build_source
    from seqclr.models.encoder import SequenceEncoder, get_encoder_config

    ds = WordDataset(build_source("synthetic-handwriting", split="test", size=3, seed=0), "english95")
    items = [ds[i] for i in range(3)]
    torch.manual_seed(0)
    enc = SequenceEncoder(get_encoder_config("tiny"))
    frames = embed_instances(enc, items, "frame", "H")
    t = enc.frames_for_width(100)
    assert frames.z.shape == (3 * t, enc.representation_dim("H"))
    assert frames.image.tolist() == sum([[i] * t for i in range(3)], [])
    for i, it in enumerate(items):
        chars = set(frames.char[frames.image == i]) - {NO_CHAR}
        assert chars and chars <= set(it["label"])
        # the instance under each character's box centre carries that character
        for c, (x0, x1) in zip(it["label"], it["char_boxes"].tolist()):
            if x1 - x0 >= 2 * 100 / t and not c.isspace():
                centre = (x0 + x1) / 2
                j = np.flatnonzero((frames.image == i) & (frames.span[:, 0] <= centre) & (centre < frames.span[:, 1]))[0]
                assert frames.char[j] == c
    windows = embed_instances(enc, items, "window", "V", n_instances=5)
    assert windows.z.shape == (15, enc.representation_dim("V")) and windows.position.max() == 4
    # a window is the mean of its frames' V
    v = enc(torch.stack([items[0]["image"]])).V[0].detach().numpy()
    assert np.allclose(windows.z[0], v[: int(np.ceil(t / 5))].mean(0), atol=1e-5)


def test_nearest_neighbours_and_agreement():
    z = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [1, 0.05]], dtype=np.float32)
    image = np.array([0, 0, 1, 1, 2])
    nn = nearest_neighbours(z, [0, 2], k=2)
    assert nn[0].tolist() == [4, 1] and nn[1].tolist() == [3, 1]
    nn_other = nearest_neighbours(z, [0], k=2, exclude_same_image=image)
    assert nn_other[0].tolist() == [4, 3]  # instance 1 shares image 0
    chars = np.array(["a", "a", "b", "b", "a"], dtype=object)
    assert neighbour_char_agreement(chars, [0, 2], nn) == pytest.approx(0.75)


def _hand_made_instances() -> InstanceSet:
    # angles 0, 6.3, 90, 83.7, 45 (a margin), 2.9 degrees; instances 0 and 5 share image 0
    z = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.7, 0.7], [1, 0.05]], dtype=np.float32)
    return InstanceSet(
        z=z, image=np.array([0, 1, 2, 3, 4, 0]), position=np.array([0, 0, 0, 0, 0, 1]),
        span=np.zeros((6, 2), dtype=np.float32), char=np.array(["a", "a", "b", "b", NO_CHAR, "b"], dtype=object),
    )


def test_neighbour_agreement_of_a_hand_made_embedding():
    s = _hand_made_instances()
    # k=1, neighbours from other images, queries on a glyph (not the margin 4):
    # 0->1 (a=a), 1->5 (a!=b), 2->3 (b=b), 3->2 (b=b), 5->1 (b!=a): 3 of 5
    assert neighbour_agreement(s, k=1) == pytest.approx(3 / 5)
    # k=2 adds the second nearest: 0->4, 1->0, 2->4, 3->4, 5->4: one more agreeing pair (1->0 is a=a)
    assert neighbour_agreement(s, k=2) == pytest.approx(4 / 10)
    assert agreement_by_encoder({"x": s, "y": s}, k=1) == pytest.approx({"x": 0.6, "y": 0.6})
    # by position (the same frame index), the same neighbours: k=1 agree on 0->1, 2->3, 3->2 (5 sits at 1);
    # k=2 adds 0->4, 1->0, 2->4, 3->4 (all at 0), not 5->4
    assert neighbour_agreement(s, k=1, by="position") == pytest.approx(3 / 5)
    assert agreement_by_encoder({"x": s}, k=2, by="position") == pytest.approx({"x": 7 / 10})
    with pytest.raises(ValueError, match="'glyph'"):
        neighbour_agreement(s, by="glyph")


def test_pretrained_representation_reads_the_encoder_file(tmp_path):
    # "pretrained": each encoder at the layer its pretraining read (its encoder.pt's pretrain_config)
    from seqclr.evaluate.notebook import EmbeddingsParams, load_encoder_or_random
    from seqclr.models.encoder import SequenceEncoder, get_encoder_config
    from seqclr.train.checkpoint import save_encoder

    enc = SequenceEncoder(get_encoder_config("tiny"))
    cases = {"simclr": ({"method": "simclr", "representation": None}, "V"),
             "contextual": ({"method": "simclr-contextual", "representation": None}, "H"),
             "window": ({"method": "seqclr-window"}, "H"),
             "override": ({"method": "simclr", "representation": "HV"}, "HV")}
    for name, (pre, want) in cases.items():
        loaded = load_encoder_or_random(str(save_encoder(tmp_path / f"{name}.pt", enc, pre)))
        assert pretrained_representation(loaded) == want, name
        assert representation_for(loaded, "pretrained") == want and representation_for(loaded, "V") == "V"
    random = load_encoder_or_random("random", "tiny")
    assert pretrained_representation(random) == "H" and representation_for(random, "pretrained") == "H"
    bad = load_encoder_or_random(str(save_encoder(tmp_path / "bad.pt", enc, {"method": "simclr2"})))
    with pytest.raises(ValueError, match="simclr2"):
        pretrained_representation(bad)
    assert EmbeddingsParams(representation="pretrained").validate().representation == "pretrained"
    with pytest.raises(ValueError, match="representation.*'pretrain'"):
        EmbeddingsParams(representation="pretrain").validate()


def test_embeddings_summary_and_files(tmp_path):
    import json

    s = _hand_made_instances()
    summary = embeddings_summary({"x": 0.6}, {"x": s}, 5, {"k": 1, "kind": "frame"})
    assert summary == {"agreement": {"x": 0.6}, "instances": 6, "images": 5, "params": {"k": 1, "kind": "frame"}}
    full = embeddings_summary({"x": 0.6}, {"x": s}, 5, {}, {"x": "V"}, {"x": 0.2})
    assert full["representations"] == {"x": "V"} and full["position_agreement"] == {"x": 0.2}
    out = save_embeddings(tmp_path / "emb", summary, b"umap", {"random init": b"nn"})
    assert json.loads((out / "embeddings.json").read_text()) == summary
    assert (out / "umap.png").read_bytes() == b"umap" and (out / "neighbours_random_init.png").read_bytes() == b"nn"


def test_umap_is_seeded_and_reproducible():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 0.1, (20, 8)) + 3 * np.eye(8)[0], rng.normal(0, 0.1, (20, 8)) + 3 * np.eye(8)[1]])
    a = umap_2d(z, seed=3, n_neighbors=5)
    b = umap_2d(z, seed=3, n_neighbors=5)
    c = umap_2d(z, seed=4, n_neighbors=5)
    assert a.shape == (40, 2) and np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # the two clusters stay apart in 2-D
    gap = np.linalg.norm(a[:20].mean(0) - a[20:].mean(0))
    spread = max(a[:20].std(0).max(), a[20:].std(0).max())
    assert gap > 2 * spread
    with pytest.raises(ValueError, match="at least 4"):
        umap_2d(z[:3])
