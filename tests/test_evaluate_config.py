"""DecoderEvalConfig / FinetuneConfig: typed defaults, validation naming field and value, the
paper recipe."""

from __future__ import annotations

import pytest

from seqclr.config import ParameterError
from seqclr.evaluate.config import DecoderEvalConfig, FinetuneConfig, paper_recognizer_recipe


def test_defaults_are_a_small_cpu_run():
    d, f = DecoderEvalConfig(), FinetuneConfig()
    assert d.encoder == "tiny" and d.label_fraction == 1.0 and d.random_init
    assert f.label_fraction == 0.1 and f.output_dir != d.output_dir
    assert d.iterations <= 1000 and d.train_size <= 10_000


@pytest.mark.parametrize(
    "cls, values, pattern",
    [
        (DecoderEvalConfig, {"label_fraction": 0.0}, r"label_fraction must be in \(0, 1\], got 0.0"),
        (FinetuneConfig, {"label_fraction": 1.5}, r"label_fraction must be in \(0, 1\], got 1.5"),
        (DecoderEvalConfig, {"batch_size": 0}, r"batch_size must be >= 1, got 0"),
        (DecoderEvalConfig, {"lr": -1.0}, r"lr must be > 0, got -1.0"),
        (DecoderEvalConfig, {"lr_milestones": [0.8, 0.6]}, r"lr_milestones must be increasing"),
        (DecoderEvalConfig, {"encoder": "huge"}, r"encoder must be one of .*got 'huge'"),
        (DecoderEvalConfig, {"charset": "klingon"}, r"charset must be one of .*got 'klingon'"),
        (DecoderEvalConfig, {"height": 48}, r"height must be 32"),
        (FinetuneConfig, {"train_size": None}, r"train_size must be an integer for the synthetic sources"),
        (DecoderEvalConfig, {"checkpoint": "   "}, r"checkpoint must be an encoder file"),
    ],
)
def test_bad_values_name_field_and_value(cls, values, pattern):
    with pytest.raises(ValueError, match=pattern):
        cls(**values)
    with pytest.raises(ParameterError, match=r"^run.yaml: .*" + pattern):
        cls.from_dict(values, source="run.yaml")


def test_types_and_unknown_keys():
    with pytest.raises(ParameterError, match=r"'decoder' must be one of \['ctc', 'attention'\], got 'attn'"):
        DecoderEvalConfig.from_dict({"decoder": "attn"})
    with pytest.raises(ParameterError, match=r"unknown parameter 'label_fracton'.*did you mean 'label_fraction'"):
        FinetuneConfig.from_dict({"label_fracton": 0.05})
    with pytest.raises(ParameterError, match=r"'iterations' must be int"):
        DecoderEvalConfig.from_dict({"iterations": "10"})
    cfg = FinetuneConfig.from_dict({"label_fraction": 1, "lr_milestones": [0.5, 0.9], "checkpoint": "enc.pt"})
    assert cfg.label_fraction == 1.0 and cfg.lr_milestones == (0.5, 0.9) and not cfg.random_init
    assert cfg.to_dict()["lr_milestones"] == [0.5, 0.9]


def test_yaml_and_replace(tmp_path):
    path = tmp_path / "ft.yaml"
    path.write_text("label_fraction: 0.05\ndecoder: attention\n")
    cfg = FinetuneConfig.from_yaml(path)
    assert (cfg.label_fraction, cfg.decoder) == (0.05, "attention")
    assert cfg.replace(label_fraction=1.0).label_fraction == 1.0
    path.write_text("label_fraction: 2\n")
    with pytest.raises(ParameterError, match=f"^{path}: .*label_fraction"):
        FinetuneConfig.from_yaml(path)


def test_paper_recognizer_recipe():
    cfg = paper_recognizer_recipe("decoder_eval", data="lmdb", train_source={"path": "a"}, test_source={"path": "b"},
                       val_source={"path": "c"})
    assert isinstance(cfg, DecoderEvalConfig)
    assert (cfg.batch_size, cfg.iterations, cfg.optimizer, cfg.lr) == (256, 50_000, "adadelta", 1.0)
    assert cfg.lr_milestones == (0.6, 0.8) and cfg.lr_gamma == 0.1 and cfg.grad_clip == 5.0
    assert cfg.augmentation == "light" and cfg.encoder == "paper" and cfg.train_size is None
    ft = paper_recognizer_recipe("finetune", label_fraction=0.05, checkpoint="enc.pt")
    assert isinstance(ft, FinetuneConfig) and ft.label_fraction == 0.05 and ft.iterations == 50_000
    sup = paper_recognizer_recipe("supervised")
    assert sup.random_init and sup.method == "supervised"
    with pytest.raises(ValueError, match="protocol"):
        paper_recognizer_recipe("linear")
    with pytest.raises(ParameterError, match="unknown parameter 'batchsize'"):
        paper_recognizer_recipe("finetune", batchsize=3)


def test_command_line_rejects_bad_input(capsys):
    from seqclr.evaluate.__main__ import main

    assert main(["linear_eval"]) == 2
    assert main(["decoder_eval", "--lr_milestone", "0.5"]) == 2
    assert "did you mean 'lr_milestones'" in capsys.readouterr().err
    assert main(["finetune", "--label_fraction", "0"]) == 2
    assert "label_fraction must be in (0, 1], got 0" in capsys.readouterr().err


def test_command_line_reads_old_names_where_they_are_given(tmp_path, monkeypatch):
    import seqclr.evaluate.__main__ as cli

    seen = []
    monkeypatch.setattr(cli, "run_protocol", lambda cfg, protocol: seen.append(cfg))
    params = tmp_path / "old.yaml"
    params.write_text("feature: V\niterations: 3\n")
    with pytest.warns(DeprecationWarning, match=rf"{params}: 'feature' is deprecated, use 'representation'"):
        assert cli.main(["decoder_eval", "--config", str(params), "--representation", "HV"]) == 0
    assert seen[0].representation == "HV" and seen[0].iterations == 3  # the command line wins, as for any key
    with pytest.warns(DeprecationWarning, match=r"command line: 'feature' is deprecated, use 'representation'"):
        assert cli.main(["finetune", "--paper", "--feature", "V", "--train_size", "8", "--val_size", "8", "--test_size", "8"]) == 0
    assert seen[1].representation == "V" and seen[1].batch_size == 256


def test_augmentation_accepts_a_spec_file(tmp_path):
    from seqclr.augment.spec import light_spec, save_spec, spec_digest

    spec = light_spec().replace("blur", sigma=(0.0, 1.2))
    path = str(save_spec(spec, tmp_path / "decoder_aug.yml"))
    for cls in (DecoderEvalConfig, FinetuneConfig):
        cfg = cls.from_dict({"augmentation": path}, source="run.yaml")
        assert cfg.augmentation_spec == spec and cfg.to_dict()["augmentation"] == path
        assert cfg.augmentation_record() == {"augmentation_spec": spec.to_dict(), "augmentation_sha256": spec_digest(spec)}
        assert cls.from_dict(cfg.to_dict()) == cfg
    assert DecoderEvalConfig(augmentation="none").augmentation_spec is None
    assert DecoderEvalConfig().augmentation_spec == light_spec()
    bad = tmp_path / "bad.yaml"
    bad.write_text("ops:\n  linear_contrast: {alpha: [0.5, 1.0]}\n  solarize: {threshold: 0.5}\n")
    with pytest.raises(ParameterError, match=rf"^run.yaml: DecoderEvalConfig: augmentation: {bad}: ops\.solarize: unknown augment op"):
        DecoderEvalConfig.from_dict({"augmentation": str(bad)}, source="run.yaml")
    with pytest.raises(ValueError, match=r"augmentation: .*missing\.yaml: augmentation spec file not found"):
        FinetuneConfig(augmentation=str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError, match=r"augmentation: must be one of 'light', 'seqclr', 'simclr', 'none' or an augmentation spec file"):
        FinetuneConfig(augmentation="heavy")
