"""The pretraining remedies of the diagnosis (beyond the paper, off by default): a horizontal
shift of each view and per-image standardisation inside the encoder."""

from __future__ import annotations

import pytest
import torch

from seqclr.augment.view_shift import shift_columns, shift_views
from seqclr.models.encoder import SequenceEncoder, get_encoder_config, standardize_images
from seqclr.train.checkpoint import load_encoder, save_encoder
from seqclr.train.config import PretrainConfig
from seqclr.train.loop import build_seqclr_model


def test_shift_columns_moves_content_and_repeats_the_edge():
    x = torch.arange(6.0).view(1, 1, 1, 6).repeat(2, 1, 2, 1)
    out = shift_columns(x, torch.tensor([2, -1]))
    assert out[0, 0, 0].tolist() == [0, 0, 0, 1, 2, 3]
    assert out[1, 0, 1].tolist() == [1, 2, 3, 4, 5, 5]


def test_shift_views_show_the_same_content_at_different_frames():
    x = torch.rand(16, 1, 4, 104)  # 26 frames of 4 pixels
    g = torch.Generator().manual_seed(0)
    a, b, spans = shift_views(x, x.clone(), 5, 26, g)
    k = spans.start_b
    assert 0 < int((k > 0).sum()) < 16 and torch.equal(spans.start_a, torch.zeros_like(k))
    assert torch.equal(spans.length, 26 - k)
    for i in range(16):
        s = 4 * int(k[i])
        assert torch.equal(a[i, ..., : 104 - s], x[i, ..., : 104 - s])  # content at the left of view a
        assert torch.equal(b[i, ..., s:], x[i, ..., : 104 - s])  # the same content, s pixels right, in view b
        assert (a[i, ..., 104 - s :] == x[i, ..., 103 - s : 104 - s]).all()  # gap: the edge column repeated


def test_window_instances_follow_the_content_frames():
    from seqclr.contrastive.instance_mapping import WindowToInstance

    p = torch.arange(10.0).view(1, 10, 1).repeat(2, 1, 1)
    inst = WindowToInstance(2)(p, torch.tensor([6, 6]), torch.tensor([0, 4]))
    assert inst.z.view(2, 2).tolist() == [[1.0, 4.0], [5.0, 8.0]]  # frames 0-2 / 3-5 and 4-6 / 7-9
    with pytest.raises(ValueError, match="exceed"):
        WindowToInstance(2)(p, torch.tensor([6, 6]), torch.tensor([0, 5]))


def test_a_positional_encoder_cannot_win_the_shifted_pair():
    """With the views content-shifted apart, equal content gives equal windows in both views (a
    content encoder matches its positives) while position-only features no longer pair them."""
    from seqclr.contrastive.instance_mapping import WindowToInstance

    n, t = 8, 26
    content = torch.randn(n, t + 10, 4)
    k = torch.randint(1, 5, (n,))
    view_a = torch.stack([content[i, :t] for i in range(n)])
    view_b = torch.stack([torch.cat([content[i, :1].repeat(int(k[i]), 1), content[i, : t - int(k[i])]]) for i in range(n)])
    m, lengths = WindowToInstance(5), t - k
    za, zb = m(view_a, lengths, torch.zeros_like(k)).z, m(view_b, lengths, k).z
    assert torch.allclose(za, zb, atol=1e-6)  # same content -> same windows
    pos = torch.arange(t, dtype=torch.float32).view(1, t, 1).repeat(n, 1, 4)
    pa, pb = m(pos, lengths, torch.zeros_like(k)).z, m(pos, lengths, k).z
    assert not torch.allclose(pa, pb)  # position-only features: the positive no longer matches


def test_config_checks_the_shift_and_pretraining_runs_with_it(tmp_path):
    with pytest.raises(ValueError, match="view_shift"):
        PretrainConfig(iterations=1, view_shift=13)
    with pytest.raises(ValueError, match="window-to-instance"):
        PretrainConfig(iterations=1, method="seqclr-frame", view_shift=3)
    from seqclr.train.loop import pretrain

    cfg = PretrainConfig(iterations=2, train_size=8, batch_size=4, encoder="tiny", view_shift=4, device="cpu",
                         output_dir=str(tmp_path / "run"), progress=False)
    assert pretrain(cfg)["steps"] == 2


def test_input_norm_standardises_each_image_inside_the_encoder_and_travels_with_it(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(3, 1, 32, 100) * torch.tensor([0.2, 1.0, 0.5]).view(3, 1, 1, 1)
    z = standardize_images(x)
    assert torch.allclose(z.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(z.std(dim=(1, 2, 3)), torch.ones(3), atol=0.05)
    assert torch.allclose(standardize_images(0.5 * x + 0.3), z, atol=0.05)  # blind to ink tone and paper
    plain = SequenceEncoder(get_encoder_config("tiny")).eval()
    normed = SequenceEncoder(get_encoder_config("tiny", input_norm=True)).eval()
    normed.load_state_dict(plain.state_dict())
    assert torch.allclose(normed(x).V, plain(z).V, atol=1e-5) and not torch.allclose(plain(x).V, plain(z).V, atol=1e-3)
    model = build_seqclr_model(PretrainConfig(iterations=1, encoder="tiny", input_norm=True))
    save_encoder(tmp_path / "enc.pt", model.encoder)
    assert load_encoder(tmp_path / "enc.pt").cfg.input_norm is True
    # None (the default) keeps the preset's own setting; an explicit value overrides it
    assert build_seqclr_model(PretrainConfig(iterations=1, encoder="cpu-vgg-bn")).encoder.cfg.input_norm is True
    assert build_seqclr_model(PretrainConfig(iterations=1, encoder="cpu-vgg-bn", input_norm=False)).encoder.cfg.input_norm is False
    assert build_seqclr_model(PretrainConfig(iterations=1, encoder="tiny")).encoder.cfg.input_norm is False
