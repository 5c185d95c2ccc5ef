"""The import rule of the package: imports at module level, except a heavy or optional dependency
(imgaug, umap, tensorboard, pyarrow, ipywidgets, seaborn, ...) that must stay lazy, imported inside
the function that needs it with a ``# lazy: <reason>`` comment; and the training entry module does
not load the heavy plotting / reference dependencies."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "seqclr"
MARK = "# lazy:"


def _function_imports(tree: ast.AST):
    """Import / ImportFrom nodes inside a function body (nested functions included), each once."""
    seen = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in seen:
                    seen.add(id(node))
                    yield node


def _is_import(line: str) -> bool:
    return line.startswith("import ") or (line.startswith("from ") and " import " in line)


def _marked(lines: list[str], lineno: int) -> bool:
    """``# lazy:`` on the import's line, or on a comment line right above it or heading the run of
    consecutive imports it belongs to."""
    if MARK in lines[lineno - 1]:
        return True
    i = lineno - 2
    while i >= 0 and _is_import(lines[i].strip()):
        i -= 1
    return i >= 0 and lines[i].strip().startswith("#") and MARK in lines[i]


def unmarked_function_imports(root: Path = PACKAGE) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        src = path.read_text(encoding="utf-8")
        lines = src.splitlines()
        for node in _function_imports(ast.parse(src)):
            if not _marked(lines, node.lineno):
                out.append(f"{path.relative_to(root.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return out


def test_every_import_inside_a_function_says_why_it_is_lazy():
    bad = unmarked_function_imports()
    assert not bad, (
        "imports inside functions without a `# lazy: <reason>` comment (move them to module level, or "
        "say why they must stay lazy):\n" + "\n".join(bad)
    )


def test_the_rule_sees_unmarked_and_marked_imports(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "import os\n\n"
        "def f():\n    import json\n    return json\n\n"
        "def g():\n    import umap  # lazy: slow\n\n"
        "def h():\n    # lazy: optional extra\n    import pandas as pd\n    import seaborn as sns\n\n"
        "def k():\n    x = 1  # lazy: not an import\n    import yaml\n"
    )
    assert unmarked_function_imports(pkg) == ["pkg/m.py:4: import json", "pkg/m.py:17: import yaml"]


HEAVY = ("umap", "imgaug", "matplotlib", "seaborn", "pandas", "cv2", "pyarrow", "ipywidgets", "tensorboard")


def _loaded_after_import(module: str) -> list[str]:
    code = (
        "import json, sys\n"
        f"import {module}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=PACKAGE.parent)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_training_and_evaluation_entry_modules_stay_light():
    """A fresh process importing the training loop (every pretraining run), the evaluation
    protocol, the dataset and the encoder loads none of the heavy optional / plotting packages."""
    for module in ("seqclr.train.loop", "seqclr.evaluate.protocol", "seqclr.data.dataset", "seqclr.models.encoder"):
        assert _loaded_after_import(module) == [], module
