"""Generation-based evaluation: batched greedy decoding with the KV cache, exact-match metrics, verify_trace
step-level verdicts, examples with the first wrong character marked, and the operand-length heatmap."""

import logging
from collections import Counter

import torch

from ..data.verify import verify_trace
from .collator import encode
from .metrics import arith_metrics

logger = logging.getLogger(__name__)


@torch.no_grad()
def generate_completions(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int = 1000,
                         use_cache: bool = True) -> list[str]:
    """Greedy completions (text up to EOS) for many prompts; prompts are batched by length so little is padded."""
    model.eval()
    device = model.device
    id_to_token = {i: t for t, i in tokenizer.get_vocab().items()}
    encoded = [encode(tokenizer, p) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    completions = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(encoded[i]) for i in rows)
        input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        for r, i in enumerate(rows):
            input_ids[r, width - len(encoded[i]):] = torch.tensor(encoded[i])
            attention_mask[r, width - len(encoded[i]):] = 1
        output = model.generate(
            input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), max_new_tokens=max_new_tokens,
            do_sample=False, use_cache=use_cache, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        for r, i in enumerate(rows):
            text = []
            for token_id in output[r, width:].tolist():
                if token_id == tokenizer.eos_token_id:
                    break
                text.append(id_to_token.get(token_id, "?"))
            completions[i] = "".join(text)
    return completions


def mark_first_difference(prediction: str, reference: str) -> int:
    for i, (p, r) in enumerate(zip(prediction, reference)):
        if p != r:
            return i
    return min(len(prediction), len(reference))


def evaluate_generation(model, tokenizer, dataset, batch_size: int = 1000, num_examples: int = 3) -> dict:
    """Scores greedy generations on `dataset` (columns prompt, completion) against the references."""
    prompts, references = list(dataset["prompt"]), list(dataset["completion"])
    max_new_tokens = max(len(encode(tokenizer, r)) for r in references) + 1
    predictions = generate_completions(model, tokenizer, prompts, max_new_tokens, batch_size)
    metrics = arith_metrics(predictions, references, prompts)
    verdicts = [verify_trace(p, c) for p, c in zip(prompts, predictions)]
    metrics["verified_answer_correct"] = sum(v.answer_correct for v in verdicts) / len(verdicts)
    metrics["verified_trace_valid"] = sum(v.valid for v in verdicts) / len(verdicts)
    metrics["first_error_step_counts"] = dict(sorted(Counter(
        v.first_error_step for v in verdicts if v.first_error_step is not None).items()))
    correct = [i for i, (p, r) in enumerate(zip(predictions, references)) if p == r][:num_examples]
    wrong = [i for i, (p, r) in enumerate(zip(predictions, references)) if p != r][:num_examples]
    examples = [dict(prompt=prompts[i], prediction=predictions[i], reference=references[i],
                     first_wrong=None if i in correct else mark_first_difference(predictions[i], references[i]))
                for i in correct + wrong]
    return {"metrics": metrics, "examples": examples}


def format_examples(examples: list[dict]) -> str:
    """One line per example; wrong ones get a caret under the first wrong character (seed 000)."""
    lines = []
    for ex in examples:
        if ex["first_wrong"] is None:
            lines.append(f"  ok    {ex['prompt']}{ex['prediction']}")
        else:
            lines.append(f"  WRONG {ex['prompt']}{ex['prediction']}   (expected {ex['reference']})")
            lines.append("        " + " " * (len(ex["prompt"]) + ex["first_wrong"]) + "^")
    return "\n".join(lines)


def save_heatmap(by_digits: dict[str, float], path: str, title: str = "held-out exact match") -> None:
    """Exact match over (digits of a, digits of b) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cells = {tuple(int(x) for x in key.split("x")): value for key, value in by_digits.items()}
    rows = sorted({a for a, _ in cells})
    cols = sorted({b for _, b in cells})
    grid = np.full((len(rows), len(cols)), np.nan)
    for (a, b), value in cells.items():
        grid[rows.index(a), cols.index(b)] = 100 * value
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * len(cols), 1.0 + 0.7 * len(rows)))
    image = ax.imshow(grid, vmin=0, vmax=100, cmap="viridis", origin="lower")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center",
                        color="white" if grid[i, j] < 60 else "black", fontsize=8)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("digits of b")
    ax.set_ylabel("digits of a")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="exact match %")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@torch.no_grad()
def sample_text(model, tokenizer, prompt: str, max_new_tokens: int, **sampling) -> str:
    """Samples `max_new_tokens` after `prompt` through `generate` (top-k / top-p / temperature in `sampling`).

    Like nanoGPT, the context is cropped to the model's window: past `n_positions` tokens, generation goes on
    from the last half window. Draws from torch's global generator: seed it (torch.manual_seed) to repeat.
    """
    window = model.config.n_positions
    ids = encode(tokenizer, prompt)
    if not ids:
        raise ValueError("the prompt must hold at least one character")
    generated = []
    while len(generated) < max_new_tokens:
        context = (ids + generated)[-(window // 2 if len(ids) + len(generated) >= window else window):]
        steps = min(max_new_tokens - len(generated), window - len(context))
        context_ids = torch.tensor([context], device=model.device)
        out = model.generate(context_ids, attention_mask=torch.ones_like(context_ids), max_new_tokens=steps,
                             do_sample=True, pad_token_id=tokenizer.pad_token_id, eos_token_id=None, **sampling)
        generated += out[0, len(context):].tolist()
    return tokenizer.decode(generated)
