"""Supervised 100% at the CPU study's scale, run 7.5x longer with validation every 400 steps.

    OMP_NUM_THREADS=1 .venv/bin/python outputs/reference/hw-v2/convergence/run.py 6000

writes outputs/convergence/none-ctc-1-s0/ (metrics.json, predictions.json, recognizer.pt); the
committed metrics.json and predictions.json beside this script are copies of those two files."""
import dataclasses, json, sys, time
from pathlib import Path
from seqclr.evaluate.study import SCALES, study_configs
from seqclr.evaluate.protocol import run_protocol
its = int(sys.argv[1])
# the `cpu` ResNet of the study at the time (SCALES["cpu"] now uses cpu-vgg-bn); supervised, so no encoder file is needed
runs = {n: (p, c) for p, n, c in study_configs(Path("outputs/study"), dict(SCALES["cpu"], train_size=16384, encoder="cpu"))}
p, c = runs["finetune/none-ctc-1-s0"]
c = dataclasses.replace(c, iterations=its, val_every=400, log_every=200, output_dir="outputs/convergence/none-ctc-1-s0")
r = run_protocol(c, p, log=print)
print(json.dumps(r.metrics))
