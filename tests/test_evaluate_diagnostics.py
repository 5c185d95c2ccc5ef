"""Diagnostics of frozen frames: the character under each frame (hand-made boxes), retrieval
figures on constructed features whose answers are known, the linear CTC probe on features that
trivially encode the characters, probe_curve over checkpoints written by the real checkpoint code,
and the command line on a few rendered words."""

from __future__ import annotations

import json
import math

import pytest
import torch

from seqclr.data.charset import Charset, get_charset
from seqclr.evaluate.diagnostics import (
    NO_CHAR_ID,
    frame_characters,
    frame_features,
    linear_probe,
    load_frozen_encoder,
    main,
    probe_curve,
    retrieval_diagnostics,
)

EN = get_charset("english95")


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is faster and steadier on a shared, busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _ids(s: str) -> list[int]:
    return EN.encode(s)


# -- the character under each frame ----------------------------------------------------------


def test_frame_characters_hand_made_boxes():
    """10 frames of 10 px; 'a' [0,14), 'b' [14,40), ' ' [40,50), 'c' [50,70)."""
    boxes = torch.tensor([[0, 14], [14, 40], [40, 50], [50, 70]], dtype=torch.float32)
    got = frame_characters("ab c", boxes, 10, 100, EN)
    a, b, c = _ids("abc")
    # frame 1 [10,20): 'a' overlaps 4 px, 'b' 6 px -> 'b'; frame 4 is the space; 7..9 the margin
    assert got == [a, b, b, b, NO_CHAR_ID, c, c, NO_CHAR_ID, NO_CHAR_ID, NO_CHAR_ID]
    # a tie (5 px each) goes to the first character; unknown boxes give no character
    assert frame_characters("ab", torch.tensor([[0.0, 15.0], [15.0, 30.0]]), 10, 100, EN)[:3] == [a, a, b]
    assert frame_characters("ab", None, 4, 100, EN) == [NO_CHAR_ID] * 4


def _items(labels, seed=0, width=100):
    """Hand-made WordDataset items: noise images, each character 8 px wide from column 4."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i, label in enumerate(labels):
        boxes = torch.tensor([[4.0 + 8 * k, 12.0 + 8 * k] for k in range(len(label))])
        out.append({"image": torch.rand(1, 32, width, generator=g), "label": label, "char_boxes": boxes, "index": i})
    return out


def test_frame_features_of_a_tiny_encoder():
    from seqclr.models.encoder import SequenceEncoder, get_encoder_config

    torch.manual_seed(0)
    enc = SequenceEncoder(get_encoder_config("tiny"))
    items = _items(["ab", "xyz", "q"])
    ff = frame_features(enc, items, "H", batch_size=2, charset=EN)
    assert ff.feats.shape == (3, 26, enc.representation_dim("H")) and ff.lengths.tolist() == [26] * 3
    with torch.no_grad():
        direct = enc(torch.stack([it["image"] for it in items])).H
    torch.testing.assert_close(ff.feats, direct)
    assert ff.chars[1].tolist() == frame_characters("xyz", items[1]["char_boxes"], 26, 100, EN)
    assert ff.chars[1, 1].item() == _ids("x")[0] and ff.chars[1, 25].item() == NO_CHAR_ID
    z, char, image, pos = ff.flat()
    assert z.shape == (78, ff.feats.size(2)) and image.tolist()[25:27] == [0, 1] and pos.tolist()[25:27] == [25, 0]
    torch.testing.assert_close(z[27], ff.feats[1, 1])
    assert char[27].item() == ff.chars[1, 1].item()


# -- retrieval on constructed features -------------------------------------------------------


def _layout(n_images=60, t=12, n_chars=6, seed=0):
    """Per frame: its character (random, -1 on every 4th frame: gaps), image and position."""
    g = torch.Generator().manual_seed(seed)
    char = torch.randint(0, n_chars, (n_images, t), generator=g)
    char[:, 3::4] = -1
    image = torch.arange(n_images).repeat_interleave(t)
    pos = torch.arange(t).repeat(n_images)
    return char.flatten(), image, pos


def _brute_chance(attr, image, on):
    """Mean over query frames of P(same attr) for a random character frame of another image."""
    rates = []
    for q in on.tolist():
        cands = [c for c in on.tolist() if image[c] != image[q]]
        rates.append(sum(int(attr[c] == attr[q]) for c in cands) / len(cands))
    return sum(rates) / len(rates)


def test_character_features_retrieve_the_same_character():
    char, image, pos = _layout(n_images=30)
    feats = torch.nn.functional.one_hot(char.clamp_min(0), 6).float() * (char >= 0).float()[:, None]
    r = retrieval_diagnostics(feats, char, image, pos, n_windows=4)
    fig = r["frame_nn_same_character"]
    assert fig["value"] == 1.0
    assert fig["n"] == int((char >= 0).sum())
    on = torch.nonzero(char >= 0).flatten()
    assert fig["chance"] == pytest.approx(_brute_chance(char, image, on), abs=1e-9)
    assert 0.1 < fig["chance"] < 0.3  # about 1/6
    assert r["frame_nn_same_position"]["value"] < 0.3  # characters do not sit at fixed positions


def test_position_features_retrieve_the_same_position_not_the_character():
    char, image, pos = _layout()
    feats = torch.nn.functional.one_hot(pos, 12).float()
    r = retrieval_diagnostics(feats, char, image, pos, n_windows=4)
    assert r["frame_nn_same_position"]["value"] == 1.0
    assert r["window_nn_same_position"]["value"] == 1.0
    assert r["window_nn_same_position"]["chance"] == pytest.approx(1 / 4)
    # every other image holds an identical window: the nearest one is never in the same image
    assert r["window_nn_same_image"]["value"] == 0.0
    assert r["window_nn_same_image"]["chance"] == pytest.approx(3 / (60 * 4 - 1))
    ch = r["frame_nn_same_character"]
    assert abs(ch["value"] - ch["chance"]) < 0.06, ch  # ties broken at random: chance level


def test_image_features_cluster_by_image():
    char, image, pos = _layout(n_images=20)
    g = torch.Generator().manual_seed(1)
    feats = torch.nn.functional.one_hot(image, 20).float() + 0.01 * torch.randn(len(image), 20, generator=g)
    r = retrieval_diagnostics(feats, char, image, pos, n_windows=5)
    assert r["window_nn_same_image"]["value"] == 1.0 and r["frame_nn_same_image"]["value"] == 1.0
    assert abs(r["window_mean_cosine_other_images"]["value"]) < 0.05
    const = retrieval_diagnostics(torch.ones(len(image), 3), char, image, pos)
    assert const["frame_mean_cosine_other_images"]["value"] == pytest.approx(1.0)


def test_other_image_figures_look_past_the_own_image():
    """Image identity dominates the features (own-image frames are nearest), yet the neighbours
    searched in OTHER images must still share the character / window position."""
    char, image, pos = _layout(n_images=20)
    on_char = torch.nn.functional.one_hot(char.clamp_min(0), 6).float() * (char >= 0).float()[:, None]
    on_image = 10 * torch.nn.functional.one_hot(image, 20).float()
    r = retrieval_diagnostics(torch.cat([on_image, on_char], 1), char, image, pos, n_windows=3)
    assert r["frame_nn_same_image"]["value"] == 1.0 and r["window_nn_same_image"]["value"] == 1.0
    assert r["frame_nn_same_character"]["value"] == 1.0
    r = retrieval_diagnostics(torch.cat([on_image, torch.nn.functional.one_hot(pos, 12)], 1), char, image, pos, n_windows=3)
    assert r["window_nn_same_image"]["value"] == 1.0 and r["window_nn_same_position"]["value"] == 1.0


def test_retrieval_rejects_bad_positions():
    char, image, pos = _layout(n_images=3, t=4)
    with pytest.raises(ValueError, match="positions"):
        retrieval_diagnostics(torch.randn(12, 5), char, image, pos.clamp_max(2))


# -- the linear probe ------------------------------------------------------------------------

TOY = Charset("abcdef", name="toy")


def _char_frames(n, seed, t=16):
    """Labels of 2-5 toy characters; each character on 2 frames, then a gap frame (zeros).
    Features: one-hot of the frame's character."""
    g = torch.Generator().manual_seed(seed)
    feats, labels = torch.zeros(n, t, len(TOY)), []
    for i in range(n):
        ids = torch.randint(0, len(TOY), (int(torch.randint(2, 6, (1,), generator=g)),), generator=g).tolist()
        for k, c in enumerate(ids):
            feats[i, 3 * k : 3 * k + 2, c] = 1.0
        labels.append(TOY.decode(ids))
    return feats, labels


def test_linear_probe_reads_characters_from_character_features():
    x_tr, y_tr = _char_frames(200, 0)
    x_va, y_va = _char_frames(50, 1)
    m = linear_probe(x_tr, y_tr, x_va, y_va, TOY, steps=80, lr=0.1, batch_size=32)
    assert m["acc"] >= 0.95 and m["cer"] <= 0.02 and m["train_acc"] >= 0.95 and m["n"] == 50
    # the same probe on features that hold nothing reads nothing
    noise = torch.randn(200, 16, 6, generator=torch.Generator().manual_seed(2))
    bad = linear_probe(noise, y_tr, noise[:50], y_va, TOY, steps=40, lr=0.1, batch_size=32)
    assert bad["acc"] < 0.2


# -- probe_curve over real checkpoints ------------------------------------------------------


def test_probe_curve_over_a_training_checkpoint_and_an_encoder_file(tmp_path):
    from seqclr.contrastive.model import SeqCLRModel
    from seqclr.train.checkpoint import save_checkpoint, save_encoder
    from seqclr.train.config import PretrainConfig

    cfg = PretrainConfig(encoder="tiny", output_dir=str(tmp_path / "run"))
    torch.manual_seed(0)
    early, late = SeqCLRModel("tiny"), SeqCLRModel("tiny")
    save_checkpoint({"step": 5, "model": early.state_dict(), "config": cfg.to_dict()}, tmp_path / "run")
    save_encoder(tmp_path / "run" / "encoder.pt", late.encoder, cfg)

    loaded = load_frozen_encoder(tmp_path / "run" / "last.pt")
    assert loaded.pretrain_step == 5 and not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    for k, v in early.encoder.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)
    assert load_frozen_encoder(tmp_path / "run").pretrain_step == 5  # a run folder: its last.pt

    train, val = _items(["ab", "cd", "ef", "gh", "ij", "kl"], 0), _items(["ab", "cd", "xy"], 1)
    rows = probe_curve([(10, tmp_path / "run" / "encoder.pt"), (5, tmp_path / "run" / "last.pt")],
                       train, val, charset=EN, steps=3, batch_size=4)
    assert [r["step"] for r in rows] == [5, 10]
    assert rows[0]["checkpoint"].endswith("last.pt") and rows[1]["checkpoint"].endswith("encoder.pt")
    for r in rows:
        assert 0.0 <= r["acc"] <= 1.0 and math.isfinite(r["cer"]) and r["n"] == 3


# -- the command line ------------------------------------------------------------------------


def test_command_line_prints_and_writes_both_encoders(tmp_path, capsys):
    from seqclr.models.encoder import SequenceEncoder, get_encoder_config
    from seqclr.train.checkpoint import save_encoder

    torch.manual_seed(1)
    path = save_encoder(tmp_path / "encoder.pt", SequenceEncoder(get_encoder_config("tiny")))
    rc = main(["--encoder", str(path), "--benchmark", "hw-v2", "--size", "4", "--probe-train-size", "4",
               "--probe-steps", "2", "--n-windows", "3"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "frame_nn_same_character" in text and "random (same)" in text and "probe_acc" in text
    report = json.loads((tmp_path / "diagnostics_val.json").read_text())
    assert set(report["figures"]) == {"pretrained", "random (same)"}
    assert report["n_windows"] == 3 and report["size"] == 4 and report["random_seed"] == 0
    fig = report["figures"]["pretrained"]["window_nn_same_position"]
    assert fig["chance"] == pytest.approx(1 / 3)


def test_random_encoder_with_the_pretraining_seed_is_the_runs_initial_encoder():
    """Pretraining seeds torch, then builds the SeqCLR model (encoder first)."""
    from seqclr.contrastive.model import SeqCLRModel
    from seqclr.evaluate.diagnostics import _random_encoder

    torch.manual_seed(3)
    initial = SeqCLRModel("tiny").encoder
    rand = _random_encoder("tiny", None, 3)
    for k, v in initial.state_dict().items():
        torch.testing.assert_close(rand.state_dict()[k], v)
