"""Collator, metrics, the settings spec and the hf-arith command line, end to end on a small model (the session's
`trained` fixture: tests/tiny.py)."""

import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from hf_arith import AlignedPairTokenizer, ArithGPTConfig, ArithGPTForCausalLM, CharTokenizer
from hf_arith.batching import encode, left_pad
from hf_arith.cli import main
from hf_arith.data.traces import read_answer
from hf_arith.evaluation import ARITH_ACCURACY_PATH, arith_metrics
from hf_arith.evaluation.metrics import preprocess_logits_for_metrics, teacher_forced_metrics
from hf_arith.training import AnswerOnlyCollator, parse_train_args
from hf_arith.training.collator import stack_blocks
from hf_arith.training.presets import TRAINING_PRESETS


def test_seed_001_masking_example():
    tok = CharTokenizer()
    batch = AnswerOnlyCollator(tok)([{"prompt": "1+9=", "completion": "01"}])
    ids = [tok.convert_tokens_to_ids(c) for c in "1+9=01"] + [tok.eos_token_id]
    assert batch["input_ids"].tolist() == [ids]
    # loss only where the answer is predicted: after the shift, y = '0', '1', EOS
    assert batch["labels"].tolist() == [[-100, -100, -100, -100, ids[4], ids[5], tok.eos_token_id]]


def test_collator_left_pads_and_masks_padding():
    tok = AlignedPairTokenizer(max_digits=3)
    batch = AnswerOnlyCollator(tok)([{"prompt": "1+9=", "completion": "01"},
                                     {"prompt": "12+345=", "completion": "753"}])
    # both prompts are 5 tokens (op, 3 columns, '='); then answer + EOS: 2+1 and 3+1
    assert batch["input_ids"].shape == (2, 9)
    assert batch["attention_mask"][0].tolist() == [0] + [1] * 8
    assert batch["labels"][0, :6].eq(-100).all() and batch["labels"][0, 6:].ne(-100).all()
    assert batch["labels"][1, :5].eq(-100).all() and batch["labels"][1, 5:].ne(-100).all()
    assert batch["labels"][1, 5:].tolist() == [tok.convert_tokens_to_ids(c) for c in "753"] + [tok.eos_token_id]


def test_left_pad_puts_each_row_at_the_right_end():
    import random

    rng = random.Random(0)
    rows = [[rng.randrange(3, 50) for _ in range(rng.randrange(0, 12))] for _ in range(40)] + [[7] * 12]
    for fill in (None, -100):
        ids, mask = left_pad(rows, 1, fill=fill)
        assert ids.shape == mask.shape == (len(rows), 12)
        for row, got, m in zip(rows, ids.tolist(), mask.tolist()):  # row by row, as written by hand
            pad = 12 - len(row)
            assert got == [1 if fill is None else fill] * pad + row
            assert m == [0] * pad + [1] * len(row)


def test_collator_labels_are_the_completion_and_eos_only():
    tok = CharTokenizer()
    examples = [{"prompt": "123*45=", "completion": "0540;0480;0000=5355"}, {"prompt": "7/3=", "completion": "2r1"}]
    batch = AnswerOnlyCollator(tok)(examples)
    for ex, ids, labels in zip(examples, batch["input_ids"].tolist(), batch["labels"].tolist()):
        n = len(ex["completion"]) + 1
        assert labels[-n:] == ids[-n:] == encode(tok, ex["completion"]) + [tok.eos_token_id]
        assert set(labels[:-n]) == {-100}


def test_corpus_batches_are_stacked_blocks():
    blocks = [{"input_ids": torch.arange(i, i + 8), "labels": torch.arange(i, i + 8)} for i in range(3)]
    batch = stack_blocks(blocks)
    assert batch["input_ids"].tolist() == [list(range(i, i + 8)) for i in range(3)]
    assert torch.equal(batch["labels"], batch["input_ids"])


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), AlignedPairTokenizer(max_digits=4)])
def test_fast_encode_equals_the_tokenizer(tokenizer):
    for text in ["12+345=", "7/3=2r1", "0-99=", "3201=1023", "5+8+0=13;4+7+1=12"]:
        assert encode(tokenizer, text) == tokenizer(text)["input_ids"]


def test_metrics_and_evaluate_module_offline():
    import evaluate

    metric = evaluate.load(ARITH_ACCURACY_PATH)
    result = metric.compute(predictions=["3201", "12", "5=9r2"], references=["3201", "13", "4=9r2"],
                            prompts=["345+678=", "3+9=", "29/3="])
    assert result["exact_match"] == pytest.approx(1 / 3)
    assert result["answer_exact_match"] == pytest.approx(2 / 3)  # the wrong step still ends in the right answer
    assert result["char_accuracy"] == pytest.approx((4 + 1 + 4) / (4 + 2 + 5))
    assert result["by_digits"] == {"1x1": 0.0, "2x1": 0.0, "3x3": 1.0}
    assert result["by_operation"] == {"+": 0.5, "/": 0.0}
    assert result["by_operation_digits"] == {"+": {"1x1": 0.0, "3x3": 1.0}, "/": {"2x1": 0.0}}
    assert arith_metrics(["1"], ["1"]) == {"exact_match": 1.0, "answer_exact_match": 1.0, "char_accuracy": 1.0}


def test_a_calculator_gets_one_heatmap_per_operation(tmp_path):
    from hf_arith.training.tasks import write_suite_figures

    metrics = arith_metrics(["3201", "12", "5=9r2"], ["3201", "13", "4=9r2"], prompts=["345+678=", "3+9=", "29/3="])
    settings = SimpleNamespace(min_digits=1, max_digits=3)
    write_suite_figures(str(tmp_path), {"test": metrics}, "calc", settings)
    single = arith_metrics(["3201"], ["3201"], prompts=["345+678="])
    write_suite_figures(str(tmp_path), {"uniform": single}, "add", settings)
    assert sorted(os.listdir(tmp_path)) == ["heatmap_test.png", "heatmap_test_by_operation.png", "heatmap_uniform.png"]


def test_answer_exact_match_of_answer_only_formats_is_the_whole_completion():
    # An untrained model's "12=3" must not count as the answer "3" of the plain reference "123".
    assert arith_metrics(["12=3"], ["123"], fmt="plain")["answer_exact_match"] == 0.0
    assert arith_metrics(["12=3"], ["123"])["answer_exact_match"] == 0.0  # the reference has no '=': all of it
    assert arith_metrics(["9=0123"], ["3201=0123"], fmt="reverse_cot")["answer_exact_match"] == 1.0


def _teacher_forced(tokenizer, fmt, predicted: str, reference: str) -> dict:
    """teacher_forced_metrics on one row whose label positions hold `reference`+EOS and the argmax `predicted`."""
    def ids(text):
        return [tokenizer.eos_token_id if ch == "$" else tokenizer.convert_tokens_to_ids(ch) for ch in text]

    labels = np.array([[-100, -100] + ids(reference)])
    predictions = np.array([[0, 0] + ids(predicted)])
    return teacher_forced_metrics(tokenizer, fmt)(SimpleNamespace(predictions=predictions, label_ids=labels))


def test_teacher_forced_exact_match_counts_where_eos_falls():
    tok = CharTokenizer()
    assert _teacher_forced(tok, "reversed", "12$", "12$")["exact_match"] == 1.0
    early = _teacher_forced(tok, "reversed", "1$2", "12$")  # EOS one step early: it would stop after "1"
    assert early["exact_match"] == 0.0 and early["answer_exact_match"] == 0.0
    assert early["token_accuracy"] == pytest.approx(1 / 3)


def test_teacher_forced_answer_match_of_plain_and_chain_of_thought():
    tok = CharTokenizer()
    # plain: the whole completion is the answer, so an "=" inside it is simply wrong
    assert _teacher_forced(tok, "plain", "1=3$", "123$")["answer_exact_match"] == 0.0
    # cot: only the part after the reference's last "=" is the answer
    cot = _teacher_forced(tok, "cot", "1+2+0=04=3$", "1+2+0=03=3$")
    assert cot["exact_match"] == 0.0 and cot["answer_exact_match"] == 1.0


def test_teacher_forced_predictions_are_shifted_argmax():
    logits = torch.zeros(1, 4, 5)
    for t, token in enumerate([3, 1, 4, 2]):
        logits[0, t, token] = 1.0
    assert preprocess_logits_for_metrics(logits, None).tolist() == [[-100, 3, 1, 4]]


@pytest.mark.parametrize("completion, op, fmt, answer", [
    ("3201", "+", "reversed", "1023"), ("0520", "+", "reversed", "250"), ("-333", "-", "plain", "-333"),
    ("94r2", "/", "reversed", "49r2"), ("0933[0933]=233910", "*", "cot", "233910"), ("12x", "+", "plain", None),
    ("-000", "-", "plain", "0"), ("3=0r3;34=4r6;65=9r2=49r2", "/", "cot", "49r2"), ("", "+", "plain", None),
])
def test_read_answer(completion, op, fmt, answer):
    assert read_answer(completion, op, fmt) == answer


def test_settings_precedence_preset_then_config_file_then_flags(tmp_path):
    config = tmp_path / "args.yaml"
    config.write_text("max_steps: 77\nlearning_rate: 0.002\nn_layer: 3\n")
    spec = parse_train_args(["--preset", "add9", "--config", str(config), "--n_layer", "4"])
    assert spec.data.max_digits == 9 and spec.training.per_device_train_batch_size == 256  # from the preset
    assert spec.training.max_steps == 77 and spec.training.learning_rate == 0.002  # from the file
    assert spec.model.n_layer == 4  # the flag wins
    assert spec.training.output_dir == "outputs/add9"


def test_a_preset_named_in_the_config_file_is_honoured_in_full(tmp_path):
    config = tmp_path / "args.json"
    config.write_text(json.dumps({"preset": "mul3-reverse_sum_cot"}))
    spec = parse_train_args(["--config", str(config)])
    assert spec.run.preset == "mul3-reverse_sum_cot" and spec.data.operations == "*"
    assert spec.model.tokenizer == "char" and spec.model.n_layer == 3  # the model follows the preset too
    assert spec.training.per_device_train_batch_size == 64
    assert spec.training.output_dir == "outputs/mul3-reverse_sum_cot"


@pytest.mark.parametrize("name", sorted(TRAINING_PRESETS))
def test_every_preset_resolves_to_a_valid_spec(name):
    spec = parse_train_args(["--preset", name])
    assert spec.run.preset == name and spec.training.output_dir == f"outputs/{name}"
    for key, value in TRAINING_PRESETS[name].items():  # every preset value lands in the spec unchanged
        holder = next(part for part in (spec.model, spec.data, spec.run, spec.training) if hasattr(part, key))
        assert getattr(holder, key) == value, key


def test_train_writes_a_hub_ready_folder(trained):
    out, _ = trained
    names = set(os.listdir(out))
    assert {"model.safetensors", "config.json", "tokenizer_config.json", "modeling_arith_gpt.py", "README.md",
            "heatmap_test.png", "heatmap_full_width.png", "training_curves.png", "all_results.json",
            "training_history.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl"))]
    card = (out / "README.md").read_text()
    assert card.startswith("---") and "model-index" in card and "exact match" in card
    assert "pypi.org" not in card and "modeling_arith_gpt.py" in card
    config = json.loads((out / "config.json").read_text())
    assert config["arith_data"]["format"] == "reversed" and config["arith_data"]["zero_pad"] is True
    # the card names the exact command and a runnable example for this model's own operation and padding
    results = json.loads((out / "all_results.json").read_text())
    assert "hf-arith train --preset add3 --max_digits 2" in card and "hf-arith calc" in card and "12+03" in card
    assert results["command"].startswith("hf-arith train --preset add3") and "CPU" in results["hardware"]
    assert results["global_step"] == 600 and results["seconds_to_target"] is None  # no target: the whole schedule


def test_eval_of_the_test_split_scores_what_training_recorded(trained, capsys):
    out, cache = trained
    recorded = json.loads((out / "all_results.json").read_text())["evaluation"]["test"]["exact_match"]
    assert main(["eval", str(out), "--suite", "test", "--no_save", "--data_cache_dir", str(cache)]) == 0
    assert re.search(rf"^test +exact match +{100 * recorded:.3f} %", capsys.readouterr().out, re.M)


def test_recorded_test_score_is_the_models_own_and_right(trained):
    """all_results.json's test exact match equals an independent recount: generate with plain `generate`, read the
    reversed digits back and compare with Python integers."""
    out, cache = trained
    results = json.loads((out / "all_results.json").read_text())
    test = results["evaluation"]["test"]
    from hf_arith.data import load_traces
    from hf_arith.data.settings import ArithmeticDataSettings

    settings = json.loads((out / "config.json").read_text())["arith_data"]
    data = load_traces(ArithmeticDataSettings.from_saved(settings), str(cache))
    tokenizer = AlignedPairTokenizer.from_pretrained(out)
    model = ArithGPTForCausalLM.from_pretrained(out).eval()
    batch = tokenizer(list(data["test"]["prompt"]), return_tensors="pt", padding=True)
    generated = model.generate(**batch, max_new_tokens=5, do_sample=False)[:, batch["input_ids"].shape[1]:]
    right = 0
    for row, a, b in zip(generated.tolist(), data["test"]["a"], data["test"]["b"]):
        text = tokenizer.decode(row, skip_special_tokens=True)
        ends = row[len(text)] == tokenizer.eos_token_id
        right += text[::-1].isdigit() and int(text[::-1]) == int(a) + int(b) and ends
    assert test["num_problems"] == len(data["test"]) == 500
    assert test["exact_match"] == pytest.approx(right / 500)
    assert test["exact_match"] >= 0.98  # the schedule learns 2-digit addition (100 % for seeds 0-2 when measured)


def test_accuracy_vs_time_plot(trained, tmp_path):
    from hf_arith.evaluation.plots import save_accuracy_vs_time

    out, _ = trained
    save_accuracy_vs_time([str(out), str(out)], str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no training_history.json"):
        save_accuracy_vs_time([str(tmp_path)], str(tmp_path / "other.png"))


def test_accuracy_vs_time_plot_names_each_curve_as_asked(trained, tmp_path, monkeypatch):
    from hf_arith.evaluation import plots

    out, _ = trained
    legends = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: legends.append(
        [t.get_text() for t in fig.axes[0].get_legend().get_texts()]))
    plots.save_accuracy_vs_time([str(out), str(out)], str(tmp_path / "plot.png"), labels=["first", "second"])
    plots.save_accuracy_vs_time([str(out)], str(tmp_path / "plot.png"))
    assert legends == [["first", "second"], [out.name]]
    with pytest.raises(ValueError, match="1 labels for 2 folders"):
        plots.save_accuracy_vs_time([str(out), str(out)], str(tmp_path / "plot.png"), labels=["one"])


def test_calc_answers_are_the_sums(trained, capsys, monkeypatch):
    out, _ = trained
    problems = ["12+34", "99+1", "0+0", "50+50", "7+93", "99+99"]
    assert main(["calc", str(out), *problems]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{p} {sum(map(int, p.split('+')))}" for p in problems]
    monkeypatch.setattr("sys.stdin", io.StringIO("1+2\n\n40+2\n"))
    assert main(["calc", str(out), "--answer-only"]) == 0
    assert capsys.readouterr().out.splitlines() == ["3", "42"]


def test_eval_scores_suites_and_saves_them_into_the_folder(trained, capsys):
    out, cache = trained
    before = json.loads((out / "all_results.json").read_text())["evaluation"]
    test_heatmap = (out / "heatmap_test.png").read_bytes()
    assert main(["eval", str(out), "--suite", "validation,exhaustive", "--data_cache_dir", str(cache)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^validation +exact match", printed, re.M) and re.search(r"^exhaustive +exact", printed, re.M)
    after = json.loads((out / "all_results.json").read_text())["evaluation"]
    exhaustive = after["exhaustive"]
    assert exhaustive["num_problems"] == 100 * 100  # every 2-digit addition, operands 0-99
    assert exhaustive["num_in_train"] == 6000  # the whole training split is in the space
    assert after["uniform"] == before["uniform"]  # suites not asked for are kept as they were
    card = (out / "README.md").read_text()
    assert "| `exhaustive` | 10,000 |" in card and "split: exhaustive" in card  # table row and model-index entry
    assert (out / "heatmap_exhaustive.png").exists()
    assert (out / "heatmap_test.png").read_bytes() == test_heatmap  # another suite never overwrites it


def test_eval_refuses_a_folder_it_cannot_save_into_before_evaluating(trained, tmp_path, capsys):
    out, cache = trained
    readonly = tmp_path / "model"
    shutil.copytree(out, readonly)
    # Permission bits do not stop root (CI runs as root): make the folder immutable instead.
    if subprocess.run(["chattr", "+i", str(readonly / "all_results.json"), str(readonly)], check=False,
                      capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem")
    try:
        assert main(["eval", str(readonly), "--suite", "test", "--data_cache_dir", str(cache)]) == 2
        captured = capsys.readouterr()
        assert "pass --no_save" in captured.err and captured.out == ""  # refused before any evaluation ran
        assert main(["eval", str(readonly), "--suite", "test", "--no_save", "--data_cache_dir", str(cache)]) == 0
        assert "exact match" in capsys.readouterr().out
    finally:
        subprocess.run(["chattr", "-i", str(readonly / "all_results.json"), str(readonly)], check=True)


@pytest.mark.parametrize("results", [None, "{}", "[]", '{"evaluation": [], "preset": "add3"}'])
def test_eval_refuses_a_folder_without_finished_results_before_evaluating(trained, tmp_path, capsys, results):
    # a copied checkpoint, an emptied results file: refused before the work, and no file is left behind
    out, cache = trained
    copy = tmp_path / "model"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("checkpoint-*"))
    (copy / "all_results.json").unlink()
    if results is not None:
        (copy / "all_results.json").write_text(results)
    before = sorted(p.name for p in copy.iterdir())
    assert main(["eval", str(copy), "--suite", "test", "--data_cache_dir", str(cache)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "pass --no_save" in err and len(err.splitlines()) == 1 and captured.out == ""
    assert sorted(p.name for p in copy.iterdir()) == before  # no empty all_results.json, no probe


def test_calc_takes_options_and_problems_in_any_order(trained, capsys):
    out, _ = trained
    assert main(["calc", str(out), "--answer-only", "12+34", "--batch_size", "5", "40+2"]) == 0
    assert capsys.readouterr().out == "46\n42\n"


@pytest.fixture(scope="module")
def never_finishes(tmp_path_factory):
    """A model that never emits EOS: every position's hidden state is one vector v (ln_f weight 0, bias v), and
    EOS's output row is -10 v, so EOS always has the lowest logit."""
    out = tmp_path_factory.mktemp("never")
    tokenizer = AlignedPairTokenizer(max_digits=2)
    torch.manual_seed(0)
    config = ArithGPTConfig(vocab_size=tokenizer.vocab_size, n_positions=16, n_embd=32, n_head=2, n_layer=1,
                            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    model = ArithGPTForCausalLM(config)
    with torch.no_grad():
        v = torch.randn(32)
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(v)
        model.lm_head.weight[tokenizer.eos_token_id] = -10 * v
    model.config.arith_data = {"task": "arithmetic", "operations": "+", "min_digits": 1, "max_digits": 2,
                               "format": "reversed", "zero_pad": True, "train_size": 10, "validation_size": 5,
                               "test_size": 5, "problem_seed": 0}
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_calc_marks_unfinished_problems_and_prints_every_answer(never_finishes, capsys):
    assert main(["calc", str(never_finishes), "12+34", "1+2"]) == 1  # non-zero at the end: problems failed
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["12+34 ?", "1+2 ?"]  # every problem has its line, in order
    assert captured.err.count("no end of sequence within 4 tokens") == 2  # 3 answer digits + EOS


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--preset", "add4"], "unknown preset 'add4'"),
    (["train", "--operations", "+%"], "'+%'"),
    (["train", "--max_digits", "0"], "max_digits must be an int >= 1, got 0"),
    (["train", "--no_such_flag", "1"], "--no_such_flag"),
    (["train", "--max_train_seconds", "0"], "--max_train_seconds must be positive, got 0.0"),
    (["train", "--target_exact_match", "1.5"], "--target_exact_match must be in [0, 1]"),
    (["calc", "/no/such/model", "1+2"], "does not exist"),
    (["eval", "/no/such/model"], "does not exist"),
])
def test_bad_cli_input_exits_2_with_one_line(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "outputs").exists()  # nothing half-written


def test_malformed_calc_problem_prints_nothing(trained, capsys, monkeypatch):
    out, _ = trained
    assert main(["calc", str(out), "12+34", "12+x"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "argument 2: character 'x' in '12+x'" in captured.err
    monkeypatch.setattr("sys.stdin", io.StringIO("1+2\n\n12+x\n4+4\n"))
    assert main(["calc", str(out)]) == 2  # a bad line of a batch is named by its line number, nothing is printed
    captured = capsys.readouterr()
    assert captured.out == "" and "line 3: character 'x'" in captured.err


def test_calc_expressions_run_every_step_through_the_model(trained, capsys):
    out, _ = trained
    assert main(["calc", str(out), "12+34+5", "(1+2)+(3+4)", "--trace"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "12+34+5 51" and lines[5] == "(1+2)+(3+4) 10"
    assert lines[1].startswith("  step 1: 12+34=64") and lines[3].startswith("  step 2: 46+05=150")  # reversed
    # each answer checked by the model (b + a) before it is used
    assert lines[2].startswith("    check of step 1: 34+12=64")
    assert lines[4].startswith("    check of step 2: 05+46=150")
    assert all(line.endswith("[valid]") for line in lines if line.lstrip().startswith(("step", "check")))
    assert len(lines) == 12 and main(["calc", str(out), "12+34+5", "--trace", "--no_check"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [lines[1], lines[3]]


def test_calc_names_a_step_the_model_cannot_take_and_keeps_the_other_answers(trained, capsys):
    out, _ = trained
    # 198 has 3 digits: this 2-digit model cannot add it; -5+3 needs the subtraction it never learned
    assert main(["calc", str(out), "99+99+1", "-5+3", "20+22"]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["99+99+1 ?", "-5+3 ?", "20+22 42"]
    assert "step 2 (198+1): 198 has 3 digits" in captured.err
    assert "step 1 (3-5): this model was trained on '+' only" in captured.err


def test_console_script_exit_code():
    done = subprocess.run([sys.executable, "-m", "hf_arith.cli", "calc"], capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_shakespeare_style_corpus_end_to_end(tmp_path, caplog, capsys):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40)
    out = tmp_path / "lm"
    assert main(["train", "--preset", "shakespeare-char", "--corpus_file", str(corpus), "--max_steps", "20",
                 "--eval_steps", "10", "--save_steps", "20", "--n_layer", "1", "--n_embd", "32",
                 "--block_size", "16", "--disable_tqdm", "true", "--output_dir", str(out), "--use_cpu", "true"]) == 0
    results = json.loads((out / "all_results.json").read_text())
    assert results["evaluation"]["validation_loss_nats_per_char"] == results["validation"]["eval_loss"]
    assert "heatmap.png" not in os.listdir(out)  # no arithmetic figures for a corpus
    # scripts/block_loss.py at the model's own block size is the final evaluation's figure (every validation block)
    from block_loss import main as block_loss_main

    capsys.readouterr()
    assert block_loss_main(["--model_dir", str(out), "--block_size", "16", "--corpus_file", str(corpus)]) == 0
    loss = float(capsys.readouterr().out.split()[1])
    assert loss == pytest.approx(results["validation"]["eval_loss"], abs=2e-4)
    assert block_loss_main(["--model_dir", str(out), "--block_size", "17", "--corpus_file", str(corpus)]) == 2
    assert "block_size must be in [2, 16]" in capsys.readouterr().err
    sample = ["sample", str(out), "--prompt", "First", "--max_new_tokens", "30", "--top_k", "5", "--seed", "3"]
    capsys.readouterr()
    assert main(sample) == 0
    first = capsys.readouterr().out
    assert main(sample) == 0
    assert capsys.readouterr().out == first and first.startswith("First")  # same seed, same sample
    assert main(["sample", str(out), "--prompt", "Fir%"]) == 2
    assert "character '%'" in capsys.readouterr().err


def test_a_tiny_length_generalization_run_end_to_end(tmp_path, capsys):
    out = tmp_path / "length"
    argv = ["train", "--preset", "add-length", "--max_digits", "4", "--train_size", "3000", "--validation_size", "100",
            "--test_size", "100", "--tokenizer_max_digits", "12", "--n_layer", "1", "--n_embd", "32", "--max_steps",
            "30", "--eval_steps", "30", "--save_steps", "30", "--per_device_train_batch_size", "32",
            "--max_train_seconds", "600", "--suites", "test,length_8,hard_8", "--suite_size", "50", "--disable_tqdm",
            "true",
            "--use_cpu", "true", "--output_dir", str(out), "--data_cache_dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["position_embedding"] == "coupled" and config["pair_token_ids"]
    # the recipe: problems padded to their longer operand, the operator as sentinel, an attention window of one id
    assert config["arith_data"]["pad_to_longer"] and config["coupled_markers"] == "sentinel"
    assert config["coupled_attention_window"] == 1 and config["operator_token_ids"]
    results = json.loads((out / "all_results.json").read_text())["evaluation"]
    assert results["hard_8"]["num_problems"] == 50
    assert results["length_8"]["num_problems"] == 50 and (out / "accuracy_vs_length.png").exists()
    assert main(["eval", str(out), "--lengths", "6,12", "--length_size", "20", "--data_cache_dir",
                 str(tmp_path / "cache")]) in (0, 1)
    recorded = json.loads((out / "all_results.json").read_text())["evaluation"]
    assert {"length_6", "length_8", "length_12"} <= set(recorded)
    assert main(["eval", str(out), "--lengths", "13", "--no_save"]) == 2  # beyond the tokenizer's 12 digits
    assert "suite 'length_13' has 13-digit operands; this model takes at most 12" in capsys.readouterr().err


def test_plot_runs_draws_accuracy_against_length_per_folder(tmp_path, capsys):
    from plot_runs import main as plot_main  # scripts/ is on sys.path (conftest)

    folders = []
    for name, points in (("coupled", {10: 1.0, 50: 0.6}), ("rope", {10: 0.9, 50: 0.0})):
        folder = tmp_path / name
        folder.mkdir()
        evaluation = {f"length_{n}": {"exact_match": v} for n, v in points.items()}
        (folder / "all_results.json").write_text(json.dumps({"evaluation": {"test": {"exact_match": 1}, **evaluation}}))
        (folder / "config.json").write_text(json.dumps({"arith_data": {"min_digits": 1, "max_digits": 20}}))
        folders.append(str(folder))
    out = tmp_path / "lengths.png"
    assert plot_main(["--lengths", "true", "--run_dirs", *folders, "--output", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "rope" / "all_results.json").write_text(json.dumps({"evaluation": {"test": {"exact_match": 1}}}))
    assert plot_main(["--lengths", "true", "--run_dirs", *folders, "--output", str(out)]) == 2
    assert "has no length_N results" in capsys.readouterr().err


def test_a_run_the_budget_cuts_short_ends_annealed_and_says_so(tmp_path, caplog):
    """--max_train_seconds on a schedule far longer than the budget: training stops at the budget with the learning
    rate decayed (the decay followed the clock; by steps alone it would still be at its peak), and the summary and the
    card say the budget cut it. No warm-up, so the peak is the first step's rate however few steps a loaded machine
    runs; each step's rate comes from the clock at the end of the step before, so the last one is within a step of 0."""
    import logging

    from .tiny import TINY

    out = tmp_path / "cut"
    with caplog.at_level(logging.INFO, logger="hf_arith"):
        assert main(["train", *TINY, "--max_steps", "1000000", "--warmup_steps", "0", "--save_steps", "50",
                     "--eval_steps", "1000", "--logging_steps", "1", "--max_train_seconds", "4", "--suites", "test",
                     "--output_dir", str(out), "--data_cache_dir", str(tmp_path / "cache")]) == 0
    results = json.loads((out / "all_results.json").read_text())
    steps = results["global_step"]
    assert results["stopped_by_time_budget"] and results["max_train_seconds"] == 4 and 3 <= steps < 1_000_000
    history = json.loads((out / "training_history.json").read_text())
    logged = [(entry["elapsed_s"], entry["learning_rate"]) for entry in history if "learning_rate" in entry]
    rates = [rate for _, rate in logged]
    assert rates[0] == pytest.approx(3e-3, rel=0.01) and all(a >= b for a, b in zip(rates, rates[1:]))
    longest_step = max(b - a for (a, _), (b, _) in zip(logged, logged[1:]))
    # cosine at q >= (4 s - two steps) / 4 s: the rate the clock schedule allows at the end
    bound = 0.5 * (1 + math.cos(math.pi * max(0.0, 1 - 2 * longest_step / 4))) * 3e-3
    assert rates[-1] <= bound + 1e-9 and rates[-1] < 0.5 * 3e-3
    said = f"the wall-clock budget (--max_train_seconds 4) cut training short: {steps:,} of 1,000,000 steps ran"
    assert said in caplog.text and said in (out / "README.md").read_text()


def test_eval_cells_scores_every_cell_and_records_the_worst(trained, tmp_path, capsys):
    import shutil

    out, cache = trained
    copy = tmp_path / "model"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("checkpoint-*"))
    assert main(["eval", str(copy), "--suite", "cells", "--cell_size", "40", "--data_cache_dir", str(cache)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cells"))
    cells = json.loads((copy / "all_results.json").read_text())["evaluation"]["cells"]
    assert cells["num_problems"] == 4 * 40 and set(cells["by_digits"]) == {"1x1", "1x2", "2x1", "2x2"}
    worst = cells["worst_cell"]
    assert worst["exact_match"] == min(cells["by_operation_digits"]["+"].values()) and worst["operation"] == "+"
    assert f"worst cell + {worst['cell']} {100 * worst['exact_match']:.2f} %" in line
    card = (copy / "README.md").read_text()
    assert f"worst cell exact match (+ {worst['cell']})" in card and "Worst cell of `cells`" in card
    assert (copy / "heatmap_cells.png").exists()


def test_periodic_evaluations_score_a_fixed_sample_and_the_final_one_every_block(tmp_path):
    from hf_arith.data.corpus import corpus_datasets, periodic_sample

    _, validation = corpus_datasets(list(range(50)) * 100, 16, 10, seed=0)
    sample = periodic_sample(validation, 20, seed=0)
    assert len(sample) == 20 and sample == periodic_sample(validation, 20, seed=0)  # the same at every evaluation
    assert all(any(torch.equal(s["input_ids"], v["input_ids"]) for v in validation) for s in sample)
    assert periodic_sample(validation, None, 0) is validation and periodic_sample(validation, 10**6, 0) is validation

    corpus = tmp_path / "tiny.txt"
    corpus.write_text("".join(chr(97 + (i * 7) % 26) for i in range(20_000)))
    out = tmp_path / "lm"
    assert main(["train", "--preset", "shakespeare-char", "--corpus_file", str(corpus), "--max_steps", "20",
                 "--eval_steps", "10", "--save_steps", "20", "--n_layer", "1", "--n_embd", "32", "--block_size", "16",
                 "--eval_blocks", "8", "--per_device_eval_batch_size", "4", "--disable_tqdm", "true",
                 "--output_dir", str(out), "--use_cpu", "true"]) == 0
    history = json.loads((out / "training_history.json").read_text())
    def blocks(metrics):  # the Trainer reports samples/s and seconds
        return metrics["eval_samples_per_second"] * metrics["eval_runtime"]

    periodic = [blocks(e) for e in history if "eval_loss" in e and e["step"] in (10, 20)][:2]
    # the periodic evaluations score the sample of 8 blocks; the final one all 125 (2,000 validation characters / 16)
    assert periodic == pytest.approx([8, 8], rel=0.1)
    assert blocks(json.loads((out / "all_results.json").read_text())["validation"]) == pytest.approx(125, rel=0.1)


def test_help_leaves_out_the_measured_alternatives_that_help_all_shows(capsys):
    from hf_arith.training.arguments import MEASURED_ALTERNATIVES

    defaults = {"coupled_max_offset": 0, "division_guess_noise": 0.0, "focus_within": "all", "focus_cases": False}
    assert set(defaults) == set(MEASURED_ALTERNATIVES)
    for name, preset in TRAINING_PRESETS.items():  # no recipe needs one: else --help would hide a recipe's option
        assert all(preset.get(key, value) == value for key, value in defaults.items()), name
    for flag, shown in (("--help", False), ("--help_all", True)):
        with pytest.raises(SystemExit) as exit_:
            parse_train_args([flag])
        assert exit_.value.code == 0
        printed = capsys.readouterr().out
        assert "--focus_share" in printed  # a preset's option is always listed
        for name in MEASURED_ALTERNATIVES:
            assert (f"--{name}" in printed) is shown, name
        assert ("cot_div_check_aligned" in printed) is shown


def test_the_minimal_script_trains_and_scores_against_python_integers(tmp_path, capsys):
    import minimal_train  # scripts/, on the path (conftest)

    out = tmp_path / "minimal"
    result = minimal_train.main(["--max_digits", "2", "--train_size", "5000", "--test_problems", "300",
                                 "--max_steps", "300", "--output_dir", str(out), "--disable_tqdm", "true"])
    assert result["problems"] == 300 and result["exact_match"] >= 0.95  # 99.67 % measured (seed 0)
    assert f"{result['right']} of 300 right" in capsys.readouterr().out
    model = ArithGPTForCausalLM.from_pretrained(out)  # what it saved is an ordinary model folder
    tokenizer = AlignedPairTokenizer.from_pretrained(out)
    ids = torch.tensor([encode(tokenizer, "12+34=")])
    written = model.generate(ids, max_new_tokens=4, do_sample=False)[0, ids.shape[1]:].tolist()
    assert tokenizer.decode(written, skip_special_tokens=True) == "640"  # 46: reversed, zero-padded to 3 digits
