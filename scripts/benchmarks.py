"""The fair race behind `scripts/bench.py`: four contestants learn 3-digit addition, each stops on the same check.

The check: every `check_every` optimizer steps, greedy generation on two fixed sets of held-out problems (never in
any contestant's training data): `full_width` (both operands 3 digits) and `easy` (operand lengths uniform, like the
test split). A contestant has reached a set's target when its whole-completion exact match there is >= the target.
The clock counts training only: it stops while the check runs, for every contestant alike (each generates its own
way, so checking speed must not decide the race).

The contestants, all in this process:
  seeds_loop  the seeds' loop as the notebooks ran it (seed 001): character strings right-padded with spaces to one
              length, reversed unpadded answers, targets -1 on the prompt; nanoGPT with RoPE, 4 layers x 128,
              N(0, 0.02) init with scaled residual projections; AdamW at a constant 1e-3, batch 256, weight decay
              on every parameter, no clipping; random batches of fresh problems (operands uniform over 0-999).
  fair_chars  a fair plain PyTorch loop: hf_arith's model shape (2 x 128, learned positions) and training data
              (the add3 preset's split), zero-padded reversed answers in CHARACTERS, the answer-only collator;
              exactly the Trainer's optimizer: AdamW 3e-3, betas (0.9, 0.99), decay 0.1 except biases and
              LayerNorms, 30 warm-up steps then cosine over the schedule, clipping at 1.0, batch 256, shuffled epochs.
  fair_pairs  the same loop with hf_arith's AlignedPairTokenizer: the fair plain loop with hf_arith's format.
  hf_arith    `hf-arith train` (the add3 preset): the Trainer, ArithGPT, the same data, format and settings.

seeds_loop -> fair_chars measures the recipe and the format (the seeds' own everything against a fair loop on
zero-padded characters), fair_chars -> fair_pairs the tokenizer, fair_pairs -> hf_arith the Trainer and library.
"""

import math
import random
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from hf_arith.batching import encode
from hf_arith.data.builder import load_traces
from hf_arith.data.traces import make_completion, make_prompt, make_trace
from hf_arith.hardware import hardware_description
from hf_arith.training.arguments import parse_train_args
from hf_arith.training.collator import AnswerOnlyCollator
from hf_arith.training.run import train

Problem = tuple[str, int, int]


# ---------------------------------------------------------------- the plain model (nanoGPT), for the baselines
class PlainBlock(nn.Module):
    def __init__(self, n_embd: int, n_head: int, rope: bool):
        super().__init__()
        self.n_head, self.rope = n_head, rope
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.c_attn, self.c_proj = nn.Linear(n_embd, 3 * n_embd), nn.Linear(n_embd, n_embd)
        self.c_fc, self.mlp_proj = nn.Linear(n_embd, 4 * n_embd), nn.Linear(4 * n_embd, n_embd)

    def forward(self, x, cos_sin=None, mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if cos_sin is not None:
            cos, sin = cos_sin

            def rotate(t):
                t1, t2 = t.chunk(2, dim=-1)
                return t * cos + torch.cat((-t2, t1), dim=-1) * sin

            q, k = rotate(q), rotate(k)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class PlainGPT(nn.Module):
    """nanoGPT: token (+ learned position) embeddings or RoPE, pre-LayerNorm blocks, tied head, and nanoGPT's
    init: every Linear and Embedding N(0, 0.02), biases 0, residual projections N(0, 0.02 / sqrt(2 n_layer))."""

    def __init__(self, vocab_size: int, n_positions: int, n_embd: int, n_layer: int, n_head: int, rope: bool):
        super().__init__()
        self.rope, self.head_dim = rope, n_embd // n_head
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = None if rope else nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([PlainBlock(n_embd, n_head, rope) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for block in self.h:
            for projection in (block.c_proj, block.mlp_proj):
                nn.init.normal_(projection.weight, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def forward(self, idx, positions=None, mask=None):
        B, T = idx.shape
        positions = torch.arange(T, device=idx.device)[None].expand(B, T) if positions is None else positions
        x = self.wte(idx)
        cos_sin = None
        if self.rope:
            inv = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2, dtype=torch.float) / self.head_dim))
            freqs = positions[..., None].float() * inv  # (B, T, hs/2)
            emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # (B, 1, T, hs)
            cos_sin = (emb.cos(), emb.sin())
        else:
            x = x + self.wpe(positions)
        for block in self.h:
            x = block(x, cos_sin, mask)
        return self.lm_head(self.ln_f(x))


def trainer_param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """The Trainer's decay groups: every weight decays except biases and LayerNorm parameters."""
    no_decay = {name for module_name, module in model.named_modules() if isinstance(module, nn.LayerNorm)
                for name in (f"{module_name}.weight", f"{module_name}.bias")}
    decay, plain = [], []
    for name, parameter in model.named_parameters():
        (plain if name in no_decay or name.endswith("bias") else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """transformers' get_cosine_schedule_with_warmup: linear warm-up, then a half cosine to 0 at `total`."""
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


# ---------------------------------------------------------------- the check, charged to nobody
@dataclass
class Race:
    """Time to each check set's target, on a clock that runs only while training."""

    name: str
    target: float
    history: list[dict] = field(default_factory=list)
    seconds_to: dict = field(default_factory=dict)  # check set -> training seconds when first >= target
    steps_to: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    check_seconds: float = 0.0
    steps: int = 0

    def record(self, step: int, train_seconds: float, scores: dict[str, float], check_seconds: float) -> bool:
        """Stores a check (the time each set FIRST reaches the target); True when every set is at the target now,
        so a model that reached one set and then fell back keeps training."""
        self.check_seconds += check_seconds
        self.history.append({"step": step, "train_s": train_seconds, **scores})
        for name, score in scores.items():
            if score >= self.target and name not in self.seconds_to:
                self.seconds_to[name], self.steps_to[name] = train_seconds, step
        return all(score >= self.target for score in scores.values())


def check_sets(cache_dir: str, size: int = 1000) -> dict[str, list[Problem]]:
    """Held-out problems of the add3 preset's TEST split (never trained on by any contestant): the first `size`
    full-width ones and the first `size` of all (operand lengths uniform)."""
    test = load_traces(parse_train_args(["--preset", "add3"]).data, cache_dir)["test"]
    problems = [("+", int(a), int(b)) for a, b in zip(test["a"], test["b"])]
    full_width = [p for p in problems if p[1] >= 100 and p[2] >= 100][:size]
    return {"full_width": full_width, "easy": problems[:size]}


class Contestant:
    """A plain loop's model with its text format: encodes problems, makes batches, scores a check set."""

    def __init__(self, tokenizer, pad_width, model: PlainGPT):
        self.tokenizer, self.pad_width, self.model = tokenizer, pad_width, model

    def batch(self, problems: list[Problem]):
        examples = [dict(zip(("prompt", "completion"), make_trace(a, op, b, "reversed", self.pad_width)))
                    for op, a, b in problems]
        collated = AnswerOnlyCollator(self.tokenizer)(examples)
        positions = (collated["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        return collated["input_ids"], positions, collated["attention_mask"], collated["labels"]

    def loss(self, problems: list[Problem]) -> torch.Tensor:
        ids, positions, mask, labels = self.batch(problems)
        T = ids.shape[1]
        attend = torch.ones(T, T, dtype=torch.bool).tril()[None, None] & mask[:, None, None, :].bool()
        attend = attend | torch.eye(T, dtype=torch.bool)[None, None]  # a padding row sees itself: finite softmax
        logits = self.model(ids, positions, attend)
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                               ignore_index=-100)

    @torch.no_grad()
    def exact_match(self, problems: list[Problem], batch_size: int = 1000) -> float:
        """Greedy generation without a cache (prompts of one length batched together), whole completion + EOS."""
        self.model.eval()
        eos, right = self.tokenizer.eos_token_id, 0
        by_length: dict[int, list[int]] = {}
        prompts = [encode(self.tokenizer, make_prompt(a, op, b, self.pad_width)) for op, a, b in problems]
        for i, p in enumerate(prompts):
            by_length.setdefault(len(p), []).append(i)
        for rows in by_length.values():
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                idx = torch.tensor([prompts[i] for i in chunk])
                references = [encode(self.tokenizer, make_completion(problems[i][1], "+", problems[i][2], "reversed",
                                                                     self.pad_width)) + [eos] for i in chunk]
                for _ in range(max(map(len, references))):
                    idx = torch.cat([idx, self.model(idx)[:, -1].argmax(-1, keepdim=True)], dim=1)
                for row, reference in zip(idx[:, len(prompts[chunk[0]]):].tolist(), references):
                    right += row[: len(reference)] == reference
        self.model.train()
        return right / len(problems)


def fair_loop(name: str, tokenizer, train_problems: list[Problem], checks: dict, seed: int, target: float,
              max_steps: int = 800, check_every: int = 50, batch_size: int = 256, budget_s: float = 600.0) -> Race:
    """The fair plain loop: hf_arith's model shape, data, format and the Trainer's optimizer, in plain PyTorch."""
    torch.manual_seed(seed)
    n_positions = len(encode(tokenizer, make_prompt(999, "+", 999, 3))) + len(make_completion(999, "+", 999,
                                                                                              "reversed", 3)) + 1
    model = PlainGPT(tokenizer.vocab_size, n_positions, 128, 2, 4, rope=False).train()
    contestant = Contestant(tokenizer, 3, model)
    optimizer = torch.optim.AdamW(trainer_param_groups(model, 0.1), lr=3e-3, betas=(0.9, 0.99), eps=1e-8)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, 30, max_steps))
    order, rng = [], random.Random(seed)
    race = Race(name, target)
    for step in range(1, max_steps + 1):
        start = time.perf_counter()
        if len(order) < batch_size:  # shuffled epochs, as the Trainer's sampler
            epoch = list(range(len(train_problems)))
            rng.shuffle(epoch)
            order += epoch
        batch, order = [train_problems[i] for i in order[:batch_size]], order[batch_size:]
        loss = contestant.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        race.train_seconds += time.perf_counter() - start
        race.steps = step
        if step % check_every == 0 or step == max_steps:
            checked = time.perf_counter()
            scores = {set_name: contestant.exact_match(problems) for set_name, problems in checks.items()}
            if race.record(step, race.train_seconds, scores, time.perf_counter() - checked):
                break
        if race.train_seconds > budget_s:
            break
    return race


def seeds_loop(train_seed: int, checks: dict, target: float, budget_s: float, check_every: int = 50) -> Race:
    """Seed 001 as the notebook ran it (see the module docstring), stopped by the same check."""
    torch.manual_seed(train_seed)
    rng = random.Random(train_seed)
    held_out = {p for problems in checks.values() for p in problems}
    chars = "0123456789+= "
    stoi = {c: i for i, c in enumerate(chars)}
    length = len("999+999=") + len("1998") + 1  # every string right-padded with spaces to this length

    def encode_row(a, b):
        prompt, answer = f"{a}+{b}=", str(a + b)[::-1]
        return [stoi[c] for c in (prompt + answer).ljust(length)], len(prompt)

    model = PlainGPT(len(chars), length, 128, 4, 4, rope=True).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)  # constant, decay on everything

    class SeedContestant:
        @torch.no_grad()
        def exact_match(self, problems):
            model.eval()
            right = 0
            by_length: dict[int, list[Problem]] = {}
            for p in problems:
                by_length.setdefault(len(f"{p[1]}+{p[2]}="), []).append(p)
            for prompt_length, group in by_length.items():
                idx = torch.tensor([[stoi[c] for c in f"{a}+{b}="] for _, a, b in group])
                for _ in range(length - prompt_length):
                    idx = torch.cat([idx, model(idx)[:, -1].argmax(-1, keepdim=True)], dim=1)
                for row, (_, a, b) in zip(idx[:, prompt_length:].tolist(), group):
                    right += "".join(chars[t] for t in row).rstrip(" ") == str(a + b)[::-1]
            model.train()
            return right / len(problems)

    contestant = SeedContestant()
    race = Race("seeds_loop", target)
    step = 0
    while race.train_seconds < budget_s:
        start = time.perf_counter()
        rows, prompt_lengths = [], []
        while len(rows) < 256:
            a, b = rng.randint(0, 999), rng.randint(0, 999)
            if ("+", a, b) not in held_out:
                row, prompt_length = encode_row(a, b)
                rows.append(row)
                prompt_lengths.append(prompt_length)
        ids = torch.tensor(rows)
        x, y = ids[:, :-1], ids[:, 1:].clone()
        for r, prompt_length in enumerate(prompt_lengths):
            y[r, : prompt_length - 1] = -1  # no loss while the input is still inside the prompt
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        race.train_seconds += time.perf_counter() - start
        race.steps = step
        if step % check_every == 0:
            checked = time.perf_counter()
            scores = {name: contestant.exact_match(problems) for name, problems in checks.items()}
            if race.record(step, race.train_seconds, scores, time.perf_counter() - checked):
                break
    return race


def hf_arith_run(seed: int, checks: dict, target: float, workdir: str, cache_dir: str, check_every: int = 50
                 ) -> Race:
    """`hf-arith train` with the add3 preset; the Trainer's own evaluation is off, the same check runs as a
    callback on the same cadence, and its time is taken off the clock."""
    from transformers import TrainerCallback

    from hf_arith.evaluation.scoring import evaluate_problems

    race = Race("hf_arith", target)

    class Check(TrainerCallback):
        """Training time = wall time since training began minus the checks (data loading and the Trainer's own
        bookkeeping count, as they do for the plain loops)."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
            race.train_seconds = time.perf_counter() - self.start - race.check_seconds
            race.steps = state.global_step
            if state.global_step % check_every and state.global_step != state.max_steps:
                return
            checked = time.perf_counter()
            scores = {name: evaluate_problems(model, processing_class, problems, "reversed", 3)["exact_match"]
                      for name, problems in checks.items()}
            model.train()
            if race.record(state.global_step, race.train_seconds, scores, time.perf_counter() - checked):
                control.should_training_stop = True

    spec = parse_train_args(["--preset", "add3", "--seed", str(seed), "--output_dir", f"{workdir}/hf_arith-{seed}",
                             "--overwrite_output_dir", "true", "--data_cache_dir", cache_dir, "--eval_strategy", "no",
                             "--save_strategy", "no", "--suites", "test", "--disable_tqdm", "true"])
    train(spec, callbacks=[Check()])
    return race


def fair_data(cache_dir: str) -> list[Problem]:
    """The add3 preset's training split: the data hf_arith trains on, for the fair loops too."""
    train_split = load_traces(parse_train_args(["--preset", "add3"]).data, cache_dir)["train"]
    return [("+", int(a), int(b)) for a, b in zip(train_split["a"], train_split["b"])]


def machine_line() -> str:
    return hardware_description("cuda" if torch.cuda.is_available() else "cpu")
