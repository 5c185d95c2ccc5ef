"""The evaluation protocols end to end on a few rendered words (real renderer, real checkpoint
file): the frozen encoder stays bit-identical, fine-tuning and the supervised baseline share the
labeled subset, results are written."""

from __future__ import annotations

import json

import pytest
import torch

from seqclr.data.subsets import labeled_subset
from seqclr.evaluate import (
    DecoderEvalConfig,
    FinetuneConfig,
    build_model,
    read_results,
    run_decoder_eval,
    run_finetune,
    run_supervised_baseline,
)
from seqclr.evaluate.data import build_split
from seqclr.models.encoder import SequenceEncoder, get_encoder_config
from seqclr.train.checkpoint import load_encoder, save_encoder

SMALL = dict(
    data="synthetic-print",
    train_source={"max_len": 6},
    val_source={"max_len": 6},
    test_source={"max_len": 6},
    train_size=16,
    val_size=4,
    test_size=4,
    width=48,
    batch_size=4,
    iterations=3,
    log_every=1,
    eval_batch_size=8,
    device="cpu",
)


@pytest.fixture(scope="module")
def datasets():
    cfg = DecoderEvalConfig(**SMALL)
    return {split: build_split(cfg, split) for split in ("train", "val", "test")}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, datasets):
    """A 'pretrained' tiny encoder: random weights, and batch-norm statistics moved away from
    their initial values by a few forward passes in train mode (so a BN update would show)."""
    torch.manual_seed(123)
    enc = SequenceEncoder(get_encoder_config("tiny")).train()
    with torch.no_grad():
        for _ in range(2):
            enc(torch.rand(4, 1, 32, 48))
    path = tmp_path_factory.mktemp("ckpt") / "encoder.pt"
    save_encoder(path, enc.eval(), {"method": "seqclr-window"})
    return path


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_decoder_eval_freezes_encoder_bit_identical(tmp_path, datasets, checkpoint):
    cfg = DecoderEvalConfig(**SMALL, checkpoint=str(checkpoint), val_every=2, output_dir=str(tmp_path / "dec"))
    before = _state(load_encoder(checkpoint))
    counters = [k for k in before if k.endswith("num_batches_tracked")]
    assert counters and all(int(before[k]) == 2 for k in counters)
    initial_decoder = _state(build_model(cfg, freeze_encoder=True).decoder)
    result = run_decoder_eval(cfg, datasets=datasets, log=None)
    after = result.model.encoder.state_dict()
    assert set(after) == set(before)
    for name, value in before.items():  # parameters AND buffers (BN running stats, counters)
        assert torch.equal(after[name], value), f"encoder {name} changed during decoder evaluation"
    assert not any(p.requires_grad for p in result.model.encoder.parameters())
    decoder_after = result.model.decoder.state_dict()
    assert any(not torch.equal(decoder_after[k], v) for k, v in initial_decoder.items()), "decoder did not train"

    summary, preds = read_results(tmp_path / "dec")
    assert summary["protocol"] == "decoder_eval" and summary["encoder_frozen"] is True
    assert summary["checkpoint"] == str(checkpoint)
    assert summary["label_fraction"] == 1.0 and summary["subset_size"] == len(datasets["train"])
    assert summary["pretrain_config"] == {"method": "seqclr-window"}
    assert summary["config"]["decoder"] == "ctc" and summary["config"]["checkpoint"] == str(checkpoint)
    assert set(summary["metrics"]) == {"acc", "ed1", "cer", "wer", "n"}
    assert summary["metrics"]["n"] == len(datasets["test"]) == len(preds)
    assert [p["index"] for p in preds] == list(range(len(datasets["test"])))
    assert [p["label"] for p in preds] == [datasets["test"][i]["label"] for i in range(len(preds))]
    assert all(isinstance(p["prediction"], str) for p in preds)
    assert summary["best_step"] in (2, 3) and len(summary["history"]["val"]) == 2
    # 3 iterations: milestones round(0.6 * 3) = round(0.8 * 3) = 2, so iteration 3 uses 1 * 0.1 * 0.1
    assert summary["history"]["lr"] == pytest.approx([1.0, 1.0, 0.01])


def test_finetune_and_supervised_share_the_subset(tmp_path, datasets, checkpoint):
    common = dict(SMALL, decoder="attention", attention_hidden=16, max_len=6, label_fraction=0.25, subset_seed=7)
    ft_cfg = FinetuneConfig(**common, checkpoint=str(checkpoint), method="seqclr-window",
                            output_dir=str(tmp_path / "ft"))
    sup_cfg = FinetuneConfig(**common, checkpoint=str(checkpoint), output_dir=str(tmp_path / "sup"))
    ft = run_finetune(ft_cfg, datasets=datasets, log=None)
    sup = run_supervised_baseline(sup_cfg, datasets=datasets, log=None)
    expected = labeled_subset(len(datasets["train"]), 0.25, 7)
    assert ft.subset.tolist() == sup.subset.tolist() == expected.tolist()
    assert len(expected) == 4

    ft_sum = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    sup_sum = json.loads((tmp_path / "sup" / "metrics.json").read_text())
    assert ft_sum["subset_sha256"] == sup_sum["subset_sha256"]
    assert ft_sum["subset_size"] == sup_sum["subset_size"] == 4
    assert ft_sum["checkpoint"] == str(checkpoint) and sup_sum["checkpoint"] == "random"
    assert sup_sum["method"] == "supervised" and ft_sum["method"] == "seqclr-window"
    assert ft_sum["encoder_frozen"] is False and sup_sum["protocol"] == "supervised"
    # fine-tuning trains the encoder too (starting from the checkpoint), the baseline does not load it
    pre = load_encoder(checkpoint).state_dict()
    assert any(not torch.equal(ft.model.encoder.state_dict()[k], v) for k, v in pre.items() if v.is_floating_point())
    assert all(p.requires_grad for p in ft.model.encoder.parameters())
    sup_state = sup.model.encoder.state_dict()
    assert not any(torch.equal(sup_state[k], v) for k, v in pre.items() if k.endswith(".weight") and v.dim() > 1)
    # another subset seed picks other images
    assert labeled_subset(len(datasets["train"]), 0.25, 8).tolist() != expected.tolist()


def test_protocol_input_errors(tmp_path, datasets):
    with pytest.raises(ValueError, match="unknown split"):
        run_decoder_eval(DecoderEvalConfig(**SMALL, output_dir=str(tmp_path)), datasets={"training": []}, log=None)
    cfg = DecoderEvalConfig(**SMALL, checkpoint=str(tmp_path / "missing.pt"), output_dir=str(tmp_path))
    with pytest.raises(Exception, match="missing.pt"):
        run_decoder_eval(cfg, datasets=datasets, log=None)
    real = DecoderEvalConfig(**{**SMALL, "data": "lmdb", "train_source": {}}, output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="train_source"):
        build_split(real, "train")


def test_a_recognizer_trains_with_a_spec_file_and_records_it(tmp_path, datasets, monkeypatch):
    """``augmentation: <spec file>``: every training batch is augmented with the file's spec, and
    metrics.json records the path (config) and the spec's content and digest."""
    from seqclr.augment.pipeline import BatchAugment
    from seqclr.augment.spec import light_spec, save_spec, spec_digest

    spec = light_spec().replace("flip", enabled=True)
    path = str(save_spec(spec, tmp_path / "decoder_aug.yaml"))
    used = []
    sample = BatchAugment.sample_params

    def spy(self, n, generator=None):
        used.append(self.spec)
        return sample(self, n, generator)

    monkeypatch.setattr(BatchAugment, "sample_params", spy)
    cfg = FinetuneConfig(**SMALL, checkpoint="random", augmentation=path, output_dir=str(tmp_path / "ft"))
    run_finetune(cfg, datasets=datasets, log=None)
    assert len(used) == SMALL["iterations"] and all(s == spec for s in used)
    summary, _ = read_results(tmp_path / "ft")
    assert summary["config"]["augmentation"] == path
    assert summary["augmentation_spec"] == spec.to_dict() and summary["augmentation_sha256"] == spec_digest(spec)


def test_ctc_words_too_long_are_excluded_and_skipped_images_reported(tmp_path, datasets):
    """Width 48 gives 13 CTC frames: a 14-letter training word cannot be read, so it is taken out
    of the labeled subset before training (never reaching the loss, where it would count 0) and
    counted in metrics.json; a test word of that kind is kept, scored and counted. A corrupt test
    image (on_error: skip) is dropped, not replaced, and named in metrics.json."""
    import warnings

    import numpy as np
    from PIL import Image

    from seqclr.data.dataset import WordDataset
    from seqclr.data.readers import TsvWords
    from seqclr.evaluate.study_jobs import MemoryWords

    long_word = "abcdefghijklmn"  # 14 frames needed
    train = [datasets["train"][i] for i in range(len(datasets["train"]))]
    train[5] = {**train[5], "label": long_word}
    words = ["cat", "aabbccddee", "dog", "sun"]  # aabbccddee: 10 letters + 5 repeats = 15 frames
    for k in range(len(words)):
        Image.fromarray(np.full((32, 48), 60 * k, np.uint8)).save(tmp_path / f"t{k}.png")
    (tmp_path / "t2.png").write_bytes(b"not an image")
    (tmp_path / "test.tsv").write_text("".join(f"t{k}.png\t{w}\n" for k, w in enumerate(words)))
    test = WordDataset(TsvWords(tmp_path / "test.tsv", on_error="skip"), width=48)
    data = {"train": MemoryWords.from_items(train), "test": test}
    small = SMALL | {"iterations": 4, "label_fraction": 1.0}  # were it not excluded, 4 batches of 4 draw every word
    cfg = FinetuneConfig(**small, checkpoint="random", output_dir=str(tmp_path / "sup"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_supervised_baseline(cfg, datasets=data, log=None)
    messages = [str(w.message) for w in caught]
    assert [m for m in messages if "excluded from training" in m] == [
        f"1 of 16 labeled training words need more CTC frames than the 13 of width 48 (e.g. {long_word!r} "
        "needs 14); excluded from training"
    ]
    assert not [m for m in messages if "cannot fit their frames" in m]  # nothing reached the loss's safety net
    summary, preds = read_results(tmp_path / "sup")
    assert summary["excluded_too_long"] == {
        "count": 1, "frames": 13, "examples": [{"label": long_word, "frames_needed": 14}]
    }  # fmt: skip
    assert summary["subset_size"] == 16 and result.subset.tolist() == list(range(16))  # the labeled subset itself
    assert summary["too_long"]["test"]["count"] == 1 and summary["too_long"]["test"]["examples"][0]["frames_needed"] == 15
    assert [p["label"] for p in preds] == ["cat", "aabbccddee", "sun"] and summary["metrics"]["n"] == 3
    assert summary["skipped"]["train"] == [] and len(summary["skipped"]["test"]) == 1
    bad = summary["skipped"]["test"][0]
    assert bad["where"] == str(tmp_path / "t2.png") and "cannot decode image" in bad["reason"]
