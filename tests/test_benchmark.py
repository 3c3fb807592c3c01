"""The fair race (scripts/benchmarks.py, scripts/bench.py): each claim the README makes about the contestants is
checked here: nanoGPT's init, the Trainer's decay groups and schedule, the check and its clock, the ratios."""

import math

import pytest
import torch
from bench import markdown
from benchmarks import (
    Contestant,
    PlainGPT,
    Race,
    check_sets,
    fair_data,
    fair_loop,
    seeds_loop,
    trainer_param_groups,
    warmup_cosine,
)
from transformers import Trainer, get_cosine_schedule_with_warmup

from hf_arith import AlignedPairTokenizer, CharTokenizer


def test_plain_gpt_has_nanogpts_init_and_starts_at_uniform_guessing():
    torch.manual_seed(0)
    model = PlainGPT(vocab_size=18, n_positions=16, n_embd=128, n_layer=4, n_head=4, rope=True)
    assert model.wte.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert model.h[0].c_attn.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert model.h[2].mlp_proj.weight.std().item() == pytest.approx(0.02 / math.sqrt(8), rel=0.1)
    assert model.h[1].c_proj.bias.abs().sum().item() == 0
    assert model.lm_head.weight is model.wte.weight
    logits = model(torch.randint(0, 18, (64, 12)))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 18), torch.randint(0, 18, (64 * 12,)))
    assert loss.item() == pytest.approx(math.log(18), abs=0.1)  # not 83 nats, as N(0, 1) embeddings gave


def test_decay_groups_are_the_trainers():
    model = PlainGPT(vocab_size=20, n_positions=10, n_embd=32, n_layer=2, n_head=2, rope=False)
    decay, no_decay = trainer_param_groups(model, 0.1)
    # compared as tensors: the tied head is one parameter under two names (lm_head.weight is wte.weight)
    trainers = {id(model.get_parameter(name)) for name in Trainer.get_decay_parameter_names(None, model)}
    assert {id(p) for p in decay["params"]} == trainers
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert not any(names[id(p)].endswith("bias") or ".ln" in names[id(p)] for p in decay["params"])


def test_the_schedule_is_transformers_warmup_then_cosine():
    parameter = torch.nn.Parameter(torch.zeros(1))
    reference = get_cosine_schedule_with_warmup(torch.optim.SGD([parameter], lr=1.0), 30, 800)
    for step in range(0, 801):
        assert warmup_cosine(step, 30, 800) == pytest.approx(reference.get_last_lr()[0], abs=1e-9), step
        reference.optimizer.step()
        reference.step()


def test_race_records_the_first_time_each_check_set_reaches_the_target():
    race = Race("x", target=0.999)
    assert not race.record(50, 10.0, {"full_width": 0.99, "easy": 0.9995}, check_seconds=3.0)
    assert not race.record(100, 20.0, {"full_width": 0.9991, "easy": 0.99}, check_seconds=3.0)
    assert race.seconds_to == {"easy": 10.0, "full_width": 20.0} and race.steps_to == {"easy": 50, "full_width": 100}
    assert race.record(150, 30.0, {"full_width": 1.0, "easy": 1.0}, check_seconds=3.0)
    assert race.check_seconds == 9.0 and race.seconds_to["easy"] == 10.0  # the first time, not the last


class Oracle(torch.nn.Module):
    """Logits that put the right next token of a reversed sum on top, except for problems in `wrong`."""

    def __init__(self, tokenizer, wrong=()):
        super().__init__()
        self.tokenizer, self.wrong = tokenizer, set(wrong)

    def forward(self, idx, positions=None, mask=None):
        from hf_arith.data.traces import make_completion

        logits = torch.zeros(*idx.shape, self.tokenizer.vocab_size)
        for row, ids in enumerate(idx.tolist()):
            text = self.tokenizer.decode(ids)
            prompt, _, done = text.partition("=")
            a, b = (int(x) for x in prompt.split("+"))
            target = make_completion(a, "+", b, "reversed", 3) + "<eos>"
            target = target if (a, b) not in self.wrong else target.replace("0", "1", 1).replace("9", "1", 1)
            tokens = self.tokenizer.tokenize(target.replace("<eos>", "")) + ["<eos>"]
            next_token = tokens[len(done)] if len(done) < len(tokens) else "<eos>"
            logits[row, -1, self.tokenizer.convert_tokens_to_ids(next_token)] = 1.0
        return logits


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), AlignedPairTokenizer(max_digits=3)])
def test_the_checks_exact_match_against_known_answers(tokenizer):
    problems = [("+", a, b) for a, b in [(12, 34), (999, 1), (5, 7), (450, 550)]]
    assert Contestant(tokenizer, 3, Oracle(tokenizer)).exact_match(problems) == 1.0
    wrong = Contestant(tokenizer, 3, Oracle(tokenizer, wrong=[(999, 1), (5, 7)]))
    assert wrong.exact_match(problems) == 0.5


def test_check_sets_are_held_out_of_every_contestants_training(tmp_path):
    checks = check_sets(str(tmp_path))
    train = set(fair_data(str(tmp_path)))
    assert len(checks["full_width"]) == len(checks["easy"]) == 1000
    assert all(a >= 100 and b >= 100 for _, a, b in checks["full_width"])
    assert not train & (set(checks["full_width"]) | set(checks["easy"]))
    lengths = {(len(str(a)), len(str(b))) for _, a, b in checks["easy"]}
    assert len(lengths) == 9  # every operand-length cell


def test_the_loops_learn_and_stop_on_the_check():
    one_digit = [("+", a, b) for a in range(10) for b in range(10)]
    checks = {"full_width": one_digit[:20], "easy": one_digit[20:40]}
    race = fair_loop("fair_pairs", AlignedPairTokenizer(max_digits=3), one_digit, checks, seed=0, target=2.0,
                     max_steps=30, check_every=10, batch_size=32)
    assert [h["step"] for h in race.history] == [10, 20, 30] and race.steps == 30 and race.seconds_to == {}
    assert race.train_seconds > 0 and race.check_seconds > 0
    budgeted = seeds_loop(0, checks, target=2.0, budget_s=1.0, check_every=5)
    assert budgeted.train_seconds >= 1.0 and budgeted.seconds_to == {} and budgeted.steps >= 1


def test_the_table_reports_ratios_and_lower_bounds():
    def run(full, easy, reached=True):
        seconds_to = {"full_width": full, "easy": easy} if reached else {}
        return {"seed": 0, "steps": 100, "train_seconds": max(full, easy), "seconds_to": seconds_to}

    report = {"machine": "m", "settings": {"target": 0.999},
              "races": {"seeds_loop": [run(300, 300, reached=False)], "fair_chars": [run(60, 50)],
                        "fair_pairs": [run(20, 10)], "hf_arith": [run(21, 10)]}}
    table = markdown(report)
    assert "| seeds_loop / hf_arith | > 14.29x | > 30.00x |" in table  # never reached: at least this
    assert "| fair_chars / fair_pairs | 3.00x | 5.00x |" in table
    assert "| fair_pairs / hf_arith | 0.95x | 1.00x |" in table
    assert "> 300.0 s (300.0), not reached" in table
