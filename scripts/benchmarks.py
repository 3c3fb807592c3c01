"""The benchmark suite: hf_arith against the seeds' own plain-PyTorch loop, run in the same process and session.

Three figures, each paired with its baseline so that ratios hold on a noisy machine:

- time to accuracy: wall seconds of training until held-out exact match >= target, hf_arith's `hf-arith train`
  pipeline vs the seeds' loop (seed 001: fixed-length space-padded character strings, reversed answers, prompt
  targets masked with -1, random batches, seed-style uncached greedy generation for the held-out check);
- training throughput: examples/s and tokens/s of a fixed number of optimizer steps, both ways;
- evaluation: problems/s of batched greedy generation with the KV cache vs without it vs the seeds' loop (a full
  forward pass over the whole sequence per new token, no early stop), all on the same trained model.

The baseline model is a plain `nn.Module` with the same blocks and shapes as ArithGPT (learned positions), so the
differences come from the data format, tokenizer and loop, not from the network. `scripts/bench.py` is the CLI.
"""

import json
import math
import os
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn

from hf_arith.batching import encode, left_pad
from hf_arith.data.builder import data_preset, load_traces
from hf_arith.data.settings import ArithmeticDataSettings
from hf_arith.evaluation.generation import generate_completions
from hf_arith.evaluation.metrics import arith_metrics
from hf_arith.hardware import hardware_description
from hf_arith.training.arguments import parse_train_args
from hf_arith.training.presets import get_training_preset
from hf_arith.training.run import train


# ---------------------------------------------------------------- the seeds' model and loop, in plain PyTorch
class PlainBlock(nn.Module):
    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.c_attn, self.c_proj = nn.Linear(n_embd, 3 * n_embd), nn.Linear(n_embd, n_embd)
        self.c_fc, self.mlp_proj = nn.Linear(n_embd, 4 * n_embd), nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class PlainGPT(nn.Module):
    """nanoGPT as the seeds wrote it: embeddings, blocks, tied head; loss with ignore_index=-1."""

    def __init__(self, vocab_size: int, n_positions: int, n_embd: int, n_layer: int, n_head: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([PlainBlock(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, targets=None):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)


class SeedEncoding:
    """Seed 001's data layout: every example is the string prompt+completion right-padded with spaces to one fixed
    length; x = ids[:-1], y = ids[1:], and y is -1 wherever the input is still inside the prompt."""

    def __init__(self, prompts: list[str], completions: list[str]):
        chars = sorted(set("".join(prompts) + "".join(completions)) | {" "})
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.itos = dict(enumerate(chars))
        self.length = max(len(p) + len(c) for p, c in zip(prompts, completions)) + 1

    def tensors(self, prompts, completions):
        ids = torch.tensor([[self.stoi[c] for c in (p + c_).ljust(self.length)] for p, c_ in zip(prompts, completions)])
        x, y = ids[:, :-1].clone(), ids[:, 1:].clone()
        for row, prompt in enumerate(prompts):
            y[row, : len(prompt) - 1] = -1
        return x, y


@torch.no_grad()
def seed_greedy(logits_of, prompt_ids: torch.Tensor, steps: int) -> torch.Tensor:
    """The seeds' generation: append the argmax token `steps` times, recomputing the whole sequence every time."""
    idx = prompt_ids
    for _ in range(steps):
        idx = torch.cat([idx, logits_of(idx)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx[:, prompt_ids.shape[1]:]


def seed_exact_match(model: PlainGPT, encoding: SeedEncoding, prompts, completions, batch_size: int = 1000) -> float:
    """Held-out exact match with seed-style generation: prompts of one length are batched together, the answer is
    read up to its fixed length and compared after stripping the space padding."""
    model.eval()
    by_length: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_length.setdefault(len(p), []).append(i)
    right = 0
    for length, rows in by_length.items():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            ids = torch.tensor([[encoding.stoi[c] for c in prompts[i]] for i in chunk])
            out = seed_greedy(lambda t: model(t)[0], ids, encoding.length - length)
            for r, i in enumerate(chunk):
                text = "".join(encoding.itos[t] for t in out[r].tolist())
                right += text.rstrip(" ") == completions[i]
    model.train()
    return right / len(prompts)


def seed_training_run(data, model_shape: dict, batch_size: int, learning_rate: float, target: float,
                      budget_s: float, eval_every: int, seed: int = 0, max_steps: int | None = None) -> dict:
    """Trains a PlainGPT with the seeds' loop until held-out exact match >= target or the wall-clock budget is spent.

    Optimizer settings are hf_arith's preset values (AdamW, warmup then cosine over the budgeted steps), so the loop
    and the data layout are what differ. Returns the history and the figures the report needs.
    """
    torch.manual_seed(seed)
    train, validation = data["train"], data["validation"]
    encoding = SeedEncoding(list(train["prompt"]) + list(validation["prompt"]),
                            list(train["completion"]) + list(validation["completion"]))
    x_all, y_all = encoding.tensors(list(train["prompt"]), list(train["completion"]))
    model = PlainGPT(len(encoding.stoi), encoding.length, **model_shape).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=(0.9, 0.99), weight_decay=0.1)
    generator = torch.Generator().manual_seed(seed)
    history, step, elapsed, reached = [], 0, 0.0, None
    start = time.perf_counter()
    while elapsed < budget_s and (max_steps is None or step < max_steps):
        rows = torch.randint(len(x_all), (batch_size,), generator=generator)
        loss = model(x_all[rows], y_all[rows])[1]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if eval_every and step % eval_every == 0:
            accuracy = seed_exact_match(model, encoding, list(validation["prompt"]), list(validation["completion"]))
            elapsed = time.perf_counter() - start
            history.append({"step": step, "elapsed_s": elapsed, "loss": loss.item(), "exact_match": accuracy})
            if accuracy >= target:
                reached = elapsed
                break
        elapsed = time.perf_counter() - start
    return {"model": model, "encoding": encoding, "steps": step, "train_s": elapsed, "seconds_to_target": reached,
            "history": history, "parameters": sum(p.numel() for p in model.parameters())}


# ---------------------------------------------------------------- the three measurements
def _training_preset_data(preset: str, cache_dir: str, **extra):
    """The data a training preset trains on (with `extra` settings changed)."""
    spec = parse_train_args(["--preset", preset])
    return load_traces(data_preset("custom", **{**spec.data.data_settings(), **extra}), cache_dir)


def time_to_accuracy(preset: str, target: float, baseline_budget_s: float, workdir: str, cache_dir: str) -> dict:
    output_dir = os.path.join(workdir, preset)
    results = train(parse_train_args(["--preset", preset, "--output_dir", output_dir, "--disable_tqdm", "true",
                                      "--target_exact_match", str(target), "--data_cache_dir", cache_dir]))
    settings = model = get_training_preset(preset)
    # the seeds' format for the same problems: reversed answers, no zero padding, characters
    seed_data = _training_preset_data(preset, cache_dir, zero_pad=False)
    baseline = seed_training_run(
        seed_data, dict(n_embd=model["n_embd"], n_layer=model["n_layer"], n_head=model["n_head"]),
        settings["per_device_train_batch_size"], settings["learning_rate"], target,
        baseline_budget_s, eval_every=settings["eval_steps"])
    baseline_test = seed_exact_match(baseline["model"], baseline["encoding"], list(seed_data["test"]["prompt"]),
                                     list(seed_data["test"]["completion"]))
    return {
        "hf_arith": {"seconds_to_target": results.seconds_to_target, "train_s": results.train_runtime_s,
                     "steps": results.global_step, "test_exact_match": results.evaluation["test"]["exact_match"],
                     "parameters": results.parameters, "output_dir": output_dir},
        "seed_loop": {"seconds_to_target": baseline["seconds_to_target"], "train_s": baseline["train_s"],
                      "steps": baseline["steps"], "test_exact_match": baseline_test,
                      "parameters": baseline["parameters"], "history": baseline["history"]},
        "target": target,
    }


def training_throughput(preset: str, steps: int, cache_dir: str, workdir: str) -> dict:
    """Examples/s and tokens/s over `steps` optimizer steps (no evaluation), hf_arith's Trainer vs the seeds' loop."""
    from hf_arith.training.collator import AnswerOnlyCollator
    from hf_arith.training.tasks import make_task

    settings = get_training_preset(preset)
    batch = settings["per_device_train_batch_size"]
    spec = parse_train_args(["--preset", preset, "--output_dir", os.path.join(workdir, "throughput"),
                             "--disable_tqdm", "true", "--max_steps", str(steps), "--eval_strategy", "no",
                             "--save_strategy", "no", "--target_exact_match", "1", "--data_cache_dir", cache_dir])
    results = train(spec)
    hf_examples_s = steps * batch / results.train_runtime_s
    data = _training_preset_data(preset, cache_dir)
    tokenizer = make_task(spec).build_tokenizer()
    collate = AnswerOnlyCollator(tokenizer)
    # tokens the model processes per example: a batch is padded to its longest row
    widths = [collate([data["train"][i] for i in range(start, start + batch)])["input_ids"].shape[1]
              for start in range(0, 20 * batch, batch)]
    hf_tokens_per_example = sum(widths) / len(widths)

    seed_data = _training_preset_data(preset, cache_dir, zero_pad=False)
    model = settings
    baseline = seed_training_run(seed_data, dict(n_embd=model["n_embd"], n_layer=model["n_layer"],
                                                 n_head=model["n_head"]),
                                 batch, settings["learning_rate"], target=2.0, budget_s=math.inf,
                                 eval_every=0, max_steps=steps)
    seed_examples_s = steps * batch / baseline["train_s"]
    seed_tokens_per_example = baseline["encoding"].length - 1
    return {
        "steps": steps, "batch_size": batch,
        "hf_arith": {"examples_per_s": hf_examples_s, "tokens_per_s": hf_examples_s * hf_tokens_per_example,
                     "tokens_per_example": hf_tokens_per_example},
        "seed_loop": {"examples_per_s": seed_examples_s, "tokens_per_s": seed_examples_s * seed_tokens_per_example,
                      "tokens_per_example": seed_tokens_per_example},
    }


def evaluation_speed(model_dir: str, num_problems: int, batch_size: int, cache_dir: str) -> dict:
    """Problems/s of greedy generation on the same trained model: generate with the KV cache, generate without it,
    and the seeds' loop (whole-sequence forward per token, a fixed number of steps, no early stop)."""
    from hf_arith.loading import load_model_folder

    loaded = load_model_folder(model_dir)
    model, tokenizer = loaded.model, loaded.tokenizer
    data = load_traces(ArithmeticDataSettings.from_saved(loaded.settings), cache_dir)
    test = data["test"].select(range(min(num_problems, len(data["test"]))))
    prompts, references = list(test["prompt"]), list(test["completion"])
    new_tokens = max(len(encode(tokenizer, r)) for r in references) + 1
    figures = {}
    for name, use_cache in (("generate_kv_cache", True), ("generate_no_cache", False)):
        start = time.perf_counter()
        predictions = generate_completions(model, tokenizer, prompts, new_tokens, batch_size, use_cache=use_cache)
        seconds = time.perf_counter() - start
        figures[name] = {"problems_per_s": len(prompts) / seconds,
                         "exact_match": arith_metrics([p.text for p in predictions], references)["exact_match"]}

    id_to_token = {i: t for t, i in tokenizer.get_vocab().items()}
    start = time.perf_counter()
    right = 0
    for begin in range(0, len(prompts), batch_size):
        chunk = prompts[begin : begin + batch_size]
        ids, mask = left_pad([encode(tokenizer, p) for p in chunk], tokenizer.pad_token_id)

        def logits_of(t, mask=mask):
            full = torch.cat([mask, torch.ones(t.shape[0], t.shape[1] - mask.shape[1], dtype=torch.long)], dim=1)
            return model(input_ids=t, attention_mask=full).logits

        out = seed_greedy(logits_of, ids, new_tokens)
        for row, reference in zip(out.tolist(), references[begin : begin + batch_size]):
            text = "".join(id_to_token[t] for t in row)
            right += text.split(tokenizer.eos_token)[0] == reference
    seconds = time.perf_counter() - start
    figures["seed_loop_no_cache"] = {"problems_per_s": len(prompts) / seconds, "exact_match": right / len(prompts)}
    return {"num_problems": len(prompts), "batch_size": batch_size, "new_tokens": new_tokens, **figures}


# ---------------------------------------------------------------- the report
def machine_line() -> str:
    return hardware_description("cuda" if torch.cuda.is_available() else "cpu")


def markdown_table(report: dict) -> str:
    tta, thr, ev = report["time_to_accuracy"], report["training_throughput"], report["evaluation"]

    def secs(value, budget):
        return f"{value:.1f} s" if value is not None else f"not reached in {budget:.0f} s"

    last = tta["seed_loop"]["history"][-1]["exact_match"] if tta["seed_loop"]["history"] else float("nan")
    rows = [
        "| figure | hf_arith | seeds' loop | ratio |",
        "|---|---|---|---|",
        f"| time to {100 * tta['target']:.1f} % held-out exact match ({report['preset']}) | "
        f"{secs(tta['hf_arith']['seconds_to_target'], tta['hf_arith']['train_s'])} | "
        f"{secs(tta['seed_loop']['seconds_to_target'], report['baseline_budget_s'])} "
        f"(validation {100 * last:.1f} % at the end) | "
        + (f"{tta['seed_loop']['seconds_to_target'] / tta['hf_arith']['seconds_to_target']:.1f}x"
           if tta["seed_loop"]["seconds_to_target"] and tta["hf_arith"]["seconds_to_target"] else "n/a") + " |",
        f"| test exact match (10k, greedy) | {100 * tta['hf_arith']['test_exact_match']:.2f} % | "
        f"{100 * tta['seed_loop']['test_exact_match']:.2f} % | |",
        f"| training examples/s ({thr['steps']} steps, batch {thr['batch_size']}) | "
        f"{thr['hf_arith']['examples_per_s']:,.0f} | {thr['seed_loop']['examples_per_s']:,.0f} | "
        f"{thr['hf_arith']['examples_per_s'] / thr['seed_loop']['examples_per_s']:.2f}x |",
        f"| training tokens/s (tokens per example: {thr['hf_arith']['tokens_per_example']:.1f} vs "
        f"{thr['seed_loop']['tokens_per_example']}) | {thr['hf_arith']['tokens_per_s']:,.0f} | "
        f"{thr['seed_loop']['tokens_per_s']:,.0f} | "
        f"{thr['hf_arith']['tokens_per_s'] / thr['seed_loop']['tokens_per_s']:.2f}x |",
        f"| eval problems/s, generate + KV cache vs seeds' uncached loop ({ev['num_problems']:,} problems, "
        f"batch {ev['batch_size']}) | {ev['generate_kv_cache']['problems_per_s']:,.0f} | "
        f"{ev['seed_loop_no_cache']['problems_per_s']:,.0f} | "
        f"{ev['generate_kv_cache']['problems_per_s'] / ev['seed_loop_no_cache']['problems_per_s']:.2f}x |",
        f"| eval problems/s, generate without cache | {ev['generate_no_cache']['problems_per_s']:,.0f} | | |",
    ]
    return f"Machine: {report['machine']}\n\n" + "\n".join(rows) + "\n"


def run_benchmarks(output_dir: str, preset: str = "add3", target: float = 0.995, baseline_budget_s: float = 300.0,
                   throughput_steps: int = 100, eval_problems: int = 10_000, eval_batch_size: int = 1000,
                   cache_dir: str | None = None) -> dict:
    if not 0 < target <= 1:
        raise ValueError(f"target must be in (0, 1], got {target}")
    for name, value in (("baseline_budget_s", baseline_budget_s), ("throughput_steps", throughput_steps),
                        ("eval_problems", eval_problems), ("eval_batch_size", eval_batch_size)):
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    os.makedirs(output_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        cache_dir = cache_dir or os.path.join(workdir, "cache")
        tta = time_to_accuracy(preset, target, baseline_budget_s, workdir, cache_dir)
        evaluation = evaluation_speed(tta["hf_arith"]["output_dir"], eval_problems, eval_batch_size, cache_dir)
        throughput = training_throughput(preset, throughput_steps, cache_dir, workdir)
    tta["hf_arith"].pop("output_dir")
    report = {"preset": preset, "machine": machine_line(), "baseline_budget_s": baseline_budget_s,
              "time_to_accuracy": tta, "training_throughput": throughput, "evaluation": evaluation}
    with open(os.path.join(output_dir, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    table = markdown_table(report)
    with open(os.path.join(output_dir, "bench.md"), "w") as f:
        f.write(table)
    return report
