"""``on_error: skip`` drops an unreadable image, never puts another one in its place (a duplicate in
a batch is a false negative for the contrastive loss), and the skip list names the file and why:
in lazily read batches (also from a DataLoader worker), in pretraining's cache, in a pack and in
the study's in-memory splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from seqclr.data.dataset import WordDataset, collate_words
from seqclr.data.packed import pack_dataset
from seqclr.data.readers import TsvWords
from seqclr.data.skips import Skipped, skipped_report
from seqclr.evaluate.study_jobs import MemoryWords
from seqclr.train.config import PretrainConfig
from seqclr.train.data import BatchSource, build_batches
from seqclr.train.sampler import DeterministicBatchSampler

pytestmark = pytest.mark.filterwarnings("ignore:TsvWords.*skipping:UserWarning")
LABELS = ["w0", "w1", "w2", "w3", "w4", "w5"]
BAD = 2  # w2.png is truncated


@pytest.fixture
def tsv(tmp_path):
    for k in range(len(LABELS)):
        img = np.full((16, 40), 255, np.uint8)
        img[2:14, 2 + 5 * k : 7 + 5 * k] = 10 * k  # a different image each
        Image.fromarray(img).save(tmp_path / f"w{k}.png")
    data = (tmp_path / f"w{BAD}.png").read_bytes()
    (tmp_path / f"w{BAD}.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "gt.tsv").write_text("".join(f"w{k}.png\t{w}\n" for k, w in enumerate(LABELS)))
    return tmp_path / "gt.tsv"


def _distinct(images: torch.Tensor) -> bool:
    return len({bytes(x.numpy().tobytes()) for x in images}) == len(images)


def _check_report(report: list[dict], tsv) -> None:
    assert [r["where"] for r in report] == [str(tsv.parent / f"w{BAD}.png")]
    assert "cannot decode image" in report[0]["reason"]


def test_lazy_batches_drop_the_bad_image_and_name_it(tsv):
    ds = WordDataset(TsvWords(tsv, on_error="skip"))
    item = ds[BAD]
    assert isinstance(item, Skipped) and item.where.endswith(f"w{BAD}.png")
    with pytest.raises(ValueError, match="was skipped"):
        item["image"]  # a consumer that forgets to drop it is told, not handed another image
    batches = list(torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate_words))
    assert [b["label"] for b in batches] == [["w0", "w1"], ["w3", "w4", "w5"]]  # the batch shrinks by one
    assert [s.where for s in batches[0]["skipped"]] == [str(tsv.parent / f"w{BAD}.png")]
    assert _distinct(torch.cat([b["image"] for b in batches]))
    _check_report(skipped_report(ds), tsv)
    # read in a DataLoader worker (a copy of the reader): pretraining's BatchSource hands it back
    ds = WordDataset(TsvWords(tsv, on_error="skip"))
    source = BatchSource(ds, DeterministicBatchSampler(len(ds), 3, seed=1), None, num_workers=1, pin=False)
    images = list(source.epoch_batches(0))
    assert sorted(len(x) for x in images) == [2, 3] and _distinct(torch.cat(images))
    assert ds.source.skipped == 0  # the main process never read it ...
    _check_report(skipped_report(source), tsv)  # ... and the report names it all the same


def test_cache_pack_and_memory_words_leave_it_out(tsv, tmp_path):
    cfg = PretrainConfig(data="tsv", train_source={"path": str(tsv), "on_error": "skip"}, train_size=None,
                         batch_size=2, device="cpu", progress=False)  # fmt: skip
    batches = build_batches(cfg)  # cache_data: rendered once, the bad image left out
    assert len(batches.cache) == 5 and batches.sampler.n == 5 and _distinct(batches.cache)
    served = torch.cat(list(batches.epoch_batches(0)))
    assert len(served) == 4 and _distinct(served)  # 2 batches of 2: no image twice
    _check_report(skipped_report(batches), tsv)  # what pretraining's metrics.json records

    packed = pack_dataset(TsvWords(tsv, on_error="skip"), tmp_path / "p")
    assert packed.labels == ["w0", "w1", "w3", "w4", "w5"] and packed.images.shape == (5, 32, 100)
    assert torch.equal(torch.from_numpy(np.array(packed.images)), batches.cache[:, 0])
    packed.verify()
    _check_report(packed.manifest["skipped"], tsv)
    _check_report(skipped_report(packed), tsv)

    memory = MemoryWords(WordDataset(TsvWords(tsv, on_error="skip")))
    assert memory.labels == ["w0", "w1", "w3", "w4", "w5"] and [it["index"] for it in memory.items] == list(range(5))
    _check_report(skipped_report(memory), tsv)
