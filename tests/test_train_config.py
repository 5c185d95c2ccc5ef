"""PretrainConfig: defaults are valid, bad keys / types / values fail up front naming them."""

from __future__ import annotations

import pytest

from seqclr.config import ParameterError
from seqclr.train.config import PretrainConfig, paper_pretrain_recipe
from seqclr.train.pretrain import main, parse_args
from seqclr.train.schedule import build_optimizer, build_scheduler, lr_at, milestone_steps


def test_defaults_are_the_cpu_demo():
    cfg = PretrainConfig()
    assert cfg.encoder == "tiny" and cfg.method == "seqclr-window" and cfg.optimizer == "adadelta"
    assert (cfg.lr, cfg.rho, cfg.weight_decay, cfg.grad_clip, cfg.lr_milestones, cfg.lr_gamma) == (
        10.0, 0.95, 1e-4, 5.0, (0.6, 0.8), 0.1,
    )
    assert PretrainConfig.from_dict(cfg.to_dict()) == cfg


def test_unknown_key_suggests_closest_name():
    with pytest.raises(ParameterError, match=r"run\.yaml: unknown parameter 'batch_sise' \(did you mean 'batch_size'\?\)"):
        PretrainConfig.from_dict({"batch_sise": 64}, source="run.yaml")


@pytest.mark.parametrize(
    "key, value, pattern",
    [
        ("batch_size", "64", r"'batch_size' must be int, got '64'"),
        ("lr", True, r"'lr' must be float, got True"),
        ("grad_clip", "none", r"'grad_clip' must be"),
        ("lr_milestones", 0.6, r"'lr_milestones' must be"),
        ("device", "gpu", r"'device' must be one of .*did you mean 'cpu'"),
    ],
)
def test_bad_types(key, value, pattern):
    with pytest.raises(ParameterError, match=pattern):
        PretrainConfig.from_dict({key: value}, source="cli")


@pytest.mark.parametrize(
    "key, value, pattern",
    [
        ("batch_size", 1, r"batch_size must be >= 2 .*got 1"),
        ("iterations", 0, r"iterations must be >= 1, got 0"),
        ("tau", 0.0, r"tau must be > 0, got 0.0"),
        ("lr_milestones", [0.8, 0.6], r"lr_milestones must be increasing .*got \(0.8, 0.6\)"),
        ("lr_milestones", [0.5, 1.5], r"lr_milestones"),
        ("rho", 1.0, r"rho must be in \[0, 1\), got 1.0"),
        ("height", 48, r"height must be 32"),
        ("encoder", "huge", r"encoder must be one of .*'tiny'.*got 'huge'"),
        ("head", "transformer", r"head must be one of"),
        ("checkpoint_every", 0, r"checkpoint_every must be >= 1, got 0"),
    ],
)
def test_bad_values_name_field_and_value(key, value, pattern):
    with pytest.raises(ParameterError, match=r"^exp\.yaml: " + pattern):
        PretrainConfig.from_dict({key: value}, source="exp.yaml")
    with pytest.raises(ValueError, match=pattern):  # direct construction validates too
        PretrainConfig(**{key: tuple(value) if isinstance(value, list) else value})


def test_yaml_errors_name_the_file(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("batch_size: 16\nlr_milestones: [0.5, 0.75]\ngrad_clip: null\n")
    cfg = PretrainConfig.from_yaml(good, overrides={"iterations": 3})
    assert (cfg.batch_size, cfg.lr_milestones, cfg.grad_clip, cfg.iterations) == (16, (0.5, 0.75), None, 3)

    typo = tmp_path / "typo.yaml"
    typo.write_text("itertions: 5\n")
    with pytest.raises(ParameterError, match=rf"{typo}: unknown parameter 'itertions' \(did you mean 'iterations'\?\)"):
        PretrainConfig.from_yaml(typo)
    bad = tmp_path / "bad.yaml"
    bad.write_text("batch_size: 1\n")
    with pytest.raises(ParameterError, match=rf"{bad}: batch_size must be >= 2"):
        PretrainConfig.from_yaml(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("batch_size: [1,\n")
    with pytest.raises(ParameterError, match=rf"{broken}: not valid YAML"):
        PretrainConfig.from_yaml(broken)


def test_yaml_round_trip(tmp_path):
    cfg = PretrainConfig(batch_size=8, lr_milestones=(0.5,), resume="runs/x/last.pt", loss_chunk_size=64)
    cfg.to_yaml(tmp_path / "c.yaml")
    assert PretrainConfig.from_yaml(tmp_path / "c.yaml") == cfg


def test_cli_overrides_and_errors(tmp_path, capsys):
    f = tmp_path / "c.yaml"
    f.write_text("batch_size: 16\n")
    cfg, nproc = parse_args(["-f", str(f), "--lr", "1", "--grad_clip", "null", "--nproc", "2"])
    assert (cfg.batch_size, cfg.lr, cfg.grad_clip, nproc) == (16, 1.0, None, 2)
    assert main(["-f", str(f), "--batch_size", "1"]) == 2
    assert f"{f}: batch_size must be >= 2" in capsys.readouterr().err


def test_paper_pretrain_recipe():
    hw = paper_pretrain_recipe("handwriting")
    assert (hw.encoder, hw.batch_size, hw.iterations, hw.lr, hw.rho, hw.grad_clip, hw.weight_decay) == (
        "paper", 1024, 200_000, 10.0, 0.95, 5.0, 1e-4,
    )
    frame = paper_pretrain_recipe("scene", "seqclr-frame")
    assert (frame.batch_size, frame.iterations) == (256, 600_000)
    assert paper_pretrain_recipe("handwriting", "seqclr-frame").iterations == 300_000
    assert paper_pretrain_recipe("scene").iterations == 400_000


def test_lr_schedule_steps_at_60_and_80_percent():
    import torch

    cfg = PretrainConfig(iterations=10)
    assert milestone_steps(10, cfg.lr_milestones) == [6, 8]
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(3))], cfg)
    sched = build_scheduler(opt, cfg)
    seen = []
    for _ in range(cfg.iterations):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([10.0] * 6 + [1.0] * 2 + [0.1] * 2)
    assert [lr_at(i, cfg) for i in range(10)] == pytest.approx(seen)
    assert isinstance(opt, torch.optim.Adadelta) and opt.defaults["rho"] == 0.95


# ---------------------------------------------------------------- a method carries its augmentation


def test_every_method_has_its_augmentation():
    from seqclr.augment.spec import PRESETS
    from seqclr.contrastive.model import METHOD_AUGMENTATION, METHOD_PRESETS
    from seqclr.train.config import METHODS

    assert set(METHOD_AUGMENTATION) == set(METHOD_PRESETS) == set(METHODS)
    assert set(METHOD_AUGMENTATION.values()) <= set(PRESETS)
    assert {m: a for m, a in METHOD_AUGMENTATION.items() if a == "simclr"} == {"simclr": "simclr", "simclr-contextual": "simclr"}


@pytest.mark.parametrize(
    "method, expected",
    [("seqclr-all", "seqclr"), ("seqclr-window", "seqclr"), ("seqclr-frame", "seqclr"), ("simclr", "simclr"), ("simclr-contextual", "simclr")],
)
def test_augmentation_defaults_to_the_methods_own(method, expected):
    cfg = PretrainConfig(method=method)
    assert cfg.augmentation is None and cfg.resolved_augmentation == expected
    assert cfg.to_dict()["augmentation"] == expected  # what config.yaml / metrics.json / checkpoints record
    assert PretrainConfig.from_dict({"method": method}, source="run.yaml").resolved_augmentation == expected
    assert PretrainConfig.from_dict(cfg.to_dict()) == cfg  # the record reproduces the run


def test_explicit_augmentation_overrides_the_method():
    cfg = PretrainConfig(method="simclr", augmentation="seqclr")
    assert cfg.resolved_augmentation == "seqclr" and cfg.to_dict()["augmentation"] == "seqclr"
    assert PretrainConfig(method="seqclr-window", augmentation="simclr").resolved_augmentation == "simclr"
    assert PretrainConfig.from_dict({"method": "simclr", "augmentation": "light"}).resolved_augmentation == "light"
    assert PretrainConfig(method="simclr") != cfg
    with pytest.raises(ParameterError, match=r"augmentation.*got 'auto'"):
        PretrainConfig.from_dict({"augmentation": "auto"}, source="cli")


def test_replace_keeps_the_augmentation_following_the_method():
    cfg = PretrainConfig()  # seqclr-window: the SeqCLR pipeline
    assert cfg.replace(method="simclr").resolved_augmentation == "simclr"
    assert cfg.replace(method="simclr", augmentation="seqclr").resolved_augmentation == "seqclr"
    pinned = cfg.replace(augmentation="seqclr")
    assert pinned.replace(method="simclr").resolved_augmentation == "seqclr"  # an explicit choice stays


def test_simclr_pretraining_builds_the_simclr_augmenter():
    """The pretraining loop's augmenter: SimCLR's spec for simclr / simclr-contextual unless the
    config names another; never silently the SeqCLR pipeline."""
    from seqclr.augment.spec import seqclr_spec, simclr_spec
    from seqclr.train.loop import build_augment

    for method in ("simclr", "simclr-contextual"):
        assert build_augment(PretrainConfig(method=method)).spec == simclr_spec()
    assert build_augment(PretrainConfig(method="simclr", augmentation="seqclr")).spec == seqclr_spec()
    assert build_augment(PretrainConfig(method="seqclr-frame")).spec == seqclr_spec()


@pytest.fixture
def view_specs(monkeypatch) -> list:
    """The spec of every view the pretraining augmenter draws (a spy on BatchAugment.forward)."""
    from seqclr.augment.pipeline import BatchAugment

    specs: list = []
    forward = BatchAugment.forward

    def spy(self, x, generator=None):
        specs.append(self.spec)
        return forward(self, x, generator)

    monkeypatch.setattr(BatchAugment, "forward", spy)
    return specs


def test_simclr_run_pretrains_and_records_simclr_augmentations(tmp_path, view_specs):
    """A real (one-step) SimCLR run: every view comes from the SimCLR spec, and the run records it."""
    import json

    from seqclr.augment.spec import simclr_spec
    from seqclr.train.loop import pretrain

    cfg = PretrainConfig(
        method="simclr", train_size=8, width=32, batch_size=4, iterations=1, output_dir=str(tmp_path),
        progress=False, device="cpu", checkpoint_every=1, log_every=1,
    )  # fmt: skip
    pretrain(cfg)
    assert view_specs and all(s == simclr_spec() for s in view_specs)
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["augmentation"] == "simclr"
    assert PretrainConfig.from_yaml(tmp_path / "config.yaml").augmentation == "simclr"


def test_parameter_files_and_notebook_leave_the_augmentation_to_the_method():
    """No pretraining parameter file pins an augmentation other than its method's, every SimCLR
    one resolves to SimCLR's, and the notebook's parameters cell (papermill -p method simclr)
    too."""
    import yaml

    from seqclr.config import from_namespace
    from seqclr.contrastive.model import METHOD_AUGMENTATION
    from seqclr.train.notebook import PretrainNotebookParams
    from tests.notebook_utils import NOTEBOOKS, PARAMETERS, cell_defaults

    files = sorted((PARAMETERS / "pretrain").glob("*.yaml"))
    simclr = [f for f in files if "simclr" in f.name]
    assert len(simclr) >= 9
    for f in files:
        values = yaml.safe_load(f.read_text())
        method = values.get("method", PretrainConfig().method)
        assert values.get("augmentation") in (None, METHOD_AUGMENTATION[method]), f
        if f in simclr:
            assert method.startswith("simclr"), f
            assert PretrainConfig.from_yaml(f).resolved_augmentation == "simclr", f

    cell = cell_defaults(NOTEBOOKS / "pretrain.ipynb")
    assert cell["augmentation"] is None
    for method, expected in (("simclr", "simclr"), ("simclr-contextual", "simclr"), ("seqclr-all", "seqclr")):
        cfg, _ = from_namespace(PretrainNotebookParams, {**cell, "method": method}).split()
        assert cfg.resolved_augmentation == expected


def test_study_pretrains_simclr_with_simclr_augmentations(tmp_path):
    from seqclr.evaluate.study import SCALES, pretrain_config

    scale = next(iter(SCALES.values()))
    assert pretrain_config("simclr", tmp_path, scale).resolved_augmentation == "simclr"
    assert pretrain_config("seqclr-window", tmp_path, scale).resolved_augmentation == "seqclr"


# ---------------------------------------------------------------- an augmentation spec file


def _spec_file(tmp_path, name="explored.yaml"):
    """A spec as the explorer saves it: the SeqCLR pipeline with flip on and a wider blur."""
    from seqclr.augment.spec import save_spec, seqclr_spec

    spec = seqclr_spec().replace("flip", enabled=True).replace("blur", sigma=(0.2, 1.7))
    return spec, str(save_spec(spec, tmp_path / name))


def test_augmentation_accepts_a_spec_file(tmp_path):
    spec, path = _spec_file(tmp_path)
    cfg = PretrainConfig(augmentation=path)
    assert cfg.resolved_augmentation == path and cfg.augmentation_spec == spec
    assert cfg.to_dict()["augmentation"] == path  # config.yaml keeps the path
    assert PretrainConfig.from_dict(cfg.to_dict()) == cfg
    record = cfg.augmentation_record()
    assert record["augmentation_spec"] == spec.to_dict() and len(record["augmentation_sha256"]) == 64
    assert PretrainConfig(augmentation="seqclr").augmentation_record()["augmentation_sha256"] != record["augmentation_sha256"]
    from seqclr.train.loop import build_augment

    assert build_augment(cfg).spec == spec
    (tmp_path / "run.yaml").write_text(f"augmentation: {path}\niterations: 3\n")
    assert PretrainConfig.from_yaml(tmp_path / "run.yaml").augmentation_spec == spec


def test_a_bad_spec_file_fails_at_construction_naming_key_and_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ops:\n  blur: {sigma: [-1.0, 0.5]}\n")
    with pytest.raises(ParameterError, match=rf"run\.yaml: augmentation: {bad}: ops\.blur: .*sigma=-1\.0 is below 0\.0"):
        PretrainConfig.from_dict({"augmentation": str(bad)}, source="run.yaml")
    with pytest.raises(ValueError, match=rf"augmentation: {tmp_path / 'gone.yml'}: augmentation spec file not found"):
        PretrainConfig(augmentation=str(tmp_path / "gone.yml"))
    with pytest.raises(ParameterError, match=r"cli: augmentation: must be one of .* or an augmentation spec file"):
        PretrainConfig.from_dict({"augmentation": "spec.json"}, source="cli")


def _tiny_run(tmp_path, **changes) -> PretrainConfig:
    values = dict(
        train_size=8, width=32, batch_size=4, iterations=2, output_dir=str(tmp_path / "run"), progress=False,
        device="cpu", checkpoint_every=1, log_every=1,
    )  # fmt: skip
    return PretrainConfig(**{**values, **changes})


def test_pretraining_with_a_spec_file_uses_and_records_it(tmp_path, view_specs):
    """A real (two-step) run: every view comes from the file's spec; config.yaml keeps the path,
    metrics.json the spec's content and digest, the checkpoint the digest; resuming after the
    file was edited names the digest."""
    import json

    import torch

    from seqclr.augment.spec import save_spec, spec_digest
    from seqclr.train.loop import pretrain

    spec, path = _spec_file(tmp_path)
    cfg = _tiny_run(tmp_path, augmentation=path)
    metrics = pretrain(cfg)
    assert len(view_specs) == 4 and all(s == spec for s in view_specs)  # two views per step
    out = tmp_path / "run"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["config"]["augmentation"] == path and metrics["augmentation_spec"] == spec.to_dict()
    assert saved["augmentation_spec"] == spec.to_dict() and saved["augmentation_sha256"] == spec_digest(spec)
    assert PretrainConfig.from_yaml(out / "config.yaml").augmentation_spec == spec
    state = torch.load(out / "last.pt", weights_only=True)
    state = state.get("state", state)
    assert state["config"]["augmentation_sha256"] == spec_digest(spec)

    save_spec(spec.replace("blur", sigma=(0.2, 2.5)), path)  # the file edited after the run: resume refuses
    from seqclr.train.run_folder import RunFolderError

    with pytest.raises(RunFolderError, match=r"another config \(augmentation_sha256: '[0-9a-f]{64}' -> '[0-9a-f]{64}'\)"):
        pretrain(_tiny_run(tmp_path, augmentation=path, resume=True))


def test_more_windows_than_frames_is_refused_with_both_numbers():
    """Window-to-instance on 9 frames (width 32) cannot make 40 windows without repeating frames."""
    with pytest.raises(ValueError, match=r"n_instances must be <= 9, the frames the 'tiny' encoder makes of width 32, got 40"):
        PretrainConfig(n_instances=40, width=32)
    assert PretrainConfig(n_instances=9, width=32).n_instances == 9
    assert PretrainConfig(n_instances=40, width=32, method="seqclr-frame").n_instances == 40  # no windows
