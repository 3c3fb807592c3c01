"""The loss of a character model over EVERY contiguous block of the last 10 % of a corpus, at a block size of your
choice (predict block[1:] from block[:-1]): one estimate for models of different contexts, e.g. an hf_arith model of
context 128 on nanoGPT's 64-character blocks (docs/shakespeare.md, "Fifteen minutes each").

    python scripts/block_loss.py --model_dir outputs/shakespeare-char-15min --block_size 64
"""

import sys
from dataclasses import dataclass, field

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, HfArgumentParser

from hf_arith.batching import encode
from hf_arith.data.corpus import read_corpus


@dataclass
class BlockLossArguments:
    model_dir: str = field(metadata={"help": "a saved hf_arith character model"})
    block_size: int = field(default=64, metadata={"help": "characters per block (at most the model's context)"})
    corpus_file: str = field(default=None, metadata={"help": "the corpus (default: the shipped Tiny Shakespeare)"})
    batch_size: int = field(default=256, metadata={"help": "blocks per forward pass"})


def block_loss(model, ids: list[int], block_size: int, batch_size: int = 256) -> tuple[float, int]:
    """(mean loss in nats per predicted character, number of blocks) over every block of the last 10 % of `ids`."""
    if not 2 <= block_size <= model.config.n_positions:
        raise ValueError(f"block_size must be in [2, {model.config.n_positions}] (the model's context), "
                         f"got {block_size}")
    val = torch.tensor(ids[int(0.9 * len(ids)):])
    blocks = val[: len(val) // block_size * block_size].view(-1, block_size)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(blocks), batch_size):
            x = blocks[start : start + batch_size]
            logits = model(input_ids=x[:, :-1]).logits
            total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1),
                                                             reduction="sum"))
    return total / (len(blocks) * (block_size - 1)), len(blocks)


def main(argv=None) -> int:
    (args,) = HfArgumentParser(BlockLossArguments).parse_args_into_dataclasses(argv)
    model = AutoModelForCausalLM.from_pretrained(args.model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    try:
        loss, n = block_loss(model, encode(tokenizer, read_corpus(args.corpus_file)), args.block_size, args.batch_size)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"loss {loss:.4f} nats/char over {n} blocks of {args.block_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
