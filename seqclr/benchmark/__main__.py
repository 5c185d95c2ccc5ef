"""python -m seqclr.benchmark [--params FILE.yaml] [--encoder tiny] [--batch_size 32] [--device cpu|cuda]
[--method seqclr-window] [--out outputs/benchmark/NAME.json] [--steps N] [--any-field value ...]

Every BenchmarkConfig field is a ``--field value`` option (values parsed as YAML scalars); a
YAML file of fields (parameters/benchmark/*.yaml) can be given first with --params."""

from __future__ import annotations

import sys

from seqclr.benchmark.config import BenchmarkConfig
from seqclr.benchmark.suite import format_tables, run_benchmark
from seqclr.config import ParameterError, from_dict, load_yaml, parse_overrides, upgrade_keys
from seqclr.exits import guarded


@guarded
def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(__doc__)
        print(BenchmarkConfig.__doc__)
        return 0
    values, source, path = {}, "command line", None
    if "--params" in args:
        i = args.index("--params")
        path = args[i + 1]
        del args[i : i + 2]
    try:
        if path is not None:  # old names renamed where they were given: the file, then the command line
            values, source = upgrade_keys(BenchmarkConfig, load_yaml(path), path), f"{path} + command line"
        values.update(upgrade_keys(BenchmarkConfig, parse_overrides(args), "command line"))
        cfg = from_dict(BenchmarkConfig, values, source=source)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    res = run_benchmark(cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(format_tables(res))
    print(f"results: {res['json']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
