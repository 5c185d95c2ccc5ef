"""Base encoder: frame counts from the conv arithmetic, variable widths, presets."""

import pytest
import torch

from seqclr.models import (
    ENCODER_PRESETS,
    EncoderConfig,
    SequenceEncoder,
    count_parameters,
    frames_for_width,
)
from seqclr.models.feature_extraction import (
    FEATURE_EXTRACTORS,
    VGGFeatureExtractor,
    build_feature_extractor,
    map_to_sequence,
)
from seqclr.models.transformation import TPSSpatialTransformer

TINY = ENCODER_PRESETS["tiny"]


@pytest.mark.parametrize("kind", ["resnet", "vgg", "vgg-bn"])
def test_frames_for_width_matches_cnn_output(kind):
    torch.manual_seed(0)
    cnn = build_feature_extractor(kind, 1, width=1 / 16).eval()
    for w in (8, 9, 10, 11, 17, 33, 50, 63, 100, 101, 128, 203):
        with torch.no_grad():
            fmap = cnn(torch.rand(1, 1, 32, w))
        assert fmap.size(3) == frames_for_width(w, kind), (kind, w)
        assert map_to_sequence(fmap).shape == (1, fmap.size(3), cnn.out_channels)


def test_vgg_batch_norm_after_every_conv_or_crnn_layout():
    """"vgg" keeps CRNN's layout (batch norm on conv5 and conv6 only, so old checkpoints' keys still
    load); "vgg-bn" follows every conv with batch norm, with the same convs and frames."""
    crnn, bn = build_feature_extractor("vgg", 1, 1 / 8), build_feature_extractor("vgg-bn", 1, 1 / 8)
    assert isinstance(bn, VGGFeatureExtractor) and set(FEATURE_EXTRACTORS) == {"resnet", "vgg", "vgg-bn"}
    for net, n_bn in ((crnn, 2), (bn, 7)):
        layers = list(net.net)
        convs = [i for i, m in enumerate(layers) if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == 7
        assert sum(isinstance(layers[i + 1], torch.nn.BatchNorm2d) for i in convs) == n_bn
    assert [k for k in crnn.state_dict() if k.endswith("weight")][:3] == ["net.0.weight", "net.3.weight", "net.6.weight"]
    conv_shapes = lambda net: [m.weight.shape for m in net.net if isinstance(m, torch.nn.Conv2d)]  # noqa: E731
    assert conv_shapes(crnn) == conv_shapes(bn)
    with pytest.raises(ValueError, match="batch_norm"):
        VGGFeatureExtractor(1, 1 / 8, batch_norm="some")
    with pytest.raises(ValueError, match="vgg-bn"):
        EncoderConfig(feature_extractor="vgg_bn")


def test_cpu_vgg_bn_preset_standardises_its_input():
    cfg = ENCODER_PRESETS["cpu-vgg-bn"]
    assert cfg.feature_extractor == "vgg-bn" and cfg.input_norm is True
    assert frames_for_width(100, cfg.feature_extractor) == 24
    enc = SequenceEncoder(cfg).eval()
    x = torch.rand(2, 1, 32, 100)
    with torch.no_grad():  # blind to ink tone and paper: an affine change of the pixels changes nothing
        assert torch.allclose(enc(x).H, enc(0.5 * x + 0.3).H, atol=1e-4)


def test_paper_sizes_at_32x100():
    assert frames_for_width(100) == 26
    assert frames_for_width(100, "vgg") == 24
    tensor_t = frames_for_width(torch.tensor([100, 40]))
    assert tensor_t.tolist() == [26, 11]


def test_encoder_shapes_and_representations():
    torch.manual_seed(0)
    enc = SequenceEncoder(TINY)
    out = enc(torch.rand(3, 1, 32, 100))
    assert out.V.shape == (3, 26, 32) and out.H.shape == (3, 26, 64)
    assert out.lengths.dtype == torch.int64 and out.lengths.tolist() == [26, 26, 26]
    hv = out.representation("HV")
    assert hv.shape == (3, 26, 96)
    assert torch.equal(hv[..., :64], out.H) and torch.equal(hv[..., 64:], out.V)
    assert enc.representation_dim("HV") == 96
    with pytest.raises(ValueError, match="representation"):
        out.representation("Z")


def test_variable_widths_real_frames_independent_of_padding():
    """H on the T_i real frames equals the BiLSTM stack run on image i's real frames alone, and
    changing the padded pixels changes nothing in the sequence stage."""
    torch.manual_seed(0)
    enc = SequenceEncoder(TINY).eval()
    widths = torch.tensor([100, 37, 64, 12])
    x = torch.rand(4, 1, 32, 100)
    with torch.no_grad():
        out = enc(x, widths)
        expected = [frames_for_width(int(w)) for w in widths]
        assert out.lengths.tolist() == expected
        for i, t in enumerate(expected):
            assert out.V[i, t:].abs().sum() == 0 and out.H[i, t:].abs().sum() == 0
            alone = enc.sequence_modeling(out.V[i : i + 1, :t])
            torch.testing.assert_close(out.H[i, :t], alone[0], atol=1e-5, rtol=1e-5)
            # the image run alone at its real width yields exactly T_i frames
            assert enc(x[i : i + 1, :, :, : int(widths[i])]).V.size(1) == t
        # garbage in padded frames of V must not reach the real frames of H (backward direction)
        v = out.V.clone()
        for i, t in enumerate(expected):
            v[i, t:] = torch.randn_like(v[i, t:]) * 10
        torch.testing.assert_close(enc.sequence_modeling(v, out.lengths), out.H, atol=1e-5, rtol=1e-5)


def test_widths_validation():
    enc = SequenceEncoder(TINY)
    x = torch.rand(2, 1, 32, 50)
    with pytest.raises(ValueError, match="widths"):
        enc(x, torch.tensor([50, 60]))
    with pytest.raises(ValueError, match="widths"):
        enc(x, torch.tensor([50]))
    with pytest.raises(ValueError, match="expected images"):
        enc(torch.rand(2, 3, 32, 50))
    with pytest.raises(ValueError, match="transformation"):
        EncoderConfig(transformation="stn")
    with pytest.raises(ValueError, match="width"):
        SequenceEncoder(EncoderConfig(width=0.01))


def test_paper_preset_parameter_counts():
    """The 29-layer ResNet of deep-text-recognition-benchmark has ~44.3M parameters, TPS ~1.7M."""
    paper = SequenceEncoder(ENCODER_PRESETS["paper"])
    fe = count_parameters(paper.feature_extraction)
    assert 44.0e6 < fe < 44.6e6, fe
    n_convs = sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1) for m in paper.feature_extraction.modules())
    assert n_convs == 29
    tps = SequenceEncoder(ENCODER_PRESETS["paper-tps"])
    assert 1.5e6 < count_parameters(tps.transformation) < 1.9e6
    assert count_parameters(SequenceEncoder(TINY)) < count_parameters(SequenceEncoder(ENCODER_PRESETS["small"])) < fe


def test_tps_starts_as_identity_and_keeps_size():
    torch.manual_seed(0)
    tps = TPSSpatialTransformer(20, 1, width=1 / 8).eval()
    x = torch.rand(2, 1, 32, 100)
    with torch.no_grad():
        y = tps(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, atol=1e-4, rtol=0)
    enc = SequenceEncoder(EncoderConfig(transformation="tps", width=1 / 16, hidden=16))
    assert enc(x).V.shape == (2, 26, 32)
