"""Items dropped under ``on_error: skip``, and the report of them.

A reader with ``on_error="skip"`` raises ``SkippedItem`` for an item it cannot read (counted in its
``skipped`` / ``skipped_files``); WordDataset returns a :class:`Skipped` record in its place. Every
consumer drops these records, so no image ever stands in for another (a duplicate in a batch would
be a false negative for the contrastive loss):

- the caches rendered once (pretraining's ``render_cache``, ``pack_dataset``, the study's
  ``MemoryWords``) leave the item out, so they hold fewer images than the dataset's length;
- batches read lazily by a DataLoader (``collate_words``) leave it out, so such a batch holds
  fewer images than the batch size (by the number dropped), and ``batch["skipped"]`` lists the
  records. A DataLoader worker's reader is a copy: the consumer hands the records back to the
  dataset with :func:`note_skipped`, so the report is complete with ``num_workers > 0`` too.

:func:`skipped_report` lists every dropped item of a dataset (any of WordDataset, Subset,
``seqclr.evaluate.data`` ``_FirstN`` / ``UnionSource``, MemoryWords, a PackedWords and its
manifest, pretraining's BatchSource / PackedSource), found when the source was built (a missing
file, a null label) or when read: ``[{"where": FILE / FILE[row R] / DB[key], "reason": ...}]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from seqclr.data.readers.base import SkippedItem


@dataclass(frozen=True)
class Skipped:
    """What WordDataset returns for an item its source skipped: where (file / row / key), the
    reason, the item's index and the (C, H, W) shape its image would have had."""

    where: str
    reason: str
    index: int
    shape: tuple = ()

    def __getitem__(self, key):
        raise SkippedItem(
            self.where, f"{self.reason} (item {self.index} was skipped under on_error='skip'; "
            "drop such items, e.g. with seqclr.data.skips.drop_skipped)",
        )  # fmt: skip


def drop_skipped(items: Iterable) -> tuple[list, list[Skipped]]:
    """(the items that are not Skipped records, the Skipped records), both in order."""
    kept, skipped = [], []
    for item in items:
        (skipped if isinstance(item, Skipped) else kept).append(item)
    return kept, skipped


def _holders(obj) -> list:
    """``obj`` and what it wraps (BatchSource / Subset ``.dataset``, WordDataset ``.source``,
    PackedSource ``.packed``, ConcatDataset ``.datasets``), depth first, each once."""
    out, stack, seen = [], [obj], set()
    while stack:
        o = stack.pop()
        if o is None or id(o) in seen or isinstance(o, (str, bytes, int, float)):
            continue
        seen.add(id(o))
        out.append(o)
        children = [getattr(o, a, None) for a in ("dataset", "source", "packed")]
        children += list(getattr(o, "datasets", None) or ())
        stack.extend(reversed(children))
    return out


def note_skipped(dataset, skipped: Iterable[Skipped]) -> None:
    """Record ``skipped`` (e.g. a batch's ``batch["skipped"]``, read in a DataLoader worker) in the
    first object of ``dataset``'s chain that keeps a ``skipped_files`` dict (the WordDataset)."""
    skipped = list(skipped or ())
    if not skipped:
        return
    for o in _holders(dataset):
        files = getattr(o, "skipped_files", None)
        if isinstance(files, dict):
            for s in skipped:
                files.setdefault(s.where, s.reason)
            return


def skipped_report(dataset) -> list[dict]:
    """Every item of ``dataset`` dropped under ``on_error: skip``, each once:
    ``[{"where": ..., "reason": ...}]``, innermost sources first (see the module docstring).
    Lazily read data lists the items read so far (a cache or a pack: all of them)."""
    found: dict[str, str] = {}
    for o in reversed(_holders(dataset)):
        files = getattr(o, "skipped_files", None)
        if isinstance(files, dict):
            for where, reason in files.items():
                found.setdefault(str(where), str(reason))
    return [{"where": w, "reason": r} for w, r in found.items()]
