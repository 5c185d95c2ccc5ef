"""The pretraining benchmark suite: augmentation, input pipeline, encoder, loss and full-step
throughput, FLOPs and model FLOP utilization, and before/after ablations of each optimization.

    python -m seqclr.benchmark --encoder tiny --batch_size 32 --device cpu
    python -m seqclr.benchmark --params parameters/benchmark/h100_paper.yaml
"""

from seqclr.benchmark.config import BenchmarkConfig
from seqclr.benchmark.suite import format_tables, run_benchmark

__all__ = ["BenchmarkConfig", "format_tables", "run_benchmark"]
