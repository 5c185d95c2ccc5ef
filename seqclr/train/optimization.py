"""The names of the optimizers and learning-rate schedules the configs accept. The optimization
fields themselves and their checks are shared by the pretraining and the recognizer configs in
:class:`seqclr.train.config_fields.OptimizationFields` (one place, so both recipes accept and
reject the same values)."""

from __future__ import annotations

OPTIMIZERS = ("adadelta", "adam", "adamw", "sgd")
LR_SCHEDULES = ("multistep", "cosine")  # seqclr.train.schedule
