"""--focus_share: a share of the training rows drawn by cell, each cell weighted by its probe loss."""

import json
import math
from collections import Counter

import pytest
import torch
from datasets import Dataset

from hf_arith.cli import main
from hf_arith.configuration_arith_gpt import ArithGPTConfig
from hf_arith.data.traces import make_trace
from hf_arith.modeling_arith_gpt import ArithGPTForCausalLM
from hf_arith.tokenization_char_fast import CharTokenizerFast
from hf_arith.training import AnswerOnlyCollator, parse_train_args
from hf_arith.training.focus import FocusCallback, FocusSampler, probe_rows, row_cells, row_losses

from .tiny import TINY


def _cells(counts: dict) -> list:
    return [cell for cell, n in counts.items() for _ in range(n)]


def test_the_sampler_draws_its_share_by_the_weights_and_the_rest_uniformly():
    # 9,000 rows: 1,000 in ('/', 3, 2), 8,000 in ('+', 3, 3); all of the focus on the small cell
    cells = _cells({("/", 3, 2): 1000, ("+", 3, 3): 8000})
    sampler = FocusSampler(cells, share=0.4, seed=0, num_samples=20_000)
    sampler.set_weights({("/", 3, 2): 1.0})
    drawn = Counter(cells[i] for i in sampler)
    expected = 0.4 + 0.6 * 1000 / 9000  # the focused share plus the small cell's part of the uniform draws
    assert len(sampler) == 20_000 and sum(drawn.values()) == 20_000
    assert abs(drawn["/", 3, 2] / 20_000 - expected) < 0.01
    # two cells weighted 3 : 1 get the focus 3 : 1 (plus their uniform parts)
    sampler = FocusSampler(cells, share=1.0, seed=1, num_samples=20_000)
    sampler.set_weights({("/", 3, 2): 3.0, ("+", 3, 3): 1.0})
    drawn = Counter(cells[i] for i in sampler)
    assert abs(drawn["/", 3, 2] / 20_000 - 0.75) < 0.01


def test_the_sampler_is_uniform_until_weighted_and_when_nothing_is_left_to_learn():
    cells = _cells({("/", 3, 2): 1000, ("+", 3, 3): 9000})
    sampler = FocusSampler(cells, share=0.9, seed=0, num_samples=20_000)
    assert abs(Counter(cells[i] for i in sampler)["/", 3, 2] / 20_000 - 0.1) < 0.01
    sampler.set_weights({("/", 3, 2): 0.0, ("+", 3, 3): 0.0})
    assert abs(Counter(cells[i] for i in sampler)["/", 3, 2] / 20_000 - 0.1) < 0.01


def test_the_sampler_is_seeded_and_draws_anew_on_each_pass():
    cells = _cells({("/", 1, 1): 50, ("*", 2, 2): 50})
    first, again = FocusSampler(cells, 0.5, seed=3), FocusSampler(cells, 0.5, seed=3)
    for s in (first, again):
        s.set_weights({("/", 1, 1): 1.0})
    assert list(first) == list(again)
    assert list(first) != list(FocusSampler(cells, 0.5, seed=3))  # a second pass, and an unweighted sampler


def test_the_sampler_refuses_bad_weights_and_shares():
    cells = _cells({("/", 1, 1): 5})
    with pytest.raises(ValueError, match=r"focus share must be in \(0, 1\], got 0"):
        FocusSampler(cells, 0, seed=0)
    sampler = FocusSampler(cells, 0.5, seed=0)
    with pytest.raises(ValueError, match=r"no training rows in cell\(s\) \['\+ 1x1'\]"):
        sampler.set_weights({("+", 1, 1): 1.0})
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError, match="focus weights must be >= 0"):
            sampler.set_weights({("/", 1, 1): bad})


def _traces(problems) -> Dataset:
    rows = []
    for op, a, b in problems:
        prompt, completion = make_trace(a, op, b, "cot", 3)
        rows.append({"prompt": prompt, "completion": completion, "op": op, "a": str(a), "b": str(b), "answer": ""})
    return Dataset.from_list(rows)


def test_row_losses_are_each_traces_own_and_average_to_the_models_loss():
    torch.manual_seed(0)
    tokenizer = CharTokenizerFast()
    model = ArithGPTForCausalLM(ArithGPTConfig(vocab_size=tokenizer.vocab_size, n_positions=160, n_embd=32,
                                               n_layer=1, n_head=2, pad_token_id=tokenizer.pad_token_id))
    collator = AnswerOnlyCollator(tokenizer)
    examples = list(_traces([("+", 12, 345), ("/", 999, 7), ("*", 5, 6), ("-", 100, 99)]))
    losses = row_losses(model, collator, examples, batch_size=3)  # two batches, padded differently
    assert model.training  # left as it was found
    for example, loss in zip(examples, losses):  # each row alone, unpadded: the same number
        alone = collator([example])
        tokens = int((alone["labels"][:, 1:] != -100).sum())
        with torch.no_grad():
            assert math.isclose(loss, float(model(**alone).loss) * tokens, rel_tol=1e-4)
    batch = collator(examples)
    with torch.no_grad():
        mean = float(model(**batch).loss)
    assert math.isclose(sum(losses) / int((batch["labels"][:, 1:] != -100).sum()), mean, rel_tol=1e-4)


def test_the_callback_weighs_each_cell_by_its_probe_problems_mean_loss():
    torch.manual_seed(0)
    tokenizer = CharTokenizerFast()
    model = ArithGPTForCausalLM(ArithGPTConfig(vocab_size=tokenizer.vocab_size, n_positions=160, n_embd=32,
                                               n_layer=1, n_head=2, pad_token_id=tokenizer.pad_token_id))
    problems = [("+", a, b) for a in range(10) for b in range(3)] + [("/", 100 + a, 7) for a in range(40)]
    data = _traces(problems)
    cells = row_cells(data)
    assert cells[0] == ("+", 1, 1) and cells[-1] == ("/", 3, 1)
    probe = probe_rows(data, cells, per_cell=8, seed=0)
    assert {cell: len(rows) for cell, rows in probe.items()} == {("+", 1, 1): 8, ("/", 3, 1): 8}
    assert all(cells[[r["prompt"] for r in data].index(row["prompt"])] == cell  # each probe row is of its cell
               for cell, rows in probe.items() for row in rows)
    sampler = FocusSampler(cells, 0.5, seed=0)
    callback = FocusCallback(sampler, probe, AnswerOnlyCollator(tokenizer), every=10)
    means = callback.update(model, step=0)
    for cell, rows in probe.items():
        assert math.isclose(means[cell], sum(row_losses(model, callback.collator, rows)) / len(rows), rel_tol=1e-5)
    assert means["/", 3, 1] > means["+", 1, 1]  # a division's trace is longer: more to be wrong about
    assert sampler.weights == [means[cell] for cell in sampler.cells]
    shares = callback.history[-1]["shares"]
    assert math.isclose(sum(shares.values()), 1.0, abs_tol=1e-3) and shares["/ 3x1"] > 0.5


def test_focus_settings_are_checked(tmp_path):
    for flag, value, message in [("--focus_share", "1.5", r"--focus_share must be in \[0, 1\]"),
                                 ("--focus_every", "0", "focus_every must be an int >= 1"),
                                 ("--focus_probe", "0", "focus_probe must be an int >= 1")]:
        with pytest.raises(ValueError, match=message):
            parse_train_args(["--output_dir", str(tmp_path), flag, value])


def test_a_corpus_run_refuses_focus(tmp_path, capsys):
    code = main(["train", "--preset", "shakespeare-bigram", "--max_steps", "2", "--focus_share", "0.5",
                 "--output_dir", str(tmp_path / "out")])
    assert code == 2
    assert "--focus_share 0.5 weighs arithmetic cells; a corpus has none" in capsys.readouterr().err


def test_a_focused_run_trains_with_the_sampler_and_records_where_it_looked(tmp_path):
    out = tmp_path / "focused"
    args = [*TINY, "--suites", "test", "--focus_share", "0.5", "--focus_every", "200", "--focus_probe", "16",
            "--output_dir", str(out)]
    assert main(["train", *args]) == 0
    results = json.loads((out / "all_results.json").read_text())
    focus = results["focus"]
    assert (focus["share"], focus["every"], focus["probe"]) == (0.5, 200, 16)
    assert [entry["step"] for entry in focus["history"]] == [0, 200, 400]  # not at the last step: nothing follows
    # 2-digit addition: the cells of + with 1- and 2-digit operands, every one weighed each time
    assert all(set(entry["shares"]) == {"+ 1x1", "+ 1x2", "+ 2x1", "+ 2x2"} for entry in focus["history"])
    assert results["evaluation"]["test"]["exact_match"] > 0.95  # it still learns what the tiny run learns


def test_the_card_says_where_the_focus_was():
    from hf_arith.model_card import focus_line

    focus = {"share": 0.5, "every": 250, "probe": 64,
             "history": [{"step": 0, "shares": {"/ 3x2": 0.5, "+ 1x1": 0.5}},
                         {"step": 7750, "shares": {"/ 3x2": 0.6, "* 3x3": 0.3, "+ 1x1": 0.05, "- 2x2": 0.05}}]}
    assert focus_line(focus) == ("Focus: 50% of the training rows drawn by cell, each weighted by its mean loss on 64 "
                                 "training problems, rescored every 250 steps; at step 7,750 most on `/ 3x2` 60%, "
                                 "`* 3x3` 30%, `+ 1x1` 5%.")
    assert focus_line({**focus, "cases": True, "within": "operation"}).startswith(
        "Focus: 50% of the training rows drawn by cell (and by division case: a = b, b = 1, r = 0, r = b - 1) within "
        "each operation's share of the rows, each weighted")


def test_focus_within_operations_keeps_each_operations_share_of_the_rows():
    # + has 6,000 rows, / 4,000; all the weight on / 3x2 still leaves + its 60 % of the focused draws
    cells = _cells({("+", 3, 3): 6000, ("/", 3, 2): 1000, ("/", 3, 3): 3000})
    sampler = FocusSampler(cells, share=1.0, seed=0, num_samples=20_000, within="operation")
    sampler.set_weights({("/", 3, 2): 2.0, ("/", 3, 3): 0.0, ("+", 3, 3): 0.0})
    drawn = Counter(cells[i] for i in sampler)
    assert abs(drawn["+", 3, 3] / 20_000 - 0.6) < 0.01 and abs(drawn["/", 3, 2] / 20_000 - 0.4) < 0.01
    with pytest.raises(ValueError, match=r"focus within must be one of \('all', 'operation'\), got 'cells'"):
        FocusSampler(cells, 0.5, seed=0, within="cells")


def test_the_calculator_preset_focuses_half_of_every_batch_and_the_flag_turns_it_off(tmp_path):
    spec = parse_train_args(["--preset", "calc3", "--output_dir", str(tmp_path)])
    assert (spec.run.focus_share, spec.run.focus_within, spec.run.focus_every, spec.run.focus_probe) == (
        0.5, "all", 250, 64)
    assert parse_train_args(["--preset", "add3", "--output_dir", str(tmp_path)]).run.focus_share == 0
    assert parse_train_args(["--preset", "calc3", "--focus_share", "0", "--output_dir", str(tmp_path)]
                            ).run.focus_share == 0


def test_with_cases_a_division_in_a_case_is_weighed_in_its_case_not_its_cell():
    from hf_arith.training.focus import focus_group

    assert focus_group("/", 345, 7) == ("/", 3, 1) == focus_group("/", 345, 7, cases=False)
    assert focus_group("/", 345, 345, cases=True) == ("/", "a=b")
    assert focus_group("/", 345, 1, cases=True) == ("/", "b=1")  # r = 0 and r = b - 1 too: the first case named
    assert focus_group("/", 350, 7, cases=True) == ("/", "r=0")
    assert focus_group("/", 349, 7, cases=True) == ("/", "r=b-1")
    assert focus_group("/", 5, 7, cases=True) == ("/", 1, 1)  # a < b is not one of the suite's cases
    assert focus_group("+", 5, 5, cases=True) == ("+", 1, 1)
    data = _traces([("/", 345, 345), ("/", 345, 7), ("+", 12, 3)])
    cells = row_cells(data, cases=True)
    assert cells == [("/", "a=b"), ("/", 3, 1), ("+", 2, 1)]
    sampler = FocusSampler(cells, 1.0, seed=0, num_samples=300)
    sampler.set_weights({("/", "a=b"): 1.0})
    assert set(sampler) == {0}


def test_a_resumed_run_keeps_the_focus_history_of_the_steps_before_its_checkpoint(tmp_path):
    from types import SimpleNamespace

    from hf_arith.training.focus import FOCUS_FILE, FocusCallback

    before = FocusCallback(None, {}, None, every=250)
    before.history = [{"step": 0, "shares": {"+ 1x1": 1.0}}, {"step": 250, "shares": {"+ 1x1": 0.6, "+ 2x2": 0.4}}]
    (tmp_path / "checkpoint-250").mkdir()
    before.on_save(SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(global_step=250,
                                                                              is_world_process_zero=True), None)
    assert (tmp_path / "checkpoint-250" / FOCUS_FILE).is_file()
    after = FocusCallback(None, {}, None, every=250)
    after.resume_from(str(tmp_path / "checkpoint-250"))
    assert after.history == before.history  # lost after kill -9 and a resume before (issue 46)
