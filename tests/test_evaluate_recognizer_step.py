"""seqclr.evaluate.loop.recognizer_step: the step the recognizers train with (and the preset
benchmark times): one optimizer step, or an error before any weight changes."""

from __future__ import annotations

import pytest
import torch

from seqclr.data.charset import get_charset
from seqclr.evaluate.loop import recognizer_step
from seqclr.models.encoder import ENCODER_PRESETS, SequenceEncoder
from seqclr.models.prediction import build_recognizer


def _model():
    torch.manual_seed(0)
    return build_recognizer(SequenceEncoder(ENCODER_PRESETS["tiny"]), "ctc", get_charset("english95")).train()


def test_a_step_returns_the_loss_and_updates_the_weights():
    model = _model()
    trainable = list(model.parameters())
    before = [p.detach().clone() for p in trainable]
    optimizer = torch.optim.Adam(trainable, lr=1e-3)
    images = torch.rand(4, 1, 32, 100)
    expected = model.loss(images, ["ab", "cd", "Word,", "x"]).item()  # train mode, same input: same loss
    value = recognizer_step(model, optimizer, images, ["ab", "cd", "Word,", "x"], trainable, grad_clip=5.0)
    assert value == pytest.approx(expected, rel=1e-5)
    assert any(not torch.equal(a, p) for a, p in zip(before, trainable))


def test_a_non_finite_loss_stops_before_any_weight_changes():
    model = _model()
    trainable = list(model.parameters())
    before = [p.detach().clone() for p in trainable]
    optimizer = torch.optim.Adam(trainable, lr=1e-3)
    with pytest.raises(FloatingPointError, match=r"training loss is nan at iteration 7"):
        recognizer_step(model, optimizer, torch.full((2, 1, 32, 100), float("nan")), ["ab", "cd"], trainable, 5.0, step=7)
    assert all(torch.equal(a, p) for a, p in zip(before, trainable))
