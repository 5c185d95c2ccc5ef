"""Parameters of the augmentation explorer notebook (its ``parameters`` cell mirrors these)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seqclr.augment.spec import OP_NAMES, PRESETS

BACKENDS = ("torch", "imgaug")
SOURCES = ("synthetic-handwriting", "synthetic-print")


@dataclass
class ExplorerParams:
    """source: a data source name (embedded renderer) or a path to an LMDB folder / tsv file.
    split: which font split the embedded renderer draws from.
    n_samples: word images shown; seed: picks the images and the augmentation draws.
    preset: the augmentation pipeline to start from; disable_ops: its operations turned off.
    backends: "torch" (ours, batched) and/or "imgaug" (the reference, needs seqclr[reference]).
    height, width: the paper's 32x100 input; frames: feature-map columns drawn over the views
    (T=26 for the paper's ResNet at width 100).
    output_dir: where the static figures are saved ("" = not saved).
    """

    source: str = "synthetic-handwriting"
    split: str = "train"
    n_samples: int = 3
    seed: int = 0
    preset: str = "seqclr"
    disable_ops: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=lambda: ["torch", "imgaug"])
    height: int = 32
    width: int = 100
    frames: int = 26
    output_dir: str = ""

    def validate(self) -> None:
        if not 1 <= self.n_samples <= 32:
            raise ValueError(f"n_samples must be in 1..32, got {self.n_samples}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
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
