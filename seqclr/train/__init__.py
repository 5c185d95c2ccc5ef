"""SeqCLR pretraining: config, loop, checkpoints, multi-GPU launch."""

from seqclr.train.checkpoint import CheckpointError, load_checkpoint, load_encoder, load_latest, save_checkpoint, save_encoder
from seqclr.train.config import PretrainConfig, paper_pretrain_recipe
from seqclr.train.launch import launch_local
from seqclr.train.loop import NonFiniteLossError, StepInfo, pretrain, read_loss_csv

__all__ = [
    "CheckpointError",
    "NonFiniteLossError",
    "PretrainConfig",
    "StepInfo",
    "launch_local",
    "load_checkpoint",
    "load_encoder",
    "load_latest",
    "paper_pretrain_recipe",
    "pretrain",
    "read_loss_csv",
    "save_checkpoint",
    "save_encoder",
]
