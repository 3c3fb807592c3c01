import os

import pytest
import torch

# Two cores: keep torch from oversubscribing when tests run in parallel workers.
torch.set_num_threads(max(1, (os.cpu_count() or 2) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))


@pytest.fixture
def tiny_config():
    from hf_arith import ArithGPTConfig

    def make(**overrides):
        settings = dict(vocab_size=24, n_positions=32, n_embd=32, n_head=4, n_layer=2, pad_token_id=0, eos_token_id=2)
        settings.update(overrides)
        return ArithGPTConfig(**settings)

    return make
