"""Decoders of the prediction stage (appendix A.2/A.3) and the Recognizer wrapper."""

from __future__ import annotations

import warnings

import pytest
import torch

from seqclr.data.charset import Charset, get_charset
from seqclr.models.encoder import SequenceEncoder, get_encoder_config
from seqclr.models.prediction import (
    AttentionDecoder,
    CTCDecoder,
    Recognizer,
    build_decoder,
    build_recognizer,
    ctc_collapse,
    ctc_collapse_scores,
    ctc_frames_needed,
    ctc_frames_needed_batch,
)

ABC = Charset("abcz", name="abcz")


def _path_logits(path: str, charset: Charset) -> torch.Tensor:
    """(1, T, n+1) logits whose argmax per frame spells ``path`` ('-' = blank)."""
    logits = torch.zeros(1, len(path), len(charset) + 1)
    for t, ch in enumerate(path):
        logits[0, t, 0 if ch == "-" else charset.encode(ch)[0] + 1] = 5.0
    return logits


def test_ctc_collapse_paper_example():
    # Paper eq. 3: c = "aa-a-bbb-cc-ccc-" -> y = "aabcc".
    ids = {"-": 0, "a": 1, "b": 2, "c": 3}
    path = [ids[ch] for ch in "aa-a-bbb-cc-ccc-"]
    inv = {v: k for k, v in ids.items()}
    assert "".join(inv[i] for i in ctc_collapse(path, blank=0)) == "aabcc"


def test_ctc_greedy_decode_paper_example_and_lengths():
    dec = CTCDecoder(8, len(ABC))
    path = "aa-a-bbb-cc-ccc-"
    logits = _path_logits(path + "zzzz", ABC)  # four padded frames that would add a 'z'
    full = torch.tensor([len(path) + 4])
    real = torch.tensor([len(path)])
    assert ABC.decode(dec.greedy_decode(logits, real)[0]) == "aabcc"
    assert ABC.decode(dec.greedy_decode(logits, full)[0]) == "aabccz"


def test_ctc_confidence_is_the_best_frame_of_each_merged_run():
    path = [1, 1, 0, 1, 2, 2, 2, 0, 0]  # "aa-abbb--" -> "aab"
    scores = [0.5, 0.9, 0.99, 0.4, 0.3, 0.8, 0.6, 0.7, 0.2]
    assert ctc_collapse_scores(path, scores) == ([1, 1, 2], [0.9, 0.4, 0.8])
    assert ctc_collapse_scores([0, 0], [0.9, 0.9]) == ([], [])
    dec = CTCDecoder(8, len(ABC))
    logits = _path_logits("aa-a-bbb-zz", ABC)
    logits[0, 1, 1] = 2.0  # the second 'a' frame is less sure than the first
    real = torch.tensor([9])  # cuts the "zz"
    (ids, conf), = dec.greedy_decode_with_confidence(logits, real)
    assert ids == dec.greedy_decode(logits, real)[0] == ABC.encode("aab")
    p5 = torch.softmax(logits[0, 0], 0)[1].item()  # a frame of logit 5 against 4 zeros
    assert conf == pytest.approx([p5, p5, p5])
    assert all(0.0 <= c <= 1.0 for c in conf)


def test_attention_confidence_matches_decode():
    torch.manual_seed(0)
    dec = AttentionDecoder(12, len(ABC), hidden=16, max_len=7).eval()
    feats, lengths = _features(), torch.tensor([10, 6, 3])
    both = dec.decode_with_confidence(feats, lengths)
    assert [ids for ids, _ in both] == dec.decode(feats, lengths)
    probs = torch.softmax(dec(feats, lengths), dim=-1)
    for i, (ids, conf) in enumerate(both):
        assert len(conf) == len(ids)
        expected = [probs[i, k, c + 2].item() for k, c in enumerate(ids)]  # no [GO] emitted at random init
        assert conf == pytest.approx(expected)


def test_ctc_loss_prefers_the_true_label_and_survives_impossible_targets():
    dec = CTCDecoder(8, len(ABC))
    logits = _path_logits("a-bb-c", ABC)
    lengths = torch.tensor([6])
    good = dec.loss(logits, lengths, [ABC.encode("abc")])
    wrong = dec.loss(logits, lengths, [ABC.encode("cba")])
    assert torch.isfinite(good) and good < wrong
    # 7 symbols cannot align to 6 frames: the safety net (zero_infinity) gives 0, not inf, and says
    # so; the protocols exclude such words before training (test_evaluate_protocols).
    with pytest.warns(UserWarning, match=r"1 of 1 targets cannot fit their frames \(e.g. item 0: 7 frames needed, 6"):
        impossible = dec.loss(logits, lengths, [ABC.encode("abcabca")])
    assert torch.isfinite(impossible) and float(impossible) == 0.0
    # "aab" needs 4 frames (a blank between the two a's): fits 6, and 3 frames are too few
    assert ctc_frames_needed("aab") == 4 and ctc_frames_needed(ABC.encode("abcabca")) == 7
    # the batched count equals the per-target one; a repeat across two targets does not count
    targets = [[1, 1, 2], [2, 2, 2], [], [3], [3, 4, 4, 3]]
    flat = torch.tensor([c for t in targets for c in t])
    got = ctc_frames_needed_batch(flat, torch.tensor([len(t) for t in targets]))
    assert got.tolist() == [ctc_frames_needed(t) for t in targets] == [4, 5, 0, 1, 5]
    with pytest.warns(UserWarning, match="cannot fit"):
        dec.loss(logits[:, :3], torch.tensor([3]), [ABC.encode("aab")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dec.loss(logits, lengths, [ABC.encode("aab")])  # feasible: no warning
    with pytest.raises(ValueError, match="outside the charset"):
        dec.loss(logits, lengths, [[7]])


def _features(n=3, t=10, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, t, d, generator=g)


def test_attention_shapes_teacher_forcing_and_greedy():
    torch.manual_seed(0)
    dec = AttentionDecoder(12, len(ABC), hidden=16, max_len=7)
    feats, lengths = _features(), torch.tensor([10, 6, 3])
    targets = [[0, 1], [2], [3, 3, 3, 1]]
    scores = dec(feats, lengths, targets)
    assert scores.shape == (3, 5, len(ABC) + 2)  # longest target (4) + [EOS]
    loss = dec.loss(scores, targets)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in dec.parameters())
    greedy = dec(feats, lengths)
    assert greedy.shape == (3, 8, len(ABC) + 2)  # max_len + [EOS]
    out = dec.decode(feats, lengths)
    assert len(out) == 3 and all(len(o) <= 7 and all(0 <= c < len(ABC) for c in o) for o in out)


def test_attention_ignores_padded_frames():
    torch.manual_seed(0)
    dec = AttentionDecoder(12, len(ABC), hidden=16, max_len=6).eval()
    feats, lengths = _features(), torch.tensor([10, 6, 3])
    junk = feats.clone()
    for i, n in enumerate(lengths.tolist()):
        junk[i, n:] = 100.0 * torch.randn(10 - n, 12)
    targets = [[0, 1], [2], [3, 3, 1]]
    torch.testing.assert_close(dec(feats, lengths, targets), dec(junk, lengths, targets), rtol=0, atol=1e-5)
    torch.testing.assert_close(dec(feats, lengths), dec(junk, lengths), rtol=0, atol=1e-5)
    # ... but the real frames do matter: the mask is not hiding everything.
    assert not torch.allclose(dec(feats, lengths, targets), dec(feats, torch.tensor([10, 10, 10]), targets))
    # A batch padded to a longer T gives the same result as the unpadded one.
    longer = torch.cat([feats, torch.randn(3, 4, 12)], dim=1)
    torch.testing.assert_close(dec(feats, lengths, targets), dec(longer, lengths, targets), rtol=0, atol=1e-5)


def _structured(targets, n_classes, t=12):
    """Features that spell each target: a char's one-hot on two frames, then a separator frame,
    plus a one-hot frame position (what a BiLSTM would provide)."""
    torch.manual_seed(0)
    feats = torch.zeros(len(targets), t, n_classes + 1 + t)
    lengths = torch.zeros(len(targets), dtype=torch.long)
    for i, tgt in enumerate(targets):
        for k, c in enumerate(tgt):
            feats[i, 3 * k : 3 * k + 2, 1 + c] = 1.0
            feats[i, 3 * k + 2, 0] = 1.0
        lengths[i] = 3 * len(tgt)
        feats[i, :, n_classes + 1 :] = torch.eye(t)
    return feats + 0.05 * torch.randn_like(feats), lengths


@pytest.mark.parametrize("kind, max_steps", [("ctc", 600), ("attention", 400)])
def test_decoders_overfit_eight_sequences(kind, max_steps):
    targets = [[0, 1, 2], [3, 3], [4, 0], [1], [2, 4, 1, 0], [3, 1, 4], [0, 0], [2, 3]]
    feats, lengths = _structured(targets, 5)
    torch.manual_seed(1)
    dec = build_decoder(kind, feats.size(2), 5, **({"hidden": 32, "max_len": 6} if kind == "attention" else {}))
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    first = None
    for step in range(1, max_steps + 1):
        loss = dec.compute_loss(feats, lengths, targets)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0 and dec.decode(feats, lengths) == targets:
            break
    assert dec.decode(feats, lengths) == targets, f"{kind} did not learn the 8 sequences in {max_steps} steps"
    assert loss.item() < first / 5


def test_build_decoder_rejects_unknown_kind():
    with pytest.raises(ValueError, match="'rnn'"):
        build_decoder("rnn", 8, 4)
    with pytest.raises(ValueError, match="ctc"):
        build_decoder("ctc", 8, 4, hidden=3)


@pytest.fixture(scope="module")
def tiny_encoder():
    torch.manual_seed(0)
    return SequenceEncoder(get_encoder_config("tiny"))


@pytest.mark.parametrize("representation", ["V", "H", "HV"])
@pytest.mark.parametrize("kind", ["ctc", "attention"])
def test_recognizer_features_loss_and_predict(tiny_encoder, representation, kind):
    cs = get_charset("case_insensitive36")
    kw = {"hidden": 16, "max_len": 5} if kind == "attention" else {}
    rec = build_recognizer(tiny_encoder, kind, cs, representation, **kw)
    assert rec.decoder.in_dim == tiny_encoder.representation_dim(representation)
    assert rec.representation == representation
    images = torch.rand(2, 1, 32, 48)
    feats, lengths = rec.features(images)
    assert feats.shape == (2, 13, tiny_encoder.representation_dim(representation)) and lengths.tolist() == [13, 13]
    loss = rec.loss(images, ["Ab1", "z"])  # case-insensitive charset lowercases
    assert torch.isfinite(loss)
    rec.eval()
    preds = rec.predict(images)
    assert len(preds) == 2 and all(isinstance(p, str) and set(p) <= set(cs.symbols) for p in preds)
    with_conf = rec.predict_with_confidence(images)
    assert [t for t, _ in with_conf] == preds
    assert all(len(c) == len(t) and all(0.0 <= p <= 1.0 for p in c) for t, c in with_conf)


def test_recognizer_variable_widths(tiny_encoder):
    rec = build_recognizer(tiny_encoder, "attention", ABC, "H", hidden=8, max_len=4).eval()
    images = torch.rand(2, 1, 32, 64)
    _, lengths = rec.features(images, torch.tensor([64, 32]))
    assert lengths.tolist() == [17, 9]
    assert len(rec.predict(images, torch.tensor([64, 32]))) == 2


def test_recognizer_checks_dimensions_and_charset(tiny_encoder):
    with pytest.raises(ValueError, match="expects"):
        Recognizer(tiny_encoder, CTCDecoder(7, len(ABC)), "H", ABC)
    with pytest.raises(ValueError, match="classes"):
        Recognizer(tiny_encoder, CTCDecoder(tiny_encoder.representation_dim("H"), 3), "H", ABC)
    with pytest.raises(ValueError, match="representation 'X'"):
        build_recognizer(tiny_encoder, "ctc", ABC, "X")
    with pytest.raises(ValueError, match="representation 'X'"):
        Recognizer(tiny_encoder, CTCDecoder(tiny_encoder.representation_dim("H"), len(ABC)), "X", ABC)
    rec = build_recognizer(tiny_encoder, "ctc", ABC, "H")
    with pytest.raises(ValueError, match="not in charset"):
        rec.loss(torch.rand(1, 1, 32, 48), ["q"])


def test_feature_keyword_is_the_deprecated_name_of_representation(tiny_encoder):
    """``feature=`` (the old keyword) of build_recognizer / Recognizer is read for one release with
    a DeprecationWarning naming ``representation``; both together is a TypeError naming both;
    ``Recognizer.feature`` reads ``representation`` with a DeprecationWarning."""
    head = CTCDecoder(tiny_encoder.representation_dim("V"), len(ABC))
    with pytest.warns(DeprecationWarning, match=r"^build_recognizer: the keyword 'feature' is deprecated, use 'representation'"):
        rec = build_recognizer(tiny_encoder, "ctc", ABC, feature="V")
    assert rec.representation == "V" and rec.decoder.in_dim == head.in_dim
    with pytest.warns(DeprecationWarning, match=r"^Recognizer: the keyword 'feature' is deprecated, use 'representation'"):
        rec = Recognizer(tiny_encoder, head, feature="V", charset=ABC)
    assert rec.representation == "V"
    with pytest.warns(DeprecationWarning, match=r"Recognizer.feature is deprecated, use Recognizer.representation"):
        assert rec.feature == "V"
    for make in (
        lambda: build_recognizer(tiny_encoder, "ctc", ABC, "V", feature="V"),
        lambda: build_recognizer(tiny_encoder, "ctc", ABC, representation="H", feature="V"),
        lambda: Recognizer(tiny_encoder, head, representation="V", feature="V"),
    ):
        with pytest.raises(TypeError, match=r"'feature' and 'representation' are the same argument"):
            make()
    with warnings.catch_warnings():  # the new keyword, positional or named, and the default: no warning
        warnings.simplefilter("error")
        assert build_recognizer(tiny_encoder, "ctc", ABC, representation="HV").representation == "HV"
        assert Recognizer(tiny_encoder, head, "V", ABC).representation == "V"
        assert build_recognizer(tiny_encoder, "ctc", ABC).representation == "H"


def test_freeze_encoder_keeps_eval_mode_and_no_grad():
    torch.manual_seed(0)
    rec = build_recognizer(SequenceEncoder(get_encoder_config("tiny")), "ctc", ABC, "H").freeze_encoder()
    rec.train()
    assert rec.training and rec.decoder.training
    assert not any(m.training for m in rec.encoder.modules())
    assert not any(p.requires_grad for p in rec.encoder.parameters())
    loss = rec.loss(torch.rand(2, 1, 32, 48), ["ab", "c"])
    loss.backward()
    assert all(p.grad is None for p in rec.encoder.parameters())
    assert rec.decoder.fc.weight.grad is not None
