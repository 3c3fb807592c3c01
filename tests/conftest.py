import os
import sys
from pathlib import Path

import pytest
import torch

# The benchmark and its baselines live beside their script (scripts/), not in the package users import.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

# Two cores: keep torch from oversubscribing when tests run in parallel workers.
torch.set_num_threads(max(1, (os.cpu_count() or 2) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))

# Tiny vocabulary of the model tests: 0 pad, 1 bos, 2 eos, 3 unk, 4-13 the digits "0".."9", 14 "=", 15-18 the
# operators, 19-23 others.
DIGIT_IDS, EQUALS_ID, OPERATOR_IDS = list(range(4, 14)), 14, [15, 16, 17, 18]


@pytest.fixture
def tiny_config():
    from hf_arith import ArithGPTConfig

    def make(**overrides):
        settings = dict(vocab_size=24, n_positions=32, n_embd=32, n_head=4, n_layer=2, pad_token_id=0, eos_token_id=2)
        if overrides.get("position_embedding") == "coupled-window":
            # coupled ids over RoPE, the operator as the sentinel, attention within one id (the length recipe)
            overrides = {**overrides, "position_embedding": "coupled", "coupled_embedding": "rope",
                         "coupled_markers": "sentinel", "operator_token_ids": OPERATOR_IDS,
                         "coupled_attention_window": 1}
        if overrides.get("position_embedding") == "coupled":
            settings.update(digit_token_ids=DIGIT_IDS, equals_token_id=EQUALS_ID)
        settings.update(overrides)
        return ArithGPTConfig(**settings)

    return make


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A model folder of the TINY run (tests/tiny.py) and its data cache, trained once per session."""
    from hf_arith.cli import main

    from .tiny import TINY

    out = tmp_path_factory.mktemp("run") / "model"
    cache = tmp_path_factory.mktemp("cache")
    assert main(["train", *TINY, "--output_dir", str(out), "--data_cache_dir", str(cache)]) == 0
    return out, cache


@pytest.fixture(autouse=True)
def _no_version_note(monkeypatch):
    """hf-arith's one-line note about a transformers release newer than the tested ones would add a line to every
    command's stderr that tests count; CI's newest pass prints the fact once instead (.ci/run), and
    test_a_newer_transformers_minor_is_named_once_on_stderr tests the note itself."""
    from hf_arith import compat

    monkeypatch.setattr(compat, "_warned", True)
