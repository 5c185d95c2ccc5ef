"""The parquet source (Hugging Face Hub-format word datasets, local files): rows read back as
written (PNG, JPEG, the Hub's {bytes, path} struct), files concatenated in order, configurable
columns, the errors and skip policy of the other readers, and parquet data used end to end:
pretraining, a recognizer's train / val / test splits, and packing."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
fontpkg_kalam = pytest.importorskip("fontpkg_kalam")

from seqclr.cli_pack import main as pack_cli  # noqa: E402
from seqclr.data.dataset import SOURCES, WordDataset, build_source  # noqa: E402
from seqclr.data.packed import PackedWords, pack_dataset  # noqa: E402
from seqclr.data.readers import DataError, ParquetWords, SkippedItem, decode_image  # noqa: E402
from tests.word_images import WORDS, kalam_words  # noqa: E402


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """(16, 32, 100) uint8: the four Kalam words, each shifted by 0..3 x 3 pixels."""
    words = kalam_words(fontpkg_kalam.ROOT)
    return np.stack([np.roll(words[i % 4], 3 * (i // 4), axis=1) for i in range(16)])


LABELS = [WORDS[i % 4] for i in range(16)]


def encode(image: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def write(path, images, labels, image_column="image", text_column="text", row_group_size=None, **extra):
    """A parquet file of PNG-encoded ``images`` and ``labels`` (plus ``extra`` columns)."""
    columns = {image_column: [encode(im) if isinstance(im, np.ndarray) else im for im in images]}
    if text_column is not None:
        columns[text_column] = list(labels)
    pq.write_table(pa.table({**columns, **extra}), path, row_group_size=row_group_size)
    return path


def test_png_rows_read_back(tmp_path, images):
    write(tmp_path / "words.parquet", images[:6], LABELS[:6], row_group_size=4)  # two row groups
    ds = ParquetWords(tmp_path / "words.parquet")
    assert len(ds) == 6 and ds.labels == LABELS[:6] and ds.labeled
    for i in (5, 0, 4, 3, 1, 2):  # across row groups, out of order
        s = ds[i]
        assert s.label == LABELS[i] and np.array_equal(s.image, images[i])
        assert s.meta == {"path": str(tmp_path / "words.parquet"), "row": i}
    assert ds[-1].label == LABELS[5]
    with pytest.raises(IndexError):
        ds[6]
    assert build_source("parquet", path=str(tmp_path / "words.parquet")).labels == LABELS[:6]


def test_hub_struct_path_fallback_and_jpeg(tmp_path, images):
    """The Hub's Image feature: {bytes, path}; null bytes read ``path`` relative to the file's folder."""
    (tmp_path / "imgs").mkdir()
    Image.fromarray(images[1]).save(tmp_path / "imgs" / "w1.png")
    jpeg = encode(images[2], "JPEG")
    cells = [
        {"bytes": encode(images[0]), "path": "ignored-when-bytes.png"},
        {"bytes": None, "path": "imgs/w1.png"},
        {"bytes": jpeg, "path": None},
    ]
    pq.write_table(pa.table({"image": cells, "text": LABELS[:3]}), tmp_path / "hub.parquet")
    ds = ParquetWords(tmp_path / "hub.parquet")
    assert ds.labels == LABELS[:3]
    assert np.array_equal(ds[0].image, images[0]) and np.array_equal(ds[1].image, images[1])
    decoded = ds[2].image
    assert np.array_equal(decoded, decode_image(jpeg)) and decoded.shape == images[2].shape
    assert np.abs(decoded.astype(int) - images[2]).mean() < 8  # lossy, but the same word
    # a path string column works too
    pq.write_table(pa.table({"image": ["imgs/w1.png"], "text": ["x"]}), tmp_path / "paths.parquet")
    assert np.array_equal(ParquetWords(tmp_path / "paths.parquet")[0].image, images[1])


def test_files_concatenated_in_order(tmp_path, images):
    write(tmp_path / "b-00001.parquet", images[4:7], LABELS[4:7], row_group_size=2)
    write(tmp_path / "a-00000.parquet", images[:4], LABELS[:4])
    listed = ParquetWords([tmp_path / "b-00001.parquet", tmp_path / "a-00000.parquet"])  # the order given
    assert listed.labels == LABELS[4:7] + LABELS[:4]
    assert np.array_equal(listed[3].image, images[0]) and np.array_equal(listed[2].image, images[6])
    assert listed[3].meta["row"] == 0 and listed[3].meta["path"].endswith("a-00000.parquet")
    folder = ParquetWords(tmp_path)  # a folder: its files sorted by name
    assert folder.labels == LABELS[:4] + LABELS[4:7] and "and 1 more files" in folder.name
    assert ParquetWords(str(tmp_path / "b-*.parquet")).labels == LABELS[4:7]  # a glob pattern
    assert ParquetWords(tmp_path, max_samples=5).labels == LABELS[:5]  # the first n, across files
    with pytest.raises(DataError, match="no file matches"):
        ParquetWords(str(tmp_path / "c-*.parquet"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no \*.parquet file"):
        ParquetWords(tmp_path / "empty")


def test_custom_column_names(tmp_path, images):
    write(tmp_path / "w.parquet", images[:3], LABELS[:3], image_column="img", text_column="word",
          writer=["a", "b", "c"])  # fmt: skip
    ds = ParquetWords(tmp_path / "w.parquet", image_column="img", text_column="word")
    assert ds.labels == LABELS[:3] and np.array_equal(ds[2].image, images[2])


def test_file_and_column_errors_name_the_file(tmp_path, images):
    path = write(tmp_path / "w.parquet", images[:2], LABELS[:2], image_column="img", text_column="word")
    with pytest.raises(DataError, match=r"w.parquet: no column 'image' \(columns: img, word\)"):
        ParquetWords(path)
    with pytest.raises(DataError, match=r"w.parquet: no column 'text' \(columns: img, word\).*text_column=None"):
        ParquetWords(path, image_column="img")
    with pytest.raises(DataError, match="parquet file not found"):
        ParquetWords(tmp_path / "missing.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="junk.parquet: cannot read parquet"):
        ParquetWords(tmp_path / "junk.parquet")
    pq.write_table(pa.table({"image": [encode(images[0])], "text": [7]}), tmp_path / "ints.parquet")
    with pytest.raises(DataError, match="ints.parquet: column 'text' has type int64; expected strings"):
        ParquetWords(tmp_path / "ints.parquet")
    pq.write_table(pa.table({"image": [1.5], "text": ["x"]}), tmp_path / "floats.parquet")
    with pytest.raises(DataError, match="floats.parquet: column 'image' has type double"):
        ParquetWords(tmp_path / "floats.parquet")
    with pytest.raises(ValueError, match="on_error"):
        ParquetWords(path, on_error="ignore")


def test_bad_rows_raise_or_are_skipped(tmp_path, images):
    good = encode(images[0])
    cells = [good, good[: len(good) // 2], None, encode(images[3]), encode(images[4])]
    labels = ["w0", "w1", "w2", None, "w4"]
    pq.write_table(pa.table({"image": cells, "text": labels}), tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad.parquet\[row 3\]: 'text' is null"):  # found when built
        ParquetWords(tmp_path / "bad.parquet")
    with pytest.warns(UserWarning, match=r"skipping .*bad.parquet\[row 3\]"):
        ds = ParquetWords(tmp_path / "bad.parquet", on_error="skip")
    assert ds.labels == ["w0", "w1", "w2", "w4"] and ds.skipped == 1
    with pytest.warns(UserWarning) as caught:
        for i in (1, 2):  # a truncated PNG, a null image: each is dropped, no other row stands in
            with pytest.raises(SkippedItem, match=rf"bad.parquet\[row {i}\]"):
                ds[i]
    s = ds[3]
    assert s.label == "w4" and np.array_equal(s.image, images[4])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and all(m.startswith(f"{ds.name}: skipping {tmp_path / 'bad.parquet'}[row ") for m in messages)
    assert "[row 1]: cannot decode image" in messages[0] and messages[1].endswith("[row 2]: 'image' is null")
    assert ds.skipped == 3 and set(ds.skipped_files) == {f"{tmp_path / 'bad.parquet'}[row {r}]" for r in (1, 2, 3)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SkippedItem):
            ds[1]
        assert ds.skipped == 3  # each bad row is counted and warned once
    strict = ParquetWords(tmp_path / "bad.parquet", text_column=None)  # unlabeled: no null labels
    with pytest.raises(DataError, match=r"bad.parquet\[row 1\]: cannot decode image"):
        strict[1]
    with pytest.raises(DataError, match=r"bad.parquet\[row 2\]: 'image' is null"):
        strict[2]
    pq.write_table(pa.table({"image": [{"bytes": None, "path": "gone.png"}], "text": ["x"]}), tmp_path / "gone.parquet")
    with pytest.raises(DataError, match=r"gone.parquet\[row 0\]: image file .*gone.png not found"):
        ParquetWords(tmp_path / "gone.parquet")[0]


def test_charset_filter_reads_labels_not_images(tmp_path, images):
    """Labels outside the charset are dropped (with the usual warning) from the labels alone: the
    dropped rows' images are never decoded (here they are corrupt)."""
    cells = [encode(images[0]), b"corrupt", encode(images[1]), b"corrupt"]
    write(tmp_path / "w.parquet", cells, [LABELS[0], "naïve", LABELS[1], "日本"])
    with pytest.warns(UserWarning, match="dropped 2 of 4 labels"):
        ds = WordDataset(ParquetWords(tmp_path / "w.parquet"), "english95", height=32, width=100)
    assert ds.dropped_labels["count"] == 2 and [ds[i]["label"] for i in range(len(ds))] == LABELS[:2]
    assert torch.equal(ds[1]["image"][0], torch.from_numpy(images[1]).float() / 255)


def test_unlabeled_images(tmp_path, images):
    write(tmp_path / "u.parquet", images[:5], None, text_column=None)
    src = ParquetWords(tmp_path / "u.parquet", text_column=None)
    assert not src.labeled and src.labels == [""] * 5
    ds = WordDataset(src, "english95")  # not filtered: every image kept, no warning
    assert len(ds) == 5 and ds[4]["label"] == "" and ds.dropped_labels["count"] == 0
    from seqclr.evaluate.config import DecoderEvalConfig
    from seqclr.evaluate.data import build_split

    cfg = DecoderEvalConfig(data="parquet", train_source={"path": str(tmp_path / "u.parquet"), "text_column": None},
                            val_source={"path": "v"}, test_source={"path": "t"})  # fmt: skip
    with pytest.raises(ValueError, match="train_source: recognizers train and score on labels"):
        build_split(cfg, "train")


def test_pretrain_on_parquet(tmp_path, images):
    """The README's command; and unlabeled files (train_source: {text_column: null}) as its data."""
    from seqclr.train.config import PretrainConfig
    from seqclr.train.data import build_dataset
    from seqclr.train.pretrain import main as pretrain_cli

    write(tmp_path / "train-00000.parquet", images[:10], LABELS[:10])
    write(tmp_path / "train-00001.parquet", images[10:], None, text_column=None)
    out = tmp_path / "run"
    args = ["--data", "parquet", "--train_source", f"{{path: {tmp_path / 'train-00000.parquet'}}}", "--width", "32",
            "--batch_size", "8", "--iterations", "2", "--checkpoint_every", "2", "--log_every", "1",
            "--progress", "false", "--device", "cpu", "--output_dir", str(out)]  # fmt: skip
    assert pretrain_cli(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["config"]["data"] == "parquet"
    assert (out / "encoder.pt").is_file()
    cfg = PretrainConfig.from_dict({"data": "parquet", "train_source": {"path": str(tmp_path / "train-*.parquet"),
                                    "text_column": None}, "train_size": 12})  # fmt: skip
    ds = build_dataset(cfg)  # both files, unlabeled, the first train_size images
    assert len(ds) == 12 and torch.equal(ds[11]["image"][0], torch.from_numpy(images[11]).float() / 255)


def test_recognizer_splits_from_parquet(tmp_path, images):
    from seqclr.evaluate.__main__ import main as evaluate_cli

    write(tmp_path / "train.parquet", images[:12], LABELS[:12])
    write(tmp_path / "val-0.parquet", images[12:14], LABELS[12:14])
    write(tmp_path / "val-1.parquet", images[14:], LABELS[14:])
    write(tmp_path / "eval.parquet", images[:4], LABELS[:4], image_column="png", text_column="word")
    out = tmp_path / "sup"
    args = ["supervised", "--data", "parquet", "--train_source", f"{{path: {tmp_path / 'train.parquet'}}}",
            "--val_source", f"{{paths: [{tmp_path / 'val-0.parquet'}, {tmp_path / 'val-1.parquet'}]}}",
            "--test_source", f"{{path: {tmp_path / 'eval.parquet'}, image_column: png, text_column: word}}",
            "--train_size", "null", "--val_size", "null", "--test_size", "3", "--width", "48", "--batch_size", "4",
            "--iterations", "2", "--val_every", "1", "--eval_batch_size", "8", "--device", "cpu",
            "--output_dir", str(out)]  # fmt: skip
    assert evaluate_cli(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_size"] == 12 and metrics["metrics"]["n"] == 3 and metrics["best_step"] in (1, 2)
    assert metrics["config"]["test_source"] == {"path": str(tmp_path / "eval.parquet"), "image_column": "png",
                                                "text_column": "word"}  # fmt: skip
    assert (out / "recognizer.pt").is_file()


def test_pack_equals_reader(tmp_path, images):
    path = write(tmp_path / "w.parquet", images[:7], LABELS[:7], image_column="png", text_column="word",
                 row_group_size=3)  # fmt: skip
    src = ParquetWords(path, image_column="png", text_column="word")
    packed = pack_dataset(src, tmp_path / "p", height=32, width=64, keep_ratio=True, chunk=2)
    ds = WordDataset(ParquetWords(path, image_column="png", text_column="word"), "english95", 32, 64, keep_ratio=True)
    assert len(packed) == len(ds) == 7 and packed.labels == LABELS[:7]
    for i in range(len(ds)):
        assert torch.equal(packed[i]["image"], ds[i]["image"]), f"image {i} differs"
    # the command line: a glob root and the reader's column options
    pack_cli(["parquet", str(tmp_path / "cli"), "--root", str(tmp_path / "w*.parquet"), "--height", "32",
              "--width", "64", "--keep-ratio", "--option", "image_column=png", "--option", "text_column=word"])  # fmt: skip
    cli = PackedWords(tmp_path / "cli")
    assert np.array_equal(cli.images, packed.images) and cli.labels == packed.labels
    assert "ParquetWords" in cli.manifest["source"]
    pack_cli(["parquet", str(tmp_path / "unl"), "--root", str(path), "--option", "image_column=png",
              "--option", "text_column=null"])  # fmt: skip
    assert PackedWords(tmp_path / "unl").labels == [""] * 7


def test_registered_everywhere():
    from seqclr.data.source_names import SOURCE_NAMES
    from seqclr.evaluate.config import DATA_SOURCES as EVAL_SOURCES
    from seqclr.train.config import DATA_SOURCES as TRAIN_SOURCES

    assert tuple(SOURCES) == SOURCE_NAMES and "parquet" in SOURCE_NAMES
    assert EVAL_SOURCES == SOURCE_NAMES and TRAIN_SOURCES == (*SOURCE_NAMES, "packed")
