import pytest
import torch

from hf_arith import ArithGPTForCausalLM
from hf_arith.configuration_arith_gpt import POSITION_EMBEDDINGS


def make_model(config):
    torch.manual_seed(0)
    return ArithGPTForCausalLM(config).eval()


@pytest.mark.parametrize("position_embedding", POSITION_EMBEDDINGS)
def test_forward_backward_and_loss_ignores_minus_100(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding)).train()
    ids = torch.randint(4, 24, (3, 9))
    out = model(ids, labels=ids)
    assert out.logits.shape == (3, 9, 24)
    out.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
    # Only label positions that are not -100 count: equal to cross-entropy over the kept (shifted) positions.
    labels = ids.clone()
    labels[:, :5] = -100
    masked = model(ids, labels=labels)
    expected = torch.nn.functional.cross_entropy(masked.logits[:, 4:-1].reshape(-1, 24), ids[:, 5:].reshape(-1))
    torch.testing.assert_close(masked.loss, expected)


def test_tied_embeddings_and_scaled_init(tiny_config):
    model = make_model(tiny_config(n_layer=4, n_embd=64))
    assert model.lm_head.weight is model.transformer.wte.weight
    proj_std = model.transformer.h[0].attn.c_proj.weight.std().item()
    fc_std = model.transformer.h[0].mlp.c_fc.weight.std().item()
    assert proj_std == pytest.approx(0.02 / (2 * 4) ** 0.5, rel=0.15)
    assert fc_std == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize("position_embedding", POSITION_EMBEDDINGS)
def test_generation_with_and_without_cache(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding, eos_token_id=None))
    ids = torch.randint(4, 24, (2, 7))
    cached = model.generate(ids, max_new_tokens=10, do_sample=False, use_cache=True,
                            output_logits=True, return_dict_in_generate=True)
    uncached = model.generate(ids, max_new_tokens=10, do_sample=False, use_cache=False,
                              output_logits=True, return_dict_in_generate=True)
    assert torch.equal(cached.sequences, uncached.sequences)
    for a, b in zip(cached.logits, uncached.logits):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("position_embedding", POSITION_EMBEDDINGS)
def test_left_padded_batch_generates_what_each_example_generates_alone(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding, eos_token_id=None))
    prompts = [torch.randint(4, 24, (n,)) for n in (3, 8, 5)]
    width = max(len(p) for p in prompts)
    input_ids = torch.stack([torch.cat([torch.zeros(width - len(p), dtype=torch.long), p]) for p in prompts])
    attention_mask = (input_ids != 0).long()
    attention_mask[:, -1] = 1
    for row, p in enumerate(prompts):
        attention_mask[row, width - len(p):] = 1
    batch = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=8, do_sample=False,
                           output_logits=True, return_dict_in_generate=True)
    for row, p in enumerate(prompts):
        alone = model.generate(p[None], max_new_tokens=8, do_sample=False,
                               output_logits=True, return_dict_in_generate=True)
        assert torch.equal(batch.sequences[row, width:], alone.sequences[0, len(p):])
        for step_batch, step_alone in zip(batch.logits, alone.logits):
            torch.testing.assert_close(step_batch[row], step_alone[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("position_embedding", POSITION_EMBEDDINGS)
def test_save_load_gives_identical_logits(tiny_config, position_embedding, tmp_path):
    model = make_model(tiny_config(position_embedding=position_embedding))
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    loaded = ArithGPTForCausalLM.from_pretrained(tmp_path).eval()
    ids = torch.randint(4, 24, (2, 12))
    assert torch.equal(model(ids).logits, loaded(ids).logits)  # RoPE inv_freq is rebuilt, not left on meta
    assert loaded.lm_head.weight is loaded.transformer.wte.weight


def test_bigram_baseline_depends_on_the_last_token_only(tiny_config):
    model = make_model(tiny_config(n_layer=0, tie_word_embeddings=False, position_embedding="none"))
    a = model(torch.tensor([[5, 6, 7]])).logits[0, -1]
    b = model(torch.tensor([[9, 9, 7]])).logits[0, -1]
    torch.testing.assert_close(a, b)


def test_sampling_is_reproducible_with_a_seed(tiny_config):
    model = make_model(tiny_config(eos_token_id=None))
    ids = torch.randint(4, 24, (1, 4))
    kwargs = dict(max_new_tokens=12, do_sample=True, temperature=0.8, top_k=5, top_p=0.9)
    torch.manual_seed(1)
    first = model.generate(ids, **kwargs)
    torch.manual_seed(1)
    assert torch.equal(first, model.generate(ids, **kwargs))
    torch.manual_seed(1)
    greedy_top1 = model.generate(ids, max_new_tokens=12, do_sample=True, top_k=1)
    assert torch.equal(greedy_top1, model.generate(ids, max_new_tokens=12, do_sample=False))


def test_learned_positions_beyond_the_table_raise(tiny_config):
    model = make_model(tiny_config(n_positions=8))
    with pytest.raises(ValueError, match=r"position 9 is beyond the learned position table \(n_positions=8\)"):
        model(torch.randint(4, 24, (1, 10)))
