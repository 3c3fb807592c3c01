"""Text corpora for character-level language modelling: Tiny Shakespeare (public domain) ships gzipped, and the
nanoGPT-style datasets over a corpus (random training blocks, every contiguous validation block)."""

import gzip
import random
from pathlib import Path

import torch

TINY_SHAKESPEARE = Path(__file__).with_name("tinyshakespeare.txt.gz")
# The largest corpus read (characters): it is held in memory as text and as a list of token ids (about 10 bytes a
# character together), so 100 million characters take about 1 GB; a larger file is refused, not read.
MAX_CORPUS_CHARACTERS = 100_000_000


def read_corpus(path: str | None = None) -> str:
    """Reads a UTF-8 text file (plain or .gz); None gives the shipped Tiny Shakespeare (1,115,394 characters)."""
    path = Path(path) if path else TINY_SHAKESPEARE
    if not path.is_file():
        raise ValueError(f"corpus file {str(path)!r} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            text = f.read(MAX_CORPUS_CHARACTERS + 1)  # bounded: a gzip's size on disk says nothing of its text
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"corpus file {str(path)!r} cannot be read as UTF-8 text: {error}") from None
    if len(text) > MAX_CORPUS_CHARACTERS:
        raise ValueError(f"corpus file {str(path)!r} holds more than {MAX_CORPUS_CHARACTERS:,} characters, the most "
                         "hf_arith reads")
    if not text:
        raise ValueError(f"corpus file {str(path)!r} is empty")
    return text


class RandomBlocks(torch.utils.data.Dataset):
    """nanoGPT-style training blocks at random offsets; offset i is a function of (seed, i), so runs repeat."""

    def __init__(self, ids: torch.Tensor, block_size: int, num_samples: int, seed: int):
        self.ids, self.block_size, self.num_samples, self.seed = ids, block_size, num_samples, seed

    def __len__(self):
        return self.num_samples

    def __getitem__(self, i):
        start = random.Random(self.seed * 1_000_003 + i).randrange(len(self.ids) - self.block_size)
        block = self.ids[start : start + self.block_size]
        return {"input_ids": block, "labels": block}


def corpus_datasets(ids: list[int], block_size: int, num_samples: int, seed: int):
    """90/10 split of the token ids (first 90 % train); validation is every contiguous block of the last 10 %
    (`periodic_sample` draws the cheaper estimate evaluated during training)."""
    ids = torch.tensor(ids, dtype=torch.long)
    cut = int(0.9 * len(ids))
    train, val = ids[:cut], ids[cut:]
    if len(val) <= block_size or cut <= block_size:
        raise ValueError(f"a corpus of {len(ids)} characters is too short for block_size={block_size}")
    blocks = val[: (len(val) // block_size) * block_size].view(-1, block_size)
    return RandomBlocks(train, block_size, num_samples, seed), [{"input_ids": b, "labels": b} for b in blocks]


def periodic_sample(validation: list, size: int | None, seed: int) -> list:
    """`size` validation blocks drawn once with `seed` (every block when size is None or not smaller): the same
    sample at every periodic evaluation, so the curve compares like with like."""
    if size is None or size >= len(validation):
        return validation
    chosen = sorted(random.Random(f"{seed}-periodic-eval").sample(range(len(validation)), size))
    return [validation[i] for i in chosen]
