"""The pretraining remedies of the diagnosis (beyond the paper, off by default): a horizontal
shift of each view and per-image standardisation inside the encoder."""

from __future__ import annotations

import pytest
import torch

from seqclr.augment.view_shift import ShiftedViews, shift_columns
from seqclr.models.encoder import SequenceEncoder, get_encoder_config, standardize_images
from seqclr.train.checkpoint import load_encoder, save_encoder
from seqclr.train.config import PretrainConfig
from seqclr.train.loop import build_augment, build_model


def test_shift_columns_moves_content_and_repeats_the_edge():
    x = torch.arange(6.0).view(1, 1, 1, 6).repeat(2, 1, 2, 1)
    out = shift_columns(x, torch.tensor([2, -1]))
    assert out[0, 0, 0].tolist() == [0, 0, 0, 1, 2, 3]
    assert out[1, 0, 1].tolist() == [1, 2, 3, 4, 5, 5]


def test_shifted_views_draw_a_shift_per_image():
    class Identity(torch.nn.Module):
        def forward(self, x, generator=None):
            return x

    x = torch.rand(64, 1, 4, 40)
    g = torch.Generator().manual_seed(0)
    out = ShiftedViews(Identity(), 3)(x, generator=g)
    moved = [int(torch.equal(out[i], x[i])) for i in range(64)]
    assert 0 < sum(moved) < 64  # some images unshifted (shift 0), most moved
    assert torch.equal(ShiftedViews(Identity(), 0)(x, generator=g), x)


def test_config_wraps_the_augmenter_and_checks_the_shift():
    assert not isinstance(build_augment(PretrainConfig(iterations=1)), ShiftedViews)
    aug = build_augment(PretrainConfig(iterations=1, view_shift=8))
    assert isinstance(aug, ShiftedViews) and aug.max_shift == 8
    with pytest.raises(ValueError, match="view_shift"):
        PretrainConfig(iterations=1, view_shift=50)


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
    model = build_model(PretrainConfig(iterations=1, encoder="tiny", input_norm=True))
    save_encoder(tmp_path / "enc.pt", model.encoder)
    assert load_encoder(tmp_path / "enc.pt").cfg.input_norm is True
