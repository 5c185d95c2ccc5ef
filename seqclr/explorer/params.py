"""Parameters of the augmentation explorer notebook (its ``parameters`` cell mirrors these)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seqclr.augment.spec import OP_NAMES, PRESETS, is_spec_file, load_spec
from seqclr.config import ConfigIO
from seqclr.data.source_names import SYNTHETIC_SOURCES

BACKENDS = ("torch", "imgaug")
SOURCES = SYNTHETIC_SOURCES  # the embedded renderer (or a path: an LMDB folder / tsv file)
MAX_SAMPLES = 32  # rows of the views; the images and the draws of the first n never change with n


@dataclass
class ExplorerParams(ConfigIO):
    """source: a data source name (embedded renderer) or a path to an LMDB folder / tsv file.
    split: which font split the embedded renderer draws from.
    n_samples: word images shown (1..32; "more samples" adds rows, keeping the rows shown);
    seed: picks the images and the augmentation draws.
    augmentation: the augmentation pipeline to start from: a preset name or a spec file (.yaml /
    .yml, as "save spec" writes), as ``augmentation`` of the pretraining and recognizer configs;
    disable_ops: its operations turned off.
    spec_file: where the "save spec" button writes the current spec (the text box's first value;
    relative paths from the working directory, the repository root in a checkout).
    backends: "torch" (ours, batched) and/or "imgaug" (the reference, needs seqclr[reference]).
    height, width: the paper's 32x100 input; frames: feature-map columns drawn over the views
    (T=26 for the paper's ResNet at width 100).
    output_dir: where the static figures are saved ("" = not saved).
    """

    # old name -> new name, read until the next release (seqclr.config.upgrade_keys)
    RENAMED = {"preset": "augmentation"}

    source: str = "synthetic-handwriting"
    split: str = "train"
    n_samples: int = 3
    seed: int = 0
    augmentation: str = "seqclr"
    disable_ops: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=lambda: ["torch", "imgaug"])
    height: int = 32
    width: int = 100
    frames: int = 26
    output_dir: str = ""
    spec_file: str = "outputs/explorer/augmentation.yaml"

    def validate(self) -> None:
        if not 1 <= self.n_samples <= MAX_SAMPLES:
            raise ValueError(f"n_samples must be in 1..{MAX_SAMPLES}, got {self.n_samples}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if is_spec_file(self.augmentation):
            try:
                load_spec(self.augmentation)
            except ValueError as err:
                raise ValueError(f"augmentation: {err}") from None
        elif self.augmentation not in PRESETS:
            raise ValueError(f"augmentation must be one of {sorted(PRESETS)} or a spec file (.yaml / .yml), got {self.augmentation!r}")
        for op in self.disable_ops:
            if op not in OP_NAMES:
                raise ValueError(f"disable_ops: unknown operation {op!r}; known: {', '.join(OP_NAMES)}")
        if not self.backends:
            raise ValueError("backends must name at least one of " + ", ".join(BACKENDS))
        for b in self.backends:
            if b not in BACKENDS:
                raise ValueError(f"backends: unknown backend {b!r}; known: {', '.join(BACKENDS)}")
        if self.height < 8 or self.width < 8:
            raise ValueError(f"height and width must be >= 8, got {self.height}x{self.width}")
        if not 1 <= self.frames <= self.width:
            raise ValueError(f"frames must be in 1..width, got {self.frames}")
        if not is_spec_file(self.spec_file):
            raise ValueError(f"spec_file must be a path ending in .yaml or .yml, got {self.spec_file!r}")
