"""Collator, metrics and the hf-arith command line, end to end on tiny settings."""

import json
import os
import subprocess
import sys

import pytest
import torch

from hf_arith import AlignedPairTokenizer, CharTokenizer
from hf_arith.cli import answer_from_completion, main
from hf_arith.training import ARITH_ACCURACY_PATH, AnswerOnlyCollator, arith_metrics, encode
from hf_arith.training.metrics import preprocess_logits_for_metrics

TINY = ["--preset", "add3", "--max_digits", "2", "--train_size", "3000", "--validation_size", "200",
        "--test_size", "300", "--n_layer", "1", "--n_embd", "32", "--n_head", "2", "--max_steps", "30",
        "--eval_steps", "15", "--save_steps", "15", "--logging_steps", "5", "--per_device_train_batch_size", "64",
        "--disable_tqdm", "true", "--use_cpu", "true"]


def test_seed_001_masking_example():
    tok = CharTokenizer()
    batch = AnswerOnlyCollator(tok)([{"prompt": "1+9=", "completion": "01"}])
    ids = [tok.convert_tokens_to_ids(c) for c in "1+9=01"] + [tok.eos_token_id]
    assert batch["input_ids"].tolist() == [ids]
    # loss only where the answer is predicted: after the shift, y = '0', '1', EOS
    assert batch["labels"].tolist() == [[-100, -100, -100, -100, ids[4], ids[5], tok.eos_token_id]]


def test_collator_left_pads_and_masks_padding():
    tok = AlignedPairTokenizer(max_digits=3)
    batch = AnswerOnlyCollator(tok)([{"prompt": "1+9=", "completion": "01"}, {"prompt": "12+345=", "completion": "753"}])
    # both prompts are 5 tokens (op, 3 columns, '='); then answer + EOS: 2+1 and 3+1
    assert batch["input_ids"].shape == (2, 9)
    assert batch["attention_mask"][0].tolist() == [0] + [1] * 8
    assert batch["labels"][0, :6].eq(-100).all() and batch["labels"][0, 6:].ne(-100).all()
    assert batch["labels"][1, :5].eq(-100).all() and batch["labels"][1, 5:].ne(-100).all()


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
    assert arith_metrics(["1"], ["1"]) == {"exact_match": 1.0, "answer_exact_match": 1.0, "char_accuracy": 1.0}


def test_teacher_forced_predictions_are_shifted_argmax():
    logits = torch.zeros(1, 4, 5)
    for t, token in enumerate([3, 1, 4, 2]):
        logits[0, t, token] = 1.0
    assert preprocess_logits_for_metrics(logits, None).tolist() == [[-100, 3, 1, 4]]


@pytest.mark.parametrize("completion, op, fmt, answer", [
    ("3201", "+", "reversed", "1023"), ("0520", "+", "reversed", "250"), ("-333", "-", "plain", "-333"),
    ("94r2", "/", "reversed", "49r2"), ("0933[0933]=233910", "*", "cot", "233910"), ("12x", "+", "plain", "?"),
])
def test_answer_from_completion(completion, op, fmt, answer):
    assert answer_from_completion(completion, op, fmt) == answer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "model"
    cache = tmp_path_factory.mktemp("cache")
    assert main(["train", *TINY, "--output_dir", str(out), "--data_cache_dir", str(cache)]) == 0
    return out, cache


def test_train_writes_a_hub_ready_folder(trained):
    out, _ = trained
    names = set(os.listdir(out))
    assert {"model.safetensors", "config.json", "tokenizer_config.json", "modeling_arith_gpt.py", "README.md",
            "heatmap.png", "training_curves.png", "all_results.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl"))]
    card = (out / "README.md").read_text()
    assert card.startswith("---") and "model-index" in card and "exact match" in card
    results = json.loads((out / "all_results.json").read_text())
    assert results["world_size"] == 1 and 0 <= results["test"]["exact_match"] <= 1
    config = json.loads((out / "config.json").read_text())
    assert config["arith_data"]["format"] == "reversed" and config["arith_data"]["zero_pad"] is True
    # the card names the exact command and a runnable example for this model's own operation and padding
    assert "hf-arith train --preset add3 --max_digits 2" in card and "hf-arith calc" in card and "12+03" in card
    assert results["command"].startswith("hf-arith train --preset add3") and "CPU" in results["hardware"]


def test_accuracy_vs_time_plot(trained, tmp_path):
    from hf_arith.training.artifacts import save_accuracy_vs_time

    out, _ = trained
    save_accuracy_vs_time([str(out), str(out)], str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no training_history.json"):
        save_accuracy_vs_time([str(tmp_path)], str(tmp_path / "other.png"))


def test_calc_and_eval_on_the_trained_folder(trained, capsys, monkeypatch):
    out, cache = trained
    assert main(["calc", str(out), "12+34", "99+1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["12+34", "99+1"]
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("1+2\n\n40+2\n"))
    assert main(["calc", str(out), "--answer-only"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["eval", str(out), "--data_cache_dir", str(cache), "--heatmap", str(out / "eval.png")]) == 0
    printed = capsys.readouterr().out
    assert "exact_match" in printed and (out / "eval.png").exists()


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--preset", "add4"], "unknown preset 'add4'"),
    (["train", "--operations", "+%"], "'+%'"),
    (["train", "--max_digits", "0"], "max_digits must be a positive int, got 0"),
    (["train", "--no_such_flag", "1"], "--no_such_flag"),
    (["train", "--max_train_seconds", "0"], "--max_train_seconds must be positive, got 0.0"),
    (["calc", "/no/such/model", "1+2"], "does not exist"),
    (["eval", "/no/such/model"], "does not exist"),
])
def test_bad_cli_input_exits_2_with_one_line(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "outputs").exists()  # nothing half-written


def test_malformed_calc_problem_prints_nothing(trained, capsys):
    out, _ = trained
    assert main(["calc", str(out), "12+34", "12+x"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "malformed problem '12+x'" in captured.err


def test_console_script_exit_code():
    done = subprocess.run([sys.executable, "-m", "hf_arith.cli", "calc"], capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_shakespeare_style_corpus_end_to_end(tmp_path, capsys):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40)
    out = tmp_path / "lm"
    assert main(["train", "--preset", "shakespeare-char", "--corpus_file", str(corpus), "--max_steps", "20",
                 "--eval_steps", "10", "--save_steps", "20", "--n_layer", "1", "--n_embd", "32",
                 "--block_size", "16", "--disable_tqdm", "true", "--output_dir", str(out), "--use_cpu", "true"]) == 0
    assert "validation loss" in capsys.readouterr().out
    sample = ["sample", str(out), "--prompt", "First", "--max_new_tokens", "30", "--top_k", "5", "--seed", "3"]
    assert main(sample) == 0
    first = capsys.readouterr().out
    assert main(sample) == 0
    assert capsys.readouterr().out == first and first.startswith("First")  # same seed, same sample
    assert main(["sample", str(out), "--prompt", "Fir%"]) == 2
    assert "character '%'" in capsys.readouterr().err
