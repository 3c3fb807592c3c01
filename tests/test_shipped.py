"""The calculator shipped inside the package (hf_arith/pretrained/calc): it is what `hf-arith train --preset calc`
wrote, it answers long problems of every operation right (compared with Python integers) or not at all, and
`hf-arith calc` and `demo` use it without a folder. Each expert loads without hf_arith through trust_remote_code."""

import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

from hf_arith.calculator import Calculator, exact_value, parse_expression
from hf_arith.cli import main
from hf_arith.data.traces import make_trace
from hf_arith.loading import SHIPPED_CALCULATOR, read_calculator_file

from .test_hub import WITHOUT_HF_ARITH


@pytest.fixture(scope="module")
def shipped():
    return Calculator.from_pretrained(SHIPPED_CALCULATOR)


def test_the_shipped_folder_is_what_the_calc_preset_wrote():
    written = json.loads(open(os.path.join(SHIPPED_CALCULATOR, "calculator.json")).read())
    assert written["command"].startswith("hf-arith train --preset calc ") and "--seed" in written["command"]
    experts = read_calculator_file(SHIPPED_CALCULATOR)
    assert [e["preset"] for e in experts] == ["calc3", "add-length"]
    for expert in experts:
        folder = os.path.join(SHIPPED_CALCULATOR, expert["folder"])
        names = os.listdir(folder)
        assert "model.safetensors" in names and "README.md" in names
        assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl"))]  # no pickles
        results = json.loads(open(os.path.join(folder, "all_results.json")).read())
        assert results["hyperparameters"]["training"]["seed"] == expert["seed"]


def _problems(rng: random.Random, shipped: Calculator) -> list[str]:
    """Long problems of every operation within the shipped limits, and expressions whose intermediate values outgrow
    three digits."""
    plus, minus, times, divide = (shipped.skills.limit(op) for op in "+-*/")

    def number(digits: int) -> int:
        return rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10**digits)

    problems = []
    for _ in range(30):  # + at every scale up to the limit, lengths drawn independently
        problems.append(f"{number(rng.randint(1, plus))}+{number(rng.randint(1, plus))}")
    for digits in (plus, plus // 2, 50, 21):  # long carry chains: 999...9 + 1 and dense 9s
        problems += [f"{'9' * digits}+1", f"{'9' * digits}+{'9' * digits}"]
    for _ in range(20):
        problems.append(f"{number(rng.randint(1, minus))}-{number(rng.randint(1, minus))}")
        problems.append(f"{number(rng.randint(1, times))}*{number(rng.randint(1, times))}")
        problems.append(f"{number(rng.randint(1, divide))}/{max(1, number(rng.randint(1, divide)))}")
    problems += ["(999*999)+1", "(999*999)+(998*997)", "(123*456)+(789*321)+1", "5+(999*999)", "(100/7)*(99*9)"]
    return problems


def test_long_problems_of_every_operation_are_right_or_refused(shipped):
    problems = _problems(random.Random(0), shipped)
    results = shipped.run(problems)
    wrong, unanswered = [], []
    for text, result in zip(problems, results):
        python = exact_value(parse_expression(text))
        python = f"{python[0]}r{python[1]}" if isinstance(python, tuple) else str(python)
        if result.answer is None:
            unanswered.append((text, result.error))
        elif result.answer != python:
            wrong.append((text, result.answer, python))
    assert not wrong  # a wrong answer is never printed: it is right or it says it cannot answer
    assert not unanswered, unanswered[:3]
    # a step beyond every expert's measured limit is named, not guessed: 998001 - 5 needs a 6-digit subtraction
    (beyond,) = shipped.run(["-5+(999*999)"])
    assert beyond.answer is None and beyond.input_error
    assert "step 2 (998001-5): 998001 has 6 digits; this calculator takes operands of at most 3 digits for -" \
        in beyond.error


def test_calc_and_its_help_without_a_folder(capsys):
    assert main(["calc", "(999*999)+1", "1234+1", "98765432109876543210+12345678901234567890"]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == [
        "(999*999)+1 998002", "1234+1 1235", "98765432109876543210+12345678901234567890 111111111011111111100"]
    limit = Calculator.from_pretrained(SHIPPED_CALCULATOR).skills.limit("+")
    assert main(["calc", "1" * (limit + 1) + "+1"]) == 2
    assert f"this calculator takes operands of at most {limit}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["calc", "--help"])
    assert f"up to {limit} digits for +" in capsys.readouterr().out.replace("\n", " ")


REMOTE_EXPERT = WITHOUT_HF_ARITH + textwrap.dedent(
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, prompt = sys.argv[1], sys.argv[2]
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    ids = tok([prompt], return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=int(sys.argv[3]), do_sample=False)
    print(json.dumps({"text": tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True),
                      "imported_hf_arith": any(m.split(".")[0] == "hf_arith" for m in sys.modules)}))
    """
)


@pytest.mark.parametrize("a, op, b", [(999, "*", 999), (12345678901234567890123, "+", 98765)])
def test_each_expert_loads_without_hf_arith_and_computes_its_step(shipped, tmp_path, a, op, b):
    expert = shipped.skills.expert_for(a, op, b)
    prompt, completion = make_trace(a, op, b, expert.format, expert.pad_width)
    script = tmp_path / "remote_expert.py"
    script.write_text(REMOTE_EXPERT)
    folder = os.path.join(SHIPPED_CALCULATOR, expert.name)
    done = subprocess.run([sys.executable, str(script), folder, prompt, str(len(completion) + 1)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["imported_hf_arith"] is False
    assert result["text"] == completion  # the whole trace, right, from transformers alone
