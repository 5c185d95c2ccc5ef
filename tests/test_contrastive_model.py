"""SeqCLRModel presets (table 1), SimCLR baselines, alignment of Z^a and Z^b."""

import pytest
import torch

from seqclr.contrastive import METHOD_PRESETS, SeqCLRModel, SimCLRHead, seqclr_nce_loss
from seqclr.models import SequenceEncoder, frames_for_width

ENC = "tiny"


@pytest.mark.parametrize(
    "method,per_image",
    [("seqclr-all", 1), ("seqclr-window", 5), ("seqclr-frame", 26), ("simclr", 1), ("simclr-contextual", 1)],
)
def test_method_presets_shapes_and_backward(method, per_image):
    torch.manual_seed(0)
    model = SeqCLRModel.from_preset(method, ENC, proj_dim=16)
    xa, xb = torch.rand(3, 1, 32, 100), torch.rand(3, 1, 32, 100)
    za, zb = model(xa, xb)
    assert za.shape == zb.shape == (3 * per_image, 16)
    seqclr_nce_loss(za, zb).backward()
    assert all(p.grad is not None for p in model.encoder.feature_extraction.parameters())


def test_simclr_flattens_the_visual_map():
    model = SeqCLRModel.from_preset("simclr", ENC, proj_dim=8, proj_hidden=12)
    assert isinstance(model.head, SimCLRHead)
    assert model.head.in_dim == 26 * model.encoder.representation_dim("V")
    contextual = SeqCLRModel.from_preset("simclr-contextual", ENC)
    assert contextual.head.in_dim == 26 * contextual.encoder.representation_dim("H")
    with pytest.raises(ValueError, match="fixed"):
        model(torch.rand(2, 1, 32, 100), torch.rand(2, 1, 32, 100), widths=torch.tensor([100, 60]))
    with pytest.raises(ValueError, match="simclr"):
        SeqCLRModel(ENC, head="bilstm", mapping="simclr")


def test_views_are_aligned_with_variable_widths():
    """Identical views (eval mode) give identical instance sets, row by row, with sum T_i rows."""
    torch.manual_seed(0)
    model = SeqCLRModel.from_preset("seqclr-frame", ENC).eval()
    widths = torch.tensor([100, 41, 70])
    x = torch.rand(3, 1, 32, 100)
    with torch.no_grad():
        za, zb = model(x, x.clone(), widths)
        inst = model.embed(x, widths)
    assert za.size(0) == sum(frames_for_width(int(w)) for w in widths)
    torch.testing.assert_close(za, zb)
    torch.testing.assert_close(inst.z, za)
    assert inst.image_index.tolist() == sorted(inst.image_index.tolist())


def test_encoder_round_trip_for_downstream(tmp_path):
    model = SeqCLRModel.from_preset("seqclr-window", ENC).eval()
    torch.save(model.encoder.state_dict(), tmp_path / "enc.pt")
    fresh = SequenceEncoder(model.encoder.cfg).eval()
    fresh.load_state_dict(torch.load(tmp_path / "enc.pt"))
    x = torch.rand(2, 1, 32, 100)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x).H, model.encoder(x).H)


def test_unknown_names():
    with pytest.raises(ValueError, match="method"):
        SeqCLRModel.from_preset("moco", ENC)
    with pytest.raises(ValueError, match="mapping"):
        SeqCLRModel(ENC, mapping="word")
    assert set(METHOD_PRESETS) == {"seqclr-all", "seqclr-window", "seqclr-frame", "simclr", "simclr-contextual"}
