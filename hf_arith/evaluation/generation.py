"""Generation: batched greedy completions of arithmetic prompts (KV cache, exact token budgets, no answer lost), and
top-k / top-p sampling of text for the character language models."""

from dataclasses import dataclass

import torch
from transformers.generation.streamers import BaseStreamer

from ..batching import encode, left_pad


@dataclass(frozen=True)
class Completion:
    """text: the generated tokens up to EOS (or up to the budget); finished: EOS came within the budget;
    reason: why it did not finish (None if it did); confidence (asked for with `scores=True`): each token generate
    wrote, EOS included, with the probability the model gave it at that step."""

    text: str
    finished: bool
    reason: str | None = None
    confidence: tuple[tuple[str, float], ...] = ()


def _generate_batch(model, tokenizer, encoded: list[list[int]], budgets: list[int], use_cache: bool,
                    id_to_token: dict[int, str], scores: bool = False) -> list[Completion]:
    limit = model.config.n_positions if model.config.position_embedding == "learned" else None
    longest = max(map(len, encoded))
    # Every row generates the batch's step count; a learned table caps the longest prompt's positions.
    steps = max(budgets) if limit is None else min(max(budgets), limit - longest)
    results: list[Completion | None] = [None] * len(encoded)
    if steps < 1:
        return [Completion("", False, f"the prompt fills the position table (n_positions={limit})")] * len(encoded)
    input_ids, attention_mask = left_pad(encoded, tokenizer.pad_token_id)
    with_scores = {"output_logits": True, "return_dict_in_generate": True} if scores else {}
    output = model.generate(
        input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device), max_new_tokens=steps,
        do_sample=False, use_cache=use_cache, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, **with_scores,
    )
    new = (output.sequences if scores else output)[:, input_ids.shape[1]:]
    probabilities = [[]] * len(encoded)
    if scores:  # the logits generate chose from: no second encoding of what it wrote
        chosen = torch.stack(output.logits, 1).float().softmax(-1).gather(-1, new[..., None].to(model.device))
        probabilities = chosen[..., 0].tolist()
    eos = tokenizer.eos_token_id
    for r, (row, budget) in enumerate(zip(new.tolist(), budgets)):
        row = row[:budget]
        end = row.index(eos) + 1 if eos in row else len(row)
        confidence = tuple((id_to_token[t], round(p, 4)) for t, p in zip(row[:end], probabilities[r]))
        # Special tokens stay visible ("<pad>"), so a misplaced one can never read as a right answer.
        if eos in row:
            results[r] = Completion("".join(id_to_token[t] for t in row[: end - 1]), True, None, confidence)
        else:
            reason = (f"no end of sequence within {budget} tokens (the problem's trace has {budget - 1})"
                      if len(row) == budget else f"stopped at the position table (n_positions={limit})")
            results[r] = Completion("".join(id_to_token[t] for t in row), False, reason, confidence)
    return results


@torch.no_grad()
def generate_completions(model, tokenizer, prompts: list[str], max_new_tokens: int | list[int],
                         batch_size: int = 1000, use_cache: bool = True) -> list[Completion]:
    """Greedy completions for many prompts, in order, one `Completion` per prompt.

    max_new_tokens: one budget, or one per prompt (the exact length of its trace plus EOS: a completion still
    running after that is wrong whatever follows, so nothing is lost by stopping). Prompts are batched by length,
    so little is padded. A batch that fails (e.g. a position beyond the model's table) is retried one prompt at a
    time, and a prompt that fails alone gets finished=False with the error as its reason: no answer is dropped.
    """
    return generate_from_ids(model, tokenizer, [encode(tokenizer, p) for p in prompts], max_new_tokens, batch_size,
                             use_cache)


def _batches(model, encoded: list[list[int]], budgets: list[int], batch_size: int) -> list[list[int]]:
    """Row indices in batches of similar prompt length. With a learned position table every row of a batch stops
    generating where the batch's longest prompt reaches the table's end (`_generate_batch`), so a long prompt with a
    short budget (a second look's prompt holds most of its answer) must not share a batch with short prompts that
    need many tokens: a new batch starts where the longest prompt and the largest budget together pass the table.
    A row's budget counts up to what it could get alone (a prompt too long for its budget is cut alone)."""
    limit = model.config.n_positions if model.config.position_embedding == "learned" else None
    batches, rows, most = [], [], 0
    for i in sorted(range(len(encoded)), key=lambda i: len(encoded[i])):
        length = len(encoded[i])
        budget = budgets[i] if limit is None else min(budgets[i], max(limit - length, 0))
        if rows and (len(rows) == batch_size or limit is not None and length + max(most, budget) > limit):
            batches.append(rows)
            rows, most = [], 0
        rows.append(i)
        most = max(most, budget)
    return batches + [rows] if rows else batches


@torch.no_grad()
def generate_from_ids(model, tokenizer, encoded: list[list[int]], max_new_tokens: int | list[int],
                      batch_size: int = 1000, use_cache: bool = True, scores: bool = False) -> list[Completion]:
    """`generate_completions` for prompts given as token ids (a prompt followed by tokens the caller fixes, e.g. the
    calculator's second look); `scores`: each Completion carries its tokens' probabilities."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    budgets = [max_new_tokens] * len(encoded) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    if len(budgets) != len(encoded) or min(budgets, default=1) < 1:
        raise ValueError("max_new_tokens must be >= 1 and given once or once per prompt")
    model.eval()
    id_to_token = {i: token for token, i in tokenizer.get_vocab().items()}  # one dict lookup per token: fast
    completions: list[Completion | None] = [None] * len(encoded)
    for rows in _batches(model, encoded, budgets, batch_size):
        try:
            batch = _generate_batch(model, tokenizer, [encoded[i] for i in rows], [budgets[i] for i in rows],
                                    use_cache, id_to_token, scores)
        except (ValueError, IndexError, RuntimeError):
            batch = []
            for i in rows:
                try:
                    batch += _generate_batch(model, tokenizer, [encoded[i]], [budgets[i]], use_cache, id_to_token,
                                             scores)
                except (ValueError, IndexError, RuntimeError) as error:
                    batch.append(Completion("", False, str(error).splitlines()[0]))
        for i, completion in zip(rows, batch):
            completions[i] = completion
    return completions


# How far a reference token's logit must lead every other one before the one-pass check trusts it: a full forward
# and a cached step of the same model differ by float rounding (~1e-5 here), so a lead under this is sent to
# generation, which decides the near tie the way greedy decoding itself does.
CERTIFY_MARGIN = 0.05


@torch.no_grad()
def greedy_reproduces(model, tokenizer, prompts: list[str], completions: list[str], batch_size: int = 1000,
                      margin: float = CERTIFY_MARGIN) -> list[bool]:
    """For each prompt, whether greedy decoding is certain to write exactly `completion` and then EOS.

    Greedy decoding writes the reference exactly when, at every position along the reference, the reference token
    is the argmax given the reference prefix (by induction on the position); that is one forward pass per problem
    instead of one decoding step per token. True is a proof up to `margin` (every reference token leads the next
    best by more than it); False says nothing: the caller generates those problems. Rows are left-padded with an
    attention mask, as in `generate`. Coupled positions are computed from the whole sequence and are not checked
    here (every row False); so is a row longer than a learned position table.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    certified = [False] * len(prompts)
    if model.config.position_embedding == "coupled":
        return certified
    model.eval()
    id_to_token = {i: token for token, i in tokenizer.get_vocab().items()}
    limit = model.config.n_positions if model.config.position_embedding == "learned" else None
    rows = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions)):
        prompt_ids, completion_ids = encode(tokenizer, prompt), encode(tokenizer, completion)
        # Greedy output is compared as text: the ids must spell the completion back exactly.
        if not prompt_ids or "".join(id_to_token[t] for t in completion_ids) != completion:
            continue
        # generate() keeps prompt + completion + EOS within a learned table: the same rows pass here
        if limit is not None and len(prompt_ids) + len(completion_ids) + 1 > limit:
            continue
        rows.append((i, prompt_ids, completion_ids + [tokenizer.eos_token_id]))
    rows.sort(key=lambda row: len(row[1]) + len(row[2]))  # similar lengths together: little padding
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        # Left-padded as `generate` pads, with the mask: the same positions. The last target (EOS) is never an
        # input; position j's target is the token after it, so a row's targets start at the prompt's last token.
        input_ids, attention_mask = left_pad([p + t[:-1] for _, p, t in batch], tokenizer.pad_token_id)
        targets, _ = left_pad([[-100] * (len(p) - 1) + t for _, p, t in batch], 0, fill=-100)
        logits = model(input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device)).logits
        logits = logits.float()
        targets = targets.to(logits.device)
        checked = targets != -100
        target_logit = logits.gather(-1, targets.clamp(min=0)[..., None])[..., 0]
        rival = logits.scatter(-1, targets.clamp(min=0)[..., None], float("-inf")).amax(-1)
        ok = ((target_logit - rival > margin) | ~checked).all(dim=-1).tolist()
        for (i, _, _), row_ok in zip(batch, ok):
            certified[i] = row_ok
    return certified


@torch.no_grad()
def least_sure(model, tokenizer, prompt_ids: list[int], completion_ids: list[int]) -> list[tuple[int, int, float]]:
    """Where the model was least sure of a completion it wrote: for each position of `completion_ids`, the lead of
    the written token's logit over the best other token's (special tokens left out: a second choice that stops or
    pads writes no answer), as (position, that other token, lead), the smallest lead first. One forward
    pass over prompt and completion (the logits greedy decoding saw, up to float rounding)."""
    if not prompt_ids or not completion_ids:
        return []
    model.eval()
    ids = torch.tensor([prompt_ids + completion_ids], device=model.device)
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, len(prompt_ids) - 1 : -1].float()
    written = torch.tensor(completion_ids, device=logits.device)
    others = logits.scatter(-1, written[:, None], float("-inf"))
    others[:, sorted(set(tokenizer.all_special_ids))] = float("-inf")
    lead = logits.gather(-1, written[:, None])[:, 0] - others.amax(-1)
    second = others.argmax(-1)
    return sorted(((p, int(second[p]), float(lead[p])) for p in range(len(completion_ids))), key=lambda x: x[2])


# What `sample_text` generates at most in one call: at a few thousand tokens a second on a CPU, about an hour or more;
# a larger request (a typo, a billion) is refused rather than run for days.
MAX_SAMPLE_TOKENS = 1_000_000


class _TextCallback(BaseStreamer):
    """generate()'s streamer hook: hands each new token's text to `on_text` (the prompt, put first, is skipped)."""

    def __init__(self, tokenizer, on_text):
        self.tokenizer, self.on_text, self.prompt_seen = tokenizer, on_text, False

    def put(self, value):
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.on_text(self.tokenizer.decode(value.reshape(-1).tolist()))

    def end(self):
        self.prompt_seen = False  # the next generate() call puts its prompt first again


@torch.no_grad()
def sample_text(model, tokenizer, prompt: str, max_new_tokens: int, generator_seed: int, on_text=None,
                **sampling) -> str:
    """Samples `max_new_tokens` after `prompt` through `generate` (top-k / top-p / temperature in `sampling`), and
    returns them as text; `on_text(piece)` is called with each token's text as it is generated (a terminal shows
    it at once).

    Like nanoGPT, the context is cropped to the model's window: past `n_positions` tokens, generation goes on from
    the last half window, so any length fits the model, and memory holds the window and the text only. At most
    MAX_SAMPLE_TOKENS. `generate` draws from torch's global generator, so it is seeded here from the argument.
    """
    if not 0 < max_new_tokens <= MAX_SAMPLE_TOKENS:
        raise ValueError(f"max_new_tokens must be in [1, {MAX_SAMPLE_TOKENS:,}], got {max_new_tokens:,}")
    window = model.config.n_positions
    ids = encode(tokenizer, prompt)
    if not ids:
        raise ValueError("the prompt must hold at least one character")
    streamer = _TextCallback(tokenizer, on_text) if on_text is not None else None
    torch.manual_seed(generator_seed)
    generated = []
    while len(generated) < max_new_tokens:
        context = (ids + generated)[-(window // 2 if len(ids) + len(generated) >= window else window):]
        steps = min(max_new_tokens - len(generated), window - len(context))
        context_ids = torch.tensor([context], device=model.device)
        out = model.generate(context_ids, attention_mask=torch.ones_like(context_ids), max_new_tokens=steps,
                             do_sample=True, pad_token_id=tokenizer.pad_token_id, eos_token_id=None,
                             streamer=streamer, **sampling)
        generated += out[0, len(context):].tolist()
    return tokenizer.decode(generated)


__all__ = ["CERTIFY_MARGIN", "MAX_SAMPLE_TOKENS", "Completion", "generate_completions", "generate_from_ids",
           "greedy_reproduces", "least_sure", "sample_text"]
