"""The augmentation spec: presets, validation, dict/YAML round trip."""

import pytest
import yaml

from seqclr.augment.spec import AugmentSpec, OpSpec, get_spec, light_spec, seqclr_spec, simclr_spec

SEQCLR_OPS = {
    "linear_contrast",
    "blur",
    "crop_vertical",
    "crop_horizontal",
    "sharpen",
    "piecewise_affine",
    "perspective",
}


def test_seqclr_preset_matches_appendix_b():
    spec = seqclr_spec()
    assert {op.name for op in spec.enabled_ops} == SEQCLR_OPS
    assert spec.composition == "some_of" and spec.random_order
    assert spec["linear_contrast"].params["alpha"] == (0.5, 1.0)
    assert spec["blur"].params["sigma"] == (0.5, 1.0)
    assert spec["crop_vertical"].params == {"top": (0.0, 0.4), "bottom": (0.0, 0.4)}
    assert spec["crop_horizontal"].params == {"left": (0.0, 0.02), "right": (0.0, 0.02)}
    assert spec["sharpen"].params == {"alpha": (0.0, 0.5), "lightness": (0.0, 0.5)}
    assert spec["piecewise_affine"].params["scale"] == (0.02, 0.03)
    assert spec["perspective"].params["scale"] == (0.01, 0.02)


def test_counter_examples_are_off_and_never_in_sequence_preserving_presets():
    for spec in (seqclr_spec(), light_spec()):
        assert "flip" in spec and "crop_aggressive" in spec
        assert not spec["flip"].enabled and not spec["crop_aggressive"].enabled
    assert seqclr_spec().replace("flip", enabled=True)["flip"].enabled


def test_light_and_simclr_presets():
    light = light_spec()
    assert {op.name for op in light.enabled_ops} == {"linear_contrast", "blur", "crop_vertical", "crop_horizontal"}
    # lighter than SeqCLR on every shared op
    seq = seqclr_spec()
    assert light["crop_vertical"].params["top"][1] < seq["crop_vertical"].params["top"][1]
    assert light["linear_contrast"].params["alpha"][0] > seq["linear_contrast"].params["alpha"][0]
    sim = simclr_spec()
    assert sim.composition == "sequential"
    assert {"random_resized_crop", "flip", "color_jitter", "blur"} == {op.name for op in sim.enabled_ops}
    assert 0 < sim["flip"].p < 1


@pytest.mark.parametrize(
    "name, params, fragment",
    [
        ("blur", {"sigma": (1.0, 0.5)}, "low 1.0 > high 0.5"),
        ("linear_contrast", {"alpha": (-0.1, 1.0)}, "alpha=-0.1"),
        ("crop_vertical", {"top": (0.0, 1.0), "bottom": (0.0, 0.0)}, "top=1.0"),
        ("crop_vertical", {"top": (0.0, 0.6), "bottom": (0.0, 0.5)}, "whole image"),
        ("sharpen", {"alpha": (0.0, 1.5), "lightness": (0.0, 0.5)}, "alpha=1.5"),
        ("perspective", {"scale": (0.01, "x")}, "scale"),
        ("blur", {"sigma": (0.1, 0.2), "radius": (1, 2)}, "radius"),
        ("piecewise_affine", {"scale": (0.02, 0.03), "nb_rows": (2.5, 4), "nb_cols": (2, 4)}, "integers"),
    ],
)
def test_invalid_ranges_name_op_and_value(name, params, fragment):
    with pytest.raises(ValueError) as err:
        OpSpec(name, params=params)
    assert name in str(err.value) and fragment in str(err.value)


def test_unknown_op_and_bad_p():
    with pytest.raises(ValueError, match="unknown augment op 'solarize'"):
        OpSpec("solarize", params={})
    with pytest.raises(ValueError, match="'flip': p=1.5"):
        OpSpec("flip", params={}, p=1.5)
    with pytest.raises(ValueError, match="listed twice"):
        AugmentSpec((OpSpec("flip"), OpSpec("flip")))
    with pytest.raises(ValueError, match="unknown augment preset"):
        get_spec("autoaugment")


def test_dict_and_yaml_round_trip():
    for spec in (seqclr_spec(), light_spec(), simclr_spec()):
        text = yaml.safe_dump(spec.to_dict(), sort_keys=False)  # op order matters
        back = AugmentSpec.from_dict(yaml.safe_load(text))
        assert back == spec


def test_from_dict_accepts_a_list_of_ops_in_order():
    spec = AugmentSpec.from_dict(
        {"composition": "sequential", "ops": [{"name": "flip", "p": 0.5}, {"name": "blur", "sigma": [0.1, 2.0]}]}
    )
    assert [op.name for op in spec.ops] == ["flip", "blur"]
    assert spec["flip"].p == 0.5 and spec["blur"].params["sigma"] == (0.1, 2.0)


def test_from_dict_accepts_scalars_and_defaults():
    spec = AugmentSpec.from_dict({"ops": {"blur": {"sigma": 0.7}, "flip": None}})
    assert spec["blur"].params["sigma"] == (0.7, 0.7)
    assert spec["flip"].enabled and spec["blur"].p == 1.0
    with pytest.raises(ValueError, match="'blur': missing"):
        AugmentSpec.from_dict({"ops": {"blur": {}}})
    with pytest.raises(ValueError, match="unknown key"):
        AugmentSpec.from_dict({"ops": {}, "colour": 1})


def test_each_method_pretrains_with_a_preset_that_fits_it():
    """METHOD_AUGMENTATION names presets; only the SimCLR methods get a sequence-breaking one
    (SimCLR's own, with its flip on), the SeqCLR mappings the SeqCLR pipeline."""
    from seqclr.contrastive.model import METHOD_AUGMENTATION

    for method, preset in METHOD_AUGMENTATION.items():
        spec = get_spec(preset)
        assert spec == (simclr_spec() if method.startswith("simclr") else seqclr_spec()), method
        assert spec["flip"].enabled == method.startswith("simclr"), method


# ---------------------------------------------------------------- spec files


def test_spec_file_round_trip_is_exact(tmp_path):
    from seqclr.augment.spec import load_spec, save_spec, spec_digest, spec_yaml

    edited = seqclr_spec().replace("flip", enabled=True).replace("blur", sigma=(0.1 + 0.2, 1 / 3), p=0.7)
    for name, spec in [("seqclr", seqclr_spec()), ("light", light_spec()), ("simclr", simclr_spec()), ("edited", edited)]:
        path = save_spec(spec, tmp_path / "specs" / f"{name}.yml")
        back = load_spec(path)
        assert back == spec and [op.name for op in back.ops] == [op.name for op in spec.ops], name
        assert spec_digest(back) == spec_digest(spec) and get_spec(str(path)) == spec
        assert path.read_text() == spec_yaml(spec, path) and path.read_text().startswith("# An augmentation spec")
    assert spec_digest(edited) != spec_digest(seqclr_spec())
    assert load_spec(tmp_path / "specs" / "edited.yml")["blur"].params["sigma"] == (0.1 + 0.2, 1 / 3)  # floats exact


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("ops:\n  blurr: {sigma: [0.1, 0.2]}\n", ["ops.blurr", "unknown augment op 'blurr'", "did you mean 'blur'"]),
        ("ops:\n  blur: {sigma: [0.1, 9.0], p: 1.5}\n", ["ops.blur", "p=1.5"]),
        ("ops:\n  crop_vertical: {top: [0, 0.6], bottom: [0, 0.6]}\n", ["ops.crop_vertical", "top+bottom"]),
        ("ops:\n  sharpen: {alpha: [0, 2], lightness: [0, 1]}\n", ["ops.sharpen", "alpha=2.0 must be <= 1.0"]),
        ("ops:\n  blur: {sigma: [0.1, 0.2], radius: 3}\n", ["ops.blur", "unknown parameter(s) ['radius']"]),
        ("ops:\n  flip: {enabled: 'no'}\n", ["ops.flip.enabled", "'no'"]),
        ("composition: random\nops: {flip: {}}\n", ["composition 'random'"]),
        ("random_order: 1\nops: {flip: {}}\n", ["random_order=1"]),
        ("ops: {flip: {}}\ncolour: 1\n", ["unknown key(s) ['colour']"]),
        ("- flip\n- blur\n", ["expected an augmentation spec", "list"]),
        ("ops: [flip: {\n", ["not valid YAML"]),
    ],
)
def test_bad_spec_files_name_the_file_and_the_key(tmp_path, text, fragments):
    from seqclr.augment.spec import load_spec

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        load_spec(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: "), msg
    for fragment in fragments:
        assert fragment in msg, msg


def test_spec_file_names_and_missing_files(tmp_path):
    from seqclr.augment.spec import check_augmentation, is_spec_file, load_spec, save_spec

    assert is_spec_file("a/b.yaml") and is_spec_file("B.YML") and not is_spec_file("seqclr") and not is_spec_file(None)
    with pytest.raises(ValueError, match="missing.yaml: augmentation spec file not found"):
        load_spec(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="must end in .yaml or .yml"):
        save_spec(seqclr_spec(), tmp_path / "spec.json")
    assert check_augmentation("none", ("light", "none")) is None
    assert check_augmentation("light", ("light", "none")) == light_spec()
    with pytest.raises(ValueError, match=r"^must be one of 'light', 'none' or an augmentation spec file.*got 'lihgt' \(did you mean 'light'\?\)"):
        check_augmentation("lihgt", ("light", "none"))
    with pytest.raises(ValueError, match="unknown augment preset 'autoaugment'.*or a spec file"):
        get_spec("autoaugment")
