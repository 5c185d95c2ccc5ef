"""Crash-safe training checkpoints and encoder export.

* Atomic: a checkpoint is written to a temporary file in the same folder, fsync'ed, then moved
  into place with ``os.replace``; the previous one is kept as ``last.prev.pt``. A crash at any
  moment leaves at least one complete checkpoint.
* Safe to load: files hold tensors and plain Python types only (RNG states as tensors, the config
  as a dict), so they load with ``torch.load(weights_only=True)``.
* Verified: a SHA-256 digest of every tensor's bytes is stored; a truncated or corrupt file raises
  :class:`CheckpointError` naming it, and :func:`load_latest` falls back to the previous good
  checkpoint with a warning.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from seqclr.models.encoder import EncoderConfig, SequenceEncoder

LAST = "last.pt"
PREVIOUS = "last.prev.pt"
FORMAT = "seqclr-pretrain-checkpoint-v1"
ENCODER_FORMAT = "seqclr-encoder-v1"


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used (missing, truncated, corrupt or of another format)."""

    exit_code = 2  # seqclr.exits: one line and this exit status on the command line


def _tensors(obj: Any, prefix: str = ""):
    """(path, tensor) for every tensor in nested dicts / lists / tuples, in a stable order."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            yield from _tensors(obj[k], f"{prefix}/{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{prefix}/{i}")


def state_digest(state: Any) -> str:
    """SHA-256 over every tensor's path, dtype, shape and bytes (CPU copies)."""
    h = hashlib.sha256()
    for path, t in _tensors(state):
        t = t.detach().cpu().contiguous()
        h.update(f"{path}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """torch.save to a temp file in the same folder, fsync, then os.replace onto ``path``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(buf.getbuffer(), path)


def atomic_write_bytes(data: bytes | memoryview, path: str | Path) -> None:
    """Write ``data`` to a temp file in the same folder, fsync, then os.replace onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; use the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(state: dict, folder: str | Path) -> Path:
    """Write ``state`` (tensors and plain types) as ``folder/last.pt``; the former ``last.pt``
    becomes ``last.prev.pt``. Returns the path written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "digest": state_digest(state), "state": state}
    last, prev = folder / LAST, folder / PREVIOUS
    # Write the new file first under a temp name (inside atomic_torch_save); only once it is
    # complete does last.pt move to last.prev.pt and the new one take its place.
    tmp_final = folder / f".{LAST}.new"
    atomic_torch_save(payload, tmp_final)
    if last.exists():
        if _known_good(last):
            os.replace(last, prev)
        else:  # never rotate a bad file over the good fallback (e.g. after resuming from last.prev.pt)
            warnings.warn(f"{last}: not a usable checkpoint; replaced, {prev} kept as the fallback", RuntimeWarning, stacklevel=2)
    os.replace(tmp_final, last)
    _fsync_dir(folder)
    _GOOD.add(_identity(last))
    return last


# (path, size, mtime_ns) of checkpoint files this process wrote or loaded successfully: rotating
# one of them needs no re-read; any other last.pt is read and verified before it becomes the fallback.
_GOOD: set[tuple[str, int, int]] = set()


def _identity(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def _known_good(path: Path) -> bool:
    if _identity(path) in _GOOD:
        return True
    try:
        load_checkpoint(path)
    except CheckpointError:
        return False
    return True


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The state saved by :func:`save_checkpoint`; CheckpointError (naming ``path``) if the file is
    missing, unreadable, truncated, of another format or fails its digest."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # zip/pickle errors of truncated or corrupt files
        raise CheckpointError(f"{path}: unreadable checkpoint (truncated or corrupt?): {type(err).__name__}: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state" not in payload:
        raise CheckpointError(f"{path}: not a seqclr pretraining checkpoint (format {FORMAT!r} expected)")
    if state_digest(payload["state"]) != payload.get("digest"):
        raise CheckpointError(f"{path}: checkpoint is corrupt (tensor digest mismatch)")
    _GOOD.add(_identity(path))
    return payload["state"]


def load_latest(folder_or_file: str | Path, map_location: str | torch.device = "cpu") -> tuple[dict, Path]:
    """(state, path) of the newest good checkpoint. For a folder: ``last.pt``, else ``last.prev.pt``
    (with a warning naming the bad file). For a file: that file (and ``last.prev.pt`` beside a
    ``last.pt``).
    CheckpointError listing what was tried when none is usable."""
    p = Path(folder_or_file)
    candidates = [p / LAST, p / PREVIOUS] if p.is_dir() else [p] + ([p.parent / PREVIOUS] if p.name == LAST else [])
    errors = []
    for c in candidates:
        try:
            state = load_checkpoint(c, map_location)
        except CheckpointError as err:
            errors.append(str(err))
            continue
        if errors:
            warnings.warn(f"{errors[-1]}; falling back to the previous checkpoint {c}", RuntimeWarning, stacklevel=2)
        return state, c
    raise CheckpointError(f"{p}: no usable checkpoint: " + "; ".join(errors))


def has_checkpoint(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / LAST).is_file() or (folder / PREVIOUS).is_file()


# --------------------------------------------------------------------------------------------
# Encoder export for downstream evaluation (decoder evaluation, fine-tuning).
# --------------------------------------------------------------------------------------------


def save_encoder(path: str | Path, encoder: torch.nn.Module, cfg: Any = None) -> Path:
    """Save the base encoder f(.) (its EncoderConfig and weights) and optionally the pretraining
    config (a PretrainConfig or dict) atomically to ``path``."""
    enc_cfg = getattr(encoder, "cfg", None)
    if enc_cfg is None or not hasattr(enc_cfg, "to_dict"):
        raise TypeError(f"{path}: save_encoder expects a SequenceEncoder (with .cfg), got {type(encoder).__name__}")
    encoder = getattr(encoder, "_orig_mod", encoder)  # torch.compile wrapper
    pre = cfg.to_dict() if hasattr(cfg, "to_dict") else (dict(cfg) if cfg is not None else None)
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    payload = {
        "format": ENCODER_FORMAT,
        "encoder_config": enc_cfg.to_dict(),
        "state_dict": state,
        "pretrain_config": pre,
        "digest": state_digest(state),
    }
    atomic_torch_save(payload, path)
    return Path(path)


def load_encoder(path: str | Path, map_location: str | torch.device = "cpu"):
    """The SequenceEncoder saved by :func:`save_encoder`, in eval mode. The pretraining config
    (a dict or None) is attached as ``encoder.pretrain_config``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such encoder file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: unreadable encoder file (truncated or corrupt?): {type(err).__name__}: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != ENCODER_FORMAT:
        raise CheckpointError(f"{path}: not a seqclr encoder file (format {ENCODER_FORMAT!r} expected)")
    if state_digest(payload["state_dict"]) != payload.get("digest"):
        raise CheckpointError(f"{path}: encoder file is corrupt (tensor digest mismatch)")
    encoder = SequenceEncoder(EncoderConfig(**payload["encoder_config"]))
    encoder.load_state_dict(payload["state_dict"])
    encoder.pretrain_config = payload.get("pretrain_config")
    return encoder.eval()
