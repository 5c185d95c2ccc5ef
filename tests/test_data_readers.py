import numpy as np
import pytest
from PIL import Image

from seqclr.data.readers import CvlWords, DataError, IamWords, LmdbWords, RimesWords, SkippedItem, TsvWords, write_lmdb
from seqclr.data.sample import WordSample


def _img(value: int, w: int = 12, h: int = 8) -> np.ndarray:
    img = np.full((h, w), 255, np.uint8)
    img[2:6, 2 : 2 + value % 8] = value
    return img


def _save(path, img, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, format=fmt)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_lmdb_roundtrip(tmp_path):
    samples = [WordSample(_img(10 * i + 5), label) for i, label in enumerate(["a", "Bc", "dé!"])]
    assert write_lmdb(tmp_path / "db", samples) == 3
    ds = LmdbWords(tmp_path / "db")
    assert len(ds) == 3 and ds.labels == ["a", "Bc", "dé!"]
    for i, s in enumerate(samples):
        assert ds[i].label == s.label and np.array_equal(ds[i].image, s.image)
    assert ds[-1].label == "dé!"
    with pytest.raises(IndexError):
        ds[3]


def test_lmdb_corrupt_image(tmp_path):
    import lmdb

    write_lmdb(tmp_path / "db", [(_img(1), "x"), (_img(2), "y"), (_img(3), "z")])
    env = lmdb.open(str(tmp_path / "db"))
    with env.begin(write=True) as txn:
        good = txn.get(b"image-000000002")
        txn.put(b"image-000000002", good[: len(good) // 2])
    env.close()
    with pytest.raises(DataError, match="image-000000002"):
        LmdbWords(tmp_path / "db")[1]
    ds = LmdbWords(tmp_path / "db", on_error="skip")
    with pytest.warns(UserWarning, match="image-000000002"), pytest.raises(SkippedItem, match="image-000000002"):
        ds[1]  # dropped: the next item does not stand in for it
    key = f"{tmp_path / 'db'}[image-000000002]"
    assert ds.skipped == 1 and list(ds.skipped_files) == [key] and "cannot decode image" in ds.skipped_files[key]
    assert ds[2].label == "z"
    with pytest.raises(DataError, match="not found"):
        LmdbWords(tmp_path / "nope")


WORDS_TXT = """#--- words.txt ---
# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A
a01-000u-00-00 ok 154 1 408 768 27 51 AT A
a01-000u-00-01 err 154 1 507 766 213 48 NN MOVE
a01-000u-01-00 ok 156 395 932 441 59 TO to
a02-000-00-00 ok 154 1 408 768 27 51 AT Stop
"""


def _iam(tmp_path):
    root = tmp_path / "iam"
    root.mkdir()
    (root / "words.txt").write_text(WORDS_TXT)
    ids = ["a01-000u-00-00", "a01-000u-00-01", "a01-000u-01-00", "a02-000-00-00"]
    for k, wid in enumerate(ids):
        p = wid.split("-")
        _save(root / "words" / p[0] / f"{p[0]}-{p[1]}" / f"{wid}.png", _img(40 + k))
    return root


def test_iam_words(tmp_path):
    root = _iam(tmp_path)
    ds = IamWords(root)
    assert ds.labels == ["A", "to", "Stop"] and ds.dropped_err == 1
    assert np.array_equal(ds[1].image, _img(42)) and ds[1].meta["id"] == "a01-000u-01-00"
    assert IamWords(root, include_err=True).labels == ["A", "MOVE", "to", "Stop"]
    (tmp_path / "forms.txt").write_text("a01-000u\n")
    assert IamWords(root, split_file=tmp_path / "forms.txt").labels == ["A", "to"]
    (tmp_path / "lines.txt").write_text("a01-000u-01\na02-000-00\n")
    ds = IamWords(root, split_file=tmp_path / "lines.txt")
    assert ds.labels == ["to", "Stop"] and ds.not_in_split == 2


def test_iam_missing_and_truncated(tmp_path):
    root = _iam(tmp_path)
    _truncate(root / "words/a01/a01-000u/a01-000u-01-00.png")
    with pytest.raises(DataError, match="a01-000u-01-00.png"):
        IamWords(root)[1]
    (root / "words/a02/a02-000/a02-000-00-00.png").unlink()
    with pytest.raises(DataError, match="a02-000-00-00.png"):
        IamWords(root)
    with pytest.warns(UserWarning):
        ds = IamWords(root, on_error="skip")
    assert ds.skipped == 1 and ds.labels == ["A", "to"]
    with pytest.warns(UserWarning, match="not found"):
        ds2 = IamWords(root, on_error="skip")
    with pytest.warns(UserWarning, match="a01-000u-01-00.png"), pytest.raises(SkippedItem, match="a01-000u-01-00.png"):
        ds2[1]  # dropped, not replaced by another item
    assert ds2.skipped == 2 and any("a01-000u-01-00.png" in k for k in ds2.skipped_files)


def test_iam_bad_line_names_file_and_line(tmp_path):
    root = _iam(tmp_path)
    (root / "words.txt").write_text(WORDS_TXT + "garbage line\n")
    with pytest.raises(DataError, match=r"words.txt:7"):
        IamWords(root)


def test_cvl_folder(tmp_path):
    root = tmp_path / "cvl"
    _save(root / "0001" / "0001-1-0-0-Imagine.tif", _img(50), "TIFF")
    _save(root / "0002" / "0002-1-0-3-well-known.png", _img(60))
    _save(root / "0002" / "bad-name.png", _img(70))
    with pytest.raises(DataError, match="bad-name.png"):
        CvlWords(root)
    with pytest.warns(UserWarning):
        ds = CvlWords(root, on_error="skip")
    assert ds.labels == ["Imagine", "well-known"] and ds.skipped == 1
    assert ds[0].meta["writer"] == "0001" and np.array_equal(ds[0].image, _img(50))


def test_rimes_space_and_tsv_gt(tmp_path):
    _save(tmp_path / "img" / "w1.png", _img(80))
    _save(tmp_path / "img" / "w2.jpg", np.full((8, 12), 200, np.uint8), "JPEG")
    (tmp_path / "gt.txt").write_text("w1.png élève\nw2.jpg Madame\n")
    ds = RimesWords(tmp_path / "gt.txt", image_dir=tmp_path / "img")
    assert ds.labels == ["élève", "Madame"] and ds[0].image.shape == (8, 12)
    assert abs(int(ds[1].image.mean()) - 200) <= 3
    (tmp_path / "img" / "gt.tsv").write_text("w1.png\tla vie\n")
    assert RimesWords(tmp_path / "img" / "gt.tsv").labels == ["la vie"]


def test_tsv(tmp_path):
    _save(tmp_path / "a" / "x.png", _img(90))
    _save(tmp_path / "a" / "y.png", _img(100))
    (tmp_path / "list.tsv").write_text("a/x.png\thello world\n\na/y.png\tbye\n")
    ds = TsvWords(tmp_path / "list.tsv")
    assert ds.labels == ["hello world", "bye"] and np.array_equal(ds[1].image, _img(100))
    (tmp_path / "bad.tsv").write_text("a/x.png hello\n")
    with pytest.raises(DataError, match=r"bad.tsv:1"):
        TsvWords(tmp_path / "bad.tsv")
    (tmp_path / "missing.tsv").write_text("a/zzz.png\tq\n")
    with pytest.raises(DataError, match="zzz.png"):
        TsvWords(tmp_path / "missing.tsv")
    assert isinstance(DataError("f", "r"), ValueError)
