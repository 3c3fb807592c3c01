"""The one-pass check of greedy decoding: a problem it settles is one `generate` gets exactly right, and an evaluation
that uses it scores exactly as one that generates every problem."""

import pytest
import torch

from hf_arith import ArithGPTForCausalLM, CharTokenizer
from hf_arith.batching import encode
from hf_arith.data.settings import ArithmeticDataSettings
from hf_arith.data.suites import suite_problems
from hf_arith.data.traces import make_trace
from hf_arith.evaluation.generation import generate_completions, generate_from_ids, greedy_reproduces
from hf_arith.evaluation.scoring import evaluate_problems
from hf_arith.loading import load_model_folder

TIMING = {"seconds", "problems_per_s", "certified"}


def _noisy(model, scale: float, seed: int = 0):
    """The trained model with Gaussian noise on every weight: right on some problems, wrong on others."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * parameter.std() * torch.randn(parameter.shape, generator=generator))
    return model


@pytest.fixture(scope="module")
def half_right(trained):
    loaded = load_model_folder(str(trained[0]))
    settings = ArithmeticDataSettings.from_saved(loaded.settings)
    return _noisy(loaded.model, 0.35), loaded.tokenizer, settings


def test_evaluation_with_the_check_scores_as_generating_every_problem(half_right):
    model, tokenizer, settings = half_right
    problems = suite_problems("uniform", settings.operations, settings.max_digits, 600)
    fast = evaluate_problems(model, tokenizer, problems, settings.format, settings.pad_width, batch_size=128)
    slow = evaluate_problems(model, tokenizer, problems, settings.format, settings.pad_width, batch_size=128,
                             certify=False)
    # the noise leaves a real mix, so both paths are exercised
    assert 0.1 < slow["exact_match"] < 0.9, slow["exact_match"]
    assert slow["certified"] == 0 and 0 < fast["certified"] <= round(slow["exact_match"] * len(problems))
    assert {k: v for k, v in fast.items() if k not in TIMING} == {k: v for k, v in slow.items() if k not in TIMING}


def test_a_settled_problem_is_one_generate_gets_exactly_right(half_right):
    model, tokenizer, settings = half_right
    problems = suite_problems("hard", settings.operations, settings.max_digits, 300)
    prompts, references = zip(*(make_trace(a, op, b, settings.format, settings.pad_width) for op, a, b in problems))
    budgets = [len(encode(tokenizer, r)) + 1 for r in references]
    generated = generate_completions(model, tokenizer, list(prompts), budgets)
    exact = [c.finished and c.text == r for c, r in zip(generated, references)]
    settled = greedy_reproduces(model, tokenizer, list(prompts), list(references), batch_size=50)
    assert all(e for e, s in zip(exact, settled) if s)  # settled => generate writes it
    assert sum(settled) >= 0.95 * sum(exact) > 0  # and it misses only near ties
    # one character off anywhere, or the trace one token short of its end (EOS must come next), is never settled
    off_by_one = [r[:-1] + str((int(r[-1]) + 1) % 10) for r in references]
    assert not any(greedy_reproduces(model, tokenizer, list(prompts), off_by_one))
    assert not any(greedy_reproduces(model, tokenizer, list(prompts), [r[:-1] for r in references]))


@pytest.mark.parametrize("position_embedding", ["learned", "rope", "none"])
def test_the_check_agrees_with_generate_for_every_position_embedding(tiny_config, position_embedding):
    torch.manual_seed(0)
    tokenizer = CharTokenizer()
    # untied: a random tied model copies its last input token forever; a larger EOS row ends rows at many lengths
    model = ArithGPTForCausalLM(tiny_config(position_embedding=position_embedding, vocab_size=len(tokenizer),
                                            tie_word_embeddings=False)).eval()
    with torch.no_grad():
        model.lm_head.weight.normal_(0, 1.0)  # logits far apart: no near ties between the two code paths
        model.lm_head.weight[tokenizer.eos_token_id] *= 1.5
    prompts = [f"{a}{op}{b}=" for a in (1, 12, 23, 345, 456, 6789, 7890) for op in "+-*/" for b in (3, 9, 10, 45, 678)]
    generated = generate_completions(model, tokenizer, prompts, 12)
    # a random model also writes special tokens, which no trace contains: those rows are left out
    kept = [(p, c.text) for p, c in zip(prompts, generated) if "<" not in c.text]
    prompts, references = [p for p, _ in kept], [r for _, r in kept]
    settled = greedy_reproduces(model, tokenizer, prompts, references, margin=1e-4)
    # the contract: settled exactly when generate, given the reference's length plus EOS, writes it and stops
    again = generate_completions(model, tokenizer, prompts, [len(r) + 1 for r in references])
    assert settled == [c.finished and c.text == r for c, r in zip(again, references)]
    assert sum(settled) > 10 and len(prompts) > 50
    changed = [r[:-1] + ("0" if r[-1:] != "0" else "1") if r else "0" for r in references]
    assert not any(greedy_reproduces(model, tokenizer, prompts, changed, margin=1e-4))


def test_rows_beyond_a_learned_table_and_coupled_positions_are_left_to_generation(tiny_config):
    tokenizer = CharTokenizer()
    learned = ArithGPTForCausalLM(tiny_config(position_embedding="learned", vocab_size=len(tokenizer)))
    # n_positions=32: a 5-token prompt and a 27-token completion need 33 with EOS
    assert greedy_reproduces(learned, tokenizer, ["12+3="], ["1" * 27]) == [False]
    coupled = ArithGPTForCausalLM(tiny_config(position_embedding="coupled"))
    assert greedy_reproduces(coupled, tokenizer, ["12+3="], ["51"]) == [False]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        greedy_reproduces(learned, tokenizer, ["1+1="], ["2"], batch_size=0)
    with pytest.raises(ValueError, match="1 prompts but 2 completions"):
        greedy_reproduces(learned, tokenizer, ["1+1="], ["2", "3"])


def test_a_long_prompt_with_few_tokens_left_does_not_cut_the_short_prompts_beside_it(tiny_config):
    # A second look's prompt holds most of its first answer and needs few tokens; the checks asked in the same round
    # are short prompts that need many. Batched together under a learned table (n_positions=32), every row would
    # stop where the long prompt meets the table's end (32 - 28 = 4 tokens); each must get what it gets alone.
    tokenizer = CharTokenizer()
    model = ArithGPTForCausalLM(tiny_config(position_embedding="learned", vocab_size=len(tokenizer))).eval()
    rows, budgets = [encode(tokenizer, "12+3="), encode(tokenizer, "1" * 28), encode(tokenizer, "45+6=")], [20, 3, 20]
    together = generate_from_ids(model, tokenizer, rows, budgets)
    alone = [generate_from_ids(model, tokenizer, [row], [budget])[0] for row, budget in zip(rows, budgets)]
    assert together == alone
    assert not any("position table" in (completion.reason or "") for completion in together)
    # the same rows with budgets beyond the table are cut alone, each where the table ends for it
    long_only = generate_from_ids(model, tokenizer, rows[1:2], [10])[0]
    assert not long_only.finished and "position table (n_positions=32)" in long_only.reason
