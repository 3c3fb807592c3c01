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
        # The completion is the right end of every row: left-padding it alone into the same width puts each label
        # under its own token, with -100 over the prompt and the padding.
        labels, _ = left_pad(completions, 0, fill=-100)
        labels = torch.cat([torch.full((len(examples), input_ids.shape[1] - labels.shape[1]), -100), labels], dim=1)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
