"""Answer-only masking: batches of (prompt, completion) become left-padded ids with labels on the completion alone."""

import torch

from ..batching import encode, left_pad


class AnswerOnlyCollator:
    """Tokenizes `prompt` and `completion` per batch, appends EOS, pads on the left, and sets labels to -100 on the
    prompt and on padding, so loss and accuracy come from the completion (and its EOS) alone (seeds 000 and 001).

    The labels are the input ids themselves; the model's loss shifts them by one, exactly seed 001's
    x = tokens[:-1], y = tokens[1:] with y ignored before the answer's first digit is predicted.
    """

    def __init__(self, tokenizer):
        if tokenizer.pad_token_id is None or tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer needs a pad token and an EOS token")
        self.tokenizer = tokenizer

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        eos = self.tokenizer.eos_token_id
        prompts = [encode(self.tokenizer, ex["prompt"]) for ex in examples]
        completions = [encode(self.tokenizer, ex["completion"]) + [eos] for ex in examples]
        input_ids, attention_mask = left_pad([p + c for p, c in zip(prompts, completions)],
                                             self.tokenizer.pad_token_id)
        # The completion is the right end of every row: the labels are the ids where a row's last len(completion)
        # columns are, -100 elsewhere (the prompt and the padding).
        width = input_ids.shape[1]
        starts = torch.tensor([width - len(c) for c in completions])
        labels = input_ids.masked_fill(torch.arange(width) < starts[:, None], -100)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def stack_blocks(examples: list[dict]) -> dict[str, torch.Tensor]:
    """A corpus batch: equal-length blocks stacked once, the labels the same tensor (the model's loss shifts them).
    The Trainer's default for a tokenizer, DataCollatorWithPadding, pads blocks that need none (0.5 ms a batch)."""
    ids = torch.stack([ex["input_ids"] for ex in examples])
    return {"input_ids": ids, "labels": ids}
