"""Text corpora for character-level language modelling. Tiny Shakespeare (public domain) ships gzipped."""

import gzip
from pathlib import Path

TINY_SHAKESPEARE = Path(__file__).with_name("tinyshakespeare.txt.gz")


def read_corpus(path: str | None = None) -> str:
    """Reads a UTF-8 text file (plain or .gz); None gives the shipped Tiny Shakespeare (1,115,394 characters)."""
    path = Path(path) if path else TINY_SHAKESPEARE
    if not path.is_file():
        raise ValueError(f"corpus file {str(path)!r} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        text = f.read()
    if not text:
        raise ValueError(f"corpus file {str(path)!r} is empty")
    return text
