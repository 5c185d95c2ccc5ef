"""The study's 5%-label CTC fine-tuning runs (seqclr-window, SimCLR, supervised; seeds 0-2), trained
4x longer than SCALES["cpu"] gives them, to see whether they leave CTC's blank plateau and whether
SeqCLR then beats supervised at 5% (the paper's claim). Same configs as the study's
finetune/*-ctc-0.05-s* runs in every field but iterations, val_every and output_dir.

    .venv/bin/python outputs/reference/hw-v2/label5-long/run.py 4000

Belongs to the previous study (the `cpu-vgg` encoder; git commit 8ae265a): SCALE pins that study's
scale, and the script needs that study's pretrained `cpu-vgg` encoders in outputs/study (make
study-quick at that commit). Two worker processes, one thread each.
Writes runs/<name>/ (metrics.json, predictions.json) and summary.json beside this script."""
import dataclasses
import statistics
import sys
from pathlib import Path

from seqclr.evaluate.results import _write_json
from seqclr.evaluate.study import SCALES, select_runs, study_configs
from seqclr.evaluate.study_parallel import run_parallel

# the previous study's SCALES["cpu"] (SCALES["cpu"] now uses cpu-vgg-bn with other step counts)
SCALE = dict(SCALES["cpu"], train_size=16384, encoder="cpu-vgg", ft_iterations={0.05: 1000, 0.1: 1000, 1.0: 6000}, val_points=6)

def main() -> None:
    its = int(sys.argv[1])
    out, ref = Path("outputs/study"), Path(__file__).parent
    runs = select_runs(study_configs(out, SCALE), ["seqclr-window", "simclr"], ["finetune/*-ctc-0.05-s[012]"])
    runs = [(p, n, dataclasses.replace(c, iterations=its, val_every=its // 8, log_every=its // 8,
                                       output_dir=str(out / "label5-long" / n))) for p, n, c in runs]
    summary = {"iterations": its, "pretrain": {}, "runs": {}}
    run_parallel([], runs, out, ref, summary, 2, print)
    by_method: dict[str, list] = {}
    for name, m in summary["runs"].items():
        by_method.setdefault(name.split("/")[1].rsplit("-ctc", 1)[0], []).append(m)
    summary["table"] = {k: {metric: [statistics.mean(100 * m[metric] for m in v), statistics.stdev(100 * m[metric] for m in v)]
                            for metric in ("acc", "cer")} for k, v in by_method.items()}
    _write_json(ref / "summary.json", summary)
    for k, v in summary["table"].items():
        print(f"{k}: acc {v['acc'][0]:.1f} ± {v['acc'][1]:.1f}  cer {v['cer'][0]:.1f} ± {v['cer'][1]:.1f}")


if __name__ == "__main__":  # the workers are spawned: they import this file
    main()
