"""Where a run's curves go while it trains: the ``logger`` key of pretraining and recognizer runs.

- ``"csv"`` (the default): plain CSV files. Pretraining writes ``loss.csv`` (step, loss, lr) and
  ``loss.png`` as always; recognizer runs (decoder evaluation, fine-tuning, the supervised
  baseline) add ``train_log.csv``, one row per logged step (train loss / lr / images per second,
  validation and test metrics), appended and flushed as the run goes (``tail -f`` works).
- ``"tensorboard"``: the CSV files, plus TensorBoard event files in ``<output_dir>/tensorboard``
  (``tensorboard --logdir outputs``). Needs the optional ``tensorboard`` package
  (``pip install 'seqclr[tensorboard]'``), imported only when this logger is used; a run asking
  for it without the package fails at its start, before any compute (:func:`require_logger`).
- ``"none"``: no curves beyond the run's own outputs (pretraining still writes ``loss.csv``, which
  its metrics, plots and notebooks use; recognizer runs write no ``train_log.csv``).

Scalar names are shared by both kinds of runs: ``train/loss``, ``train/lr``, ``train/images_per_s``,
``val/acc`` ... (so TensorBoard overlays them); the CSV columns use the same names.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping, Sequence

from seqclr.config import ParameterError

LOGGERS = ("csv", "tensorboard", "none")
TENSORBOARD_DIR = "tensorboard"  # the event files' folder, under the run's output_dir
TENSORBOARD_INSTALL = "pip install 'seqclr[tensorboard]'"
_EVENT_GLOB = "events.out.tfevents.*"


def require_logger(name: str) -> None:
    """ParameterError naming the key ``logger`` unless ``name`` is one of LOGGERS that this
    machine can run ("tensorboard" needs the tensorboard package). Runs call it before any compute."""
    if name not in LOGGERS:
        raise ParameterError(f"logger must be one of {', '.join(repr(n) for n in LOGGERS)}, got {name!r}")
    if name == "tensorboard":
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401  # lazy: optional extra [tensorboard]
        except ImportError as err:
            raise ParameterError(
                f"logger 'tensorboard' needs the tensorboard package, which cannot be imported ({err}): install "
                f"it with `{TENSORBOARD_INSTALL}` (or `pip install tensorboard`), or set logger to 'csv' or 'none'"
            ) from None


class RunLogger:
    """``log_scalars(step, {name: value})`` to the sinks of logger ``name``; ``close()`` flushes them.

    ``csv_name`` (with ``csv_columns``, the scalar names it may receive): the CSV file of the "csv"
    and "tensorboard" loggers under ``folder`` (None: no CSV; pretraining writes its loss.csv
    itself). ``resume_step``: the run resumes after this step, so TensorBoard drops the events a
    killed run logged after it; a fresh run (None) removes the event files of an earlier run."""

    def __init__(
        self,
        name: str = "none",
        folder: str | Path | None = None,
        csv_name: str | None = None,
        csv_columns: Sequence[str] = (),
        resume_step: int | None = None,
    ) -> None:
        require_logger(name)
        self.name, self.writer, self._csv, self._file = name, None, None, None
        self.columns = tuple(csv_columns)
        if name == "none":
            return
        if folder is None:
            raise ValueError(f"RunLogger: logger {name!r} needs a folder")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if csv_name is not None:
            self._file = open(folder / csv_name, "w", newline="", buffering=1)
            self._csv = csv.writer(self._file)
            self._csv.writerow(["step", *self.columns])
        if name == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter  # lazy: optional extra [tensorboard]

            events = folder / TENSORBOARD_DIR
            if resume_step is None:
                for old in events.glob(_EVENT_GLOB):
                    old.unlink()
            purge = resume_step + 1 if resume_step else None
            self.writer = SummaryWriter(str(events), purge_step=purge, flush_secs=10)

    def log_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
        """Record ``scalars`` (name -> number; None values are skipped) at ``step``."""
        values = {k: float(v) for k, v in scalars.items() if v is not None}
        if self._csv is not None:
            unknown = sorted(set(values) - set(self.columns))
            if unknown:
                raise ValueError(f"RunLogger: no CSV column for {unknown}; columns: {list(self.columns)}")
            self._csv.writerow([step, *(repr(values[c]) if c in values else "" for c in self.columns)])
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(key, value, global_step=step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self._file is not None:
            self._file.close()
            self._file, self._csv = None, None

    def __enter__(self) -> "RunLogger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LOGGERS", "TENSORBOARD_DIR", "TENSORBOARD_INSTALL", "RunLogger", "require_logger"]
