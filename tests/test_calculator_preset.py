"""`hf-arith train --preset calc`: experts trained one after the other, then calculator.json with measured limits."""

import json

import pytest

from hf_arith.calculator import Calculator
from hf_arith.cli import main
from hf_arith.training import calculator_preset
from hf_arith.training.calculator_preset import measured_limit

from .tiny import TINY


def test_a_limit_is_the_training_range_extended_by_the_longer_suites_passed_in_order():
    right, wrong = {"exact_match": 1.0}, {"exact_match": 0.99}
    assert measured_limit({"test": right, "hard": right, "length_50": right, "hard_100": right,
                           "length_100": right, "length_200": right}, 20, 0.999) == (200, [])
    assert measured_limit({"test": right, "length_50": right, "length_100": wrong, "length_200": right}, 20, 0.999) \
        == (50, ["length_100 99.00 %"])
    assert measured_limit({"test": right, "hard_100": wrong, "length_100": right}, 20, 0.999)[0] == 20
    assert measured_limit({"test": wrong, "length_50": right}, 20, 0.999) == (0, ["test 99.00 %"])


def test_the_calc_preset_trains_its_experts_and_writes_a_calculator_of_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(calculator_preset.CALCULATOR_PRESETS, "calc", (("first", "add3"), ("second", "add3")))
    monkeypatch.setattr(calculator_preset, "MEASURED_RIGHT", 0.9)
    flags = [flag for flag in TINY if flag not in ("--preset", "add3")]
    out = tmp_path / "calc"
    assert main(["train", "--preset", "calc", *flags, "--suites", "test", "--output_dir", str(out)]) == 0
    written = json.loads((out / "calculator.json").read_text())
    assert [(e["folder"], e["operations"], e["max_digits"], e["seed"]) for e in written["experts"]] == [
        ("first", "+", 2, 0), ("second", "+", 2, 0)]
    assert written["command"].startswith("hf-arith train --preset calc")
    assert "hf_arith calculator `calc`" in (out / "README.md").read_text()
    calculator = Calculator.from_pretrained(str(out))
    results = calculator.run(["12+34", "(9+9)+77"])
    assert [r.answer for r in results] == ["46", "95"]
    assert {s.expert.name for r in results for s in r.steps} == {"first"}  # the first expert that takes a step
    capsys.readouterr()
    assert main(["calc", str(out), "123+1"]) == 2
    assert "123 in '123+1' has 3 digits; this calculator takes operands of at most 2" in capsys.readouterr().err
    # an existing calculator is not replaced without --overwrite_output_dir
    assert main(["train", "--preset", "calc", *flags, "--output_dir", str(out)]) == 2
    assert "already holds a calculator" in capsys.readouterr().err


def test_an_expert_below_the_bar_writes_no_calculator(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(calculator_preset.CALCULATOR_PRESETS, "calc", (("only", "add3"),))
    monkeypatch.setattr(calculator_preset, "MEASURED_RIGHT", 1.01)  # nothing reaches it
    flags = [flag for flag in TINY if flag not in ("--preset", "add3")]
    out = tmp_path / "calc"
    assert main(["train", "--preset", "calc", *flags, "--max_steps", "20", "--suites", "test",
                 "--output_dir", str(out)]) == 2
    assert "expert 'only' (preset add3) is not right on its own training range" in capsys.readouterr().err
    assert not (out / "calculator.json").exists()


@pytest.mark.parametrize("content, fragment", [
    ({"experts": []}, "must list its experts"),
    ({"experts": [{"folder": "../elsewhere", "max_digits": 3}]}, "is not a plain subfolder name"),
    ({"experts": [{"folder": "a/b", "max_digits": 3}]}, "is not a plain subfolder name"),
    ({"experts": [{"folder": "add", "max_digits": 0}]}, "has max_digits 0"),
])
def test_a_bad_calculator_file_is_named(tmp_path, content, fragment):
    (tmp_path / "calculator.json").write_text(json.dumps(content))
    with pytest.raises(ValueError, match=fragment):
        Calculator.from_pretrained(str(tmp_path))
