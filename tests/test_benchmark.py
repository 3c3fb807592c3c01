"""The seeds' baseline loop in hf_arith.benchmark: its data layout, its generation and its training loop."""

import pytest
import torch
from benchmarks import PlainGPT, SeedEncoding, seed_exact_match, seed_greedy, seed_training_run

from hf_arith import ArithGPTConfig, ArithGPTForCausalLM
from hf_arith.data import load_arithmetic_traces


def test_seed_encoding_space_pads_and_masks_the_prompt():
    encoding = SeedEncoding(["1+9=", "12+34="], ["01", "64"])
    assert encoding.length == 9  # longest string (8) plus one, so every row has a next-token target
    x, y = encoding.tensors(["1+9="], ["01"])
    text = "".join(encoding.itos[i] for i in x[0].tolist())
    assert text == "1+9=01  "
    # targets: -1 while the input is still in the prompt (the first three inputs), then '0', '1', spaces
    assert y[0, :3].tolist() == [-1, -1, -1]
    assert "".join(encoding.itos[i] for i in y[0, 3:].tolist()) == "01   "


def test_seed_greedy_matches_generate_with_the_kv_cache():
    torch.manual_seed(0)
    model = ArithGPTForCausalLM(ArithGPTConfig(vocab_size=24, n_positions=32, n_embd=32, n_layer=2, n_head=2)).eval()
    prompts = torch.randint(4, 24, (5, 6))
    seed_style = seed_greedy(lambda t: model(input_ids=t).logits, prompts, 7)
    cached = model.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=7, min_new_tokens=7,
                            do_sample=False, eos_token_id=None, pad_token_id=0)[:, 6:]
    assert torch.equal(seed_style, cached)


def test_seed_training_run_learns_and_scores_against_references(tmp_path):
    data = load_arithmetic_traces("add3", cache_dir=str(tmp_path), max_digits=1, train_size=60, validation_size=10,
                                  test_size=10)
    run = seed_training_run(data, dict(n_embd=64, n_layer=2, n_head=2), batch_size=32, learning_rate=3e-3,
                            target=2.0, budget_s=120, eval_every=200, max_steps=600)
    assert run["steps"] == 600 and len(run["history"]) == 3 and run["seconds_to_target"] is None
    train = data["train"]
    # the loop memorises 60 one-digit sums; an all-wrong reference list must score 0 on the same prompts
    assert seed_exact_match(run["model"], run["encoding"], list(train["prompt"]), list(train["completion"])) > 0.9
    wrong = [c + "1" for c in train["completion"]]
    assert seed_exact_match(run["model"], run["encoding"], list(train["prompt"]), wrong) == 0.0
    assert run["history"][-1]["loss"] < run["history"][0]["loss"]


def test_plain_gpt_ignores_masked_targets():
    model = PlainGPT(10, 8, 16, 1, 2)
    idx = torch.randint(0, 10, (2, 8))
    targets = torch.full((2, 8), -1)
    targets[:, -1] = 3
    logits, loss = model(idx, targets)
    expected = torch.nn.functional.cross_entropy(logits[:, -1], targets[:, -1])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
