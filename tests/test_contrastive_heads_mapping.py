"""Projection heads respect lengths; instance mappings vs hand computations."""

import pytest
import torch
import torch.nn.functional as F

from seqclr.contrastive import (
    adaptive_pool_weights,
    all_to_instance,
    build_projection_head,
    frame_to_instance,
    get_instance_mapping,
    window_to_instance,
)

LENGTHS = torch.tensor([9, 4, 1, 6])


def _padded(n=4, t=9, f=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, t, f, generator=g)


@pytest.mark.parametrize("kind", ["mlp", "bilstm"])
def test_heads_respect_lengths(kind):
    torch.manual_seed(0)
    head = build_projection_head(kind, 6, out_dim=5, hidden=7)
    p = _padded()
    out = head(p, LENGTHS)
    assert out.shape == (4, 9, 5) and head.out_dim == 5
    p2 = p.clone()
    for i, t in enumerate(LENGTHS.tolist()):
        p2[i, t:] = 100.0 * torch.randn_like(p2[i, t:])
        assert out[i, t:].abs().sum() == 0
    # train mode: padded frames affect neither BatchNorm statistics nor the BiLSTM's real frames
    torch.testing.assert_close(head(p2, LENGTHS), out)
    head.eval()
    out_eval = head(p, LENGTHS)
    for i, t in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(out_eval[i, :t], head(p[i : i + 1, :t])[0], atol=1e-6, rtol=1e-5)


def test_mlp_batchnorm_uses_real_frames_only():
    torch.manual_seed(0)
    head = build_projection_head("mlp", 6, out_dim=3, hidden=4)
    p = _padded()
    head(p, LENGTHS)
    real = torch.cat([p[i, :t] for i, t in enumerate(LENGTHS.tolist())])
    h = head.mlp[0](real)
    bn = head.mlp[1]
    expected_mean = 0.1 * h.mean(0)  # momentum 0.1 from a zero running mean
    torch.testing.assert_close(bn.running_mean, expected_mean.detach(), atol=1e-6, rtol=1e-5)


def test_none_head_and_unknown():
    p = _padded()
    assert build_projection_head("none", 6)(p, LENGTHS) is p
    with pytest.raises(ValueError, match="head"):
        build_projection_head("transformer", 6)


def test_all_to_instance_is_masked_mean():
    p = _padded()
    inst = all_to_instance(p, LENGTHS)
    assert inst.z.shape == (4, 6)
    for i, t in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(inst.z[i], p[i, :t].sum(0) / t)
    assert inst.image_index.tolist() == [0, 1, 2, 3] and inst.position.tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("n_out", [1, 3, 5, 7])
def test_window_matches_adaptive_avg_pool1d_per_image(n_out):
    p = _padded(n=6, t=26)
    lengths = torch.tensor([26, 11, 5, 3, 1, 17])
    inst = window_to_instance(p, lengths, n_out)
    assert inst.z.shape == (6 * n_out, 6)
    z = inst.z.view(6, n_out, 6)
    for i, t in enumerate(lengths.tolist()):
        ref = F.adaptive_avg_pool1d(p[i, :t].t().unsqueeze(0), n_out)[0].t()
        torch.testing.assert_close(z[i], ref)
    assert inst.image_index.tolist() == [i for i in range(6) for _ in range(n_out)]
    assert inst.position.tolist() == list(range(n_out)) * 6


def test_window_weights_by_hand():
    # T=5, T'=2: bins [0, 3) and [2, 5) (floor(0)=0, ceil(2.5)=3; floor(2.5)=2, ceil(5)=5)
    w = adaptive_pool_weights(torch.tensor([5]), 6, 2)
    third = 1 / 3
    assert torch.allclose(w[0], torch.tensor([[third, third, third, 0, 0, 0], [0, 0, third, third, third, 0]]))


def test_frame_to_instance_order_and_alignment():
    p = _padded()
    inst = frame_to_instance(p, LENGTHS)
    assert len(inst) == int(LENGTHS.sum())
    k = 0
    for i, t in enumerate(LENGTHS.tolist()):
        for j in range(t):
            assert inst.image_index[k] == i and inst.position[k] == j
            assert torch.equal(inst.z[k], p[i, j])
            k += 1


def test_mapping_registry_and_errors():
    p = _padded()
    assert len(get_instance_mapping("window", n_instances=3)(p, LENGTHS)) == 12
    assert len(get_instance_mapping("all")(p)) == 4
    assert len(get_instance_mapping("frame")(p)) == 36
    with pytest.raises(ValueError, match="mapping"):
        get_instance_mapping("word")
    with pytest.raises(ValueError, match="lengths"):
        all_to_instance(p, torch.tensor([9, 0, 1, 1]))
