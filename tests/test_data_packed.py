"""The packed memory-mapped dataset holds exactly what the readers it packs give WordDataset
(same preprocessed images, same labels), serves whole deterministic batches, and names a
truncated or corrupt file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seqclr.cli_pack import main as pack_cli
from seqclr.data.dataset import WordDataset
from seqclr.data.packed import PackedWords, pack_dataset
from seqclr.data.readers import DataError, LmdbWords, TsvWords, write_lmdb
from seqclr.data.synthetic import SyntheticWords
from seqclr.train.data import PackedBatches


def _word(seed: int, h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w), 250, np.uint8)
    for _ in range(6):
        y, x = rng.integers(0, h - 4), rng.integers(0, w - 3)
        img[y : y + 4, x : x + 3] = rng.integers(0, 80)
    return img


def _assert_same(packed: PackedWords, ds: WordDataset) -> None:
    assert len(packed) == len(ds)
    for i in range(len(ds)):
        item = ds[i]
        expected = (item["image"][0] * 255.0).round().to(torch.uint8).numpy()
        assert np.array_equal(packed.images[i], expected), f"image {i} differs"
        assert packed.labels[i] == item["label"]
        assert torch.equal(packed[i]["image"], item["image"])


def test_lmdb_pack_equals_reader(tmp_path):
    # sizes differ from 32x100 so the resize is exercised; "naïve" is dropped by the ascii charset
    words = ["cat", "Dog", "naïve", "x9", "hello", "a-b"]
    write_lmdb(tmp_path / "db", [(_word(i, 20 + 3 * i, 40 + 11 * i), w) for i, w in enumerate(words)])
    with pytest.warns(UserWarning, match="dropped 1 of 6"):
        packed = pack_dataset(LmdbWords(tmp_path / "db"), tmp_path / "packed", charset="english95", chunk=4)
    with pytest.warns(UserWarning, match="dropped 1 of 6"):
        ds = WordDataset(LmdbWords(tmp_path / "db"), "english95")
    assert len(ds) == 5 and "naïve" not in packed.labels
    _assert_same(packed, ds)
    m = packed.manifest
    assert (m["count"], m["height"], m["width"], m["charset"]) == (5, 32, 100, "english95")
    assert m["dropped_labels"]["count"] == 1 and "LmdbWords" in m["source"]
    packed.verify()


def test_tsv_pack_keep_ratio_equals_reader(tmp_path):
    lines = []
    for i, word in enumerate(["alpha", "be", "gamma7"]):
        Image.fromarray(_word(10 + i, 24, 30 + 40 * i)).save(tmp_path / f"w{i}.png")
        lines.append(f"w{i}.png\t{word}")
    (tmp_path / "gt.tsv").write_text("\n".join(lines) + "\n")
    packed = pack_dataset(TsvWords(tmp_path / "gt.tsv"), tmp_path / "p", height=32, width=64, keep_ratio=True, chunk=2)
    assert packed.images.shape == (3, 32, 64) and packed.manifest["keep_ratio"] is True
    _assert_same(packed, WordDataset(TsvWords(tmp_path / "gt.tsv"), "english95", height=32, width=64, keep_ratio=True))


def test_renderer_pack_equals_dataset(tmp_path):
    src = SyntheticWords("train", "handwriting", size=10, seed=3)
    packed = pack_dataset(src, tmp_path / "hw", chunk=4, num_workers=0)
    _assert_same(packed, WordDataset(SyntheticWords("train", "handwriting", size=10, seed=3)))
    assert packed.batch(2, 3).shape == (3, 1, 32, 100)
    assert torch.equal(packed.batch(2, 3)[1, 0], torch.from_numpy(np.array(packed.images[3])))


def test_existing_folder_is_not_overwritten_silently(tmp_path):
    src = SyntheticWords(size=3)
    pack_dataset(src, tmp_path / "p")
    with pytest.raises(FileExistsError, match="already exists"):
        pack_dataset(src, tmp_path / "p")
    assert len(pack_dataset(SyntheticWords(size=4), tmp_path / "p", overwrite=True)) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


@pytest.fixture
def packed_dir(tmp_path):
    frames = [(np.full((32, 100), i, np.uint8), f"w{i}") for i in range(20)]
    write_lmdb(tmp_path / "db", frames)
    pack_dataset(LmdbWords(tmp_path / "db"), tmp_path / "p")
    return tmp_path / "p"


def test_truncated_and_corrupt_files_are_named(packed_dir):
    images = packed_dir / "images.npy"
    data = images.read_bytes()
    images.write_bytes(data[:-100])
    with pytest.raises(DataError, match=r"images\.npy: truncated"):
        PackedWords(packed_dir)
    images.write_bytes(data[:50])
    with pytest.raises(DataError, match=r"images\.npy"):
        PackedWords(packed_dir)
    flipped = bytearray(data)
    flipped[-1] ^= 0xFF
    images.write_bytes(bytes(flipped))
    with pytest.raises(DataError, match="crc32"):
        PackedWords(packed_dir).verify()
    images.write_bytes(data)
    (packed_dir / "labels.json").write_text(json.dumps(["a"]))
    with pytest.raises(DataError, match=r"labels\.json: 1 labels, manifest says 20"):
        PackedWords(packed_dir)
    (packed_dir / "manifest.json").unlink()
    with pytest.raises(DataError, match="manifest.json missing"):
        PackedWords(packed_dir)


@pytest.mark.parametrize("shuffle", ["index", "block", "none"])
def test_batches_cover_an_epoch_deterministically(packed_dir, shuffle):
    packed = PackedWords(packed_dir)  # image i is filled with the value i
    it = PackedBatches(packed, batch_size=8, seed=1, shuffle=shuffle, block_size=4)
    batches = list(it.epoch_batches(0))
    assert len(batches) == 2 and all(b.shape == (8, 1, 32, 100) and b.dtype == torch.uint8 for b in batches)
    ids = torch.cat([b[:, 0, 0, 0] for b in batches]).tolist()
    assert len(set(ids)) == 16 and all(0 <= i < 20 for i in ids)
    again = [b[:, 0, 0, 0].tolist() for b in PackedBatches(packed, 8, seed=1, shuffle=shuffle, block_size=4).epoch_batches(0)]
    assert again == [b[:, 0, 0, 0].tolist() for b in batches]
    if shuffle == "block":
        assert all(sorted(i % 4 for i in ids[k : k + 4]) == [0, 1, 2, 3] for k in range(0, 16, 4))
    if shuffle != "none":
        other = [b[:, 0, 0, 0].tolist() for b in it.epoch_batches(1)]
        assert other != [b[:, 0, 0, 0].tolist() for b in batches]
    resumed = [b[:, 0, 0, 0].tolist() for b in it.epoch_batches(0, start=1)]
    assert resumed == [batches[1][:, 0, 0, 0].tolist()]
    f = next(iter(PackedBatches(packed, 8, seed=1, shuffle=shuffle, block_size=4, as_float=True)))
    assert f.dtype == torch.float32 and torch.allclose(f * 255, batches[0].float())


def test_batches_reject_bad_sizes(packed_dir):
    packed = PackedWords(packed_dir)
    with pytest.raises(ValueError, match="batch_size 21"):
        PackedBatches(packed, 21)
    with pytest.raises(ValueError, match="multiple of block_size"):
        PackedBatches(packed, 8, shuffle="block", block_size=3)


def test_cli_size_packs_the_first_n_items_of_any_source(tmp_path, capsys):
    lines = []
    for i in range(5):
        Image.fromarray(_word(30 + i, 24, 50)).save(tmp_path / f"w{i}.png")
        lines.append(f"w{i}.png\tword{i}")
    (tmp_path / "gt.tsv").write_text("\n".join(lines) + "\n")
    pack_cli(["tsv", str(tmp_path / "p"), "--root", str(tmp_path / "gt.tsv"), "--size", "3"])
    packed = PackedWords(tmp_path / "p")
    assert packed.labels == ["word0", "word1", "word2"] and packed.manifest["count"] == 3
    _assert_same(packed, WordDataset(TsvWords(tmp_path / "gt.tsv")).head(3))
    assert "first N items" in _help(capsys)
    # the target exists: the command line's error names the flag that replaces it
    assert pack_cli(["tsv", str(tmp_path / "p"), "--root", str(tmp_path / "gt.tsv"), "--size", "2"]) == 2  # one line, exit 2
    assert "--overwrite" in capsys.readouterr().err
    pack_cli(["tsv", str(tmp_path / "p"), "--root", str(tmp_path / "gt.tsv"), "--size", "2", "--overwrite"])
    assert PackedWords(tmp_path / "p").labels == ["word0", "word1"]


def _help(capsys) -> str:
    with pytest.raises(SystemExit):
        pack_cli(["--help"])
    return " ".join(capsys.readouterr().out.split())


def test_old_module_command_still_runs_the_cli_with_a_warning(tmp_path):
    """`python -m seqclr.data.packed` (the command before seqclr.cli_pack) works for one release."""
    out = tmp_path / "old"
    proc = subprocess.run([sys.executable, "-m", "seqclr.data.packed", "synthetic-handwriting", str(out), "--size", "2"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "seqclr.cli_pack" in proc.stderr and "deprecated" in proc.stderr
    assert len(PackedWords(out)) == 2
