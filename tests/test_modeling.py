import pytest
import torch

from hf_arith import ArithGPTForCausalLM
from hf_arith.configuration_arith_gpt import POSITION_EMBEDDINGS

# every position scheme, and the length recipe's coupled variant (sentinel, RoPE, id window; see conftest.py)
SCHEMES = [*POSITION_EMBEDDINGS, "coupled-window"]


def make_model(config):
    torch.manual_seed(0)
    return ArithGPTForCausalLM(config).eval()


@pytest.mark.parametrize("position_embedding", SCHEMES)
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


@pytest.mark.parametrize("position_embedding", SCHEMES)
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


@pytest.mark.parametrize("position_embedding", SCHEMES)
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


@pytest.mark.parametrize("position_embedding", SCHEMES)
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


# ---- what a transformers user expects of a decoder model (the ecosystem issue, part 1)


@pytest.mark.parametrize("position_embedding", SCHEMES)
def test_hidden_states_and_attentions_are_returned(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding, n_layer=3))
    model.set_attn_implementation("eager")
    ids = torch.randint(4, 24, (2, 7))
    out = model(ids, output_hidden_states=True, output_attentions=True)
    assert len(out.hidden_states) == 4 and all(h.shape == (2, 7, 32) for h in out.hidden_states)  # embeddings + 3
    assert len(out.attentions) == 3 and all(a.shape == (2, 4, 7, 7) for a in out.attentions)
    torch.testing.assert_close(out.attentions[0].sum(-1), torch.ones(2, 4, 7))  # rows of softmax weights
    assert torch.all(out.attentions[1].triu(1) == 0)  # causal: nothing attends to a later token
    generated = model.generate(ids, max_new_tokens=3, do_sample=False, return_dict_in_generate=True,
                               output_hidden_states=True, output_attentions=True)
    assert len(generated.hidden_states) == 3 and len(generated.attentions) == 3  # one entry per new token


@pytest.mark.parametrize("position_embedding", SCHEMES)
def test_return_dict_false_gives_tuples(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding))
    ids = torch.randint(4, 24, (1, 5))
    logits, past = model(ids, return_dict=False)
    torch.testing.assert_close(logits, model(ids).logits)
    assert past.get_seq_length() == 5
    model.config.return_dict = False
    assert isinstance(model(ids), tuple)


@pytest.mark.parametrize("position_embedding", SCHEMES)
def test_eager_and_sdpa_attention_agree(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding))
    ids = torch.randint(4, 24, (3, 9))
    mask = torch.ones_like(ids)
    mask[0, :4] = 0  # left padding
    sdpa = model(ids, attention_mask=mask).logits
    model.set_attn_implementation("eager")
    assert model.config._attn_implementation == "eager"
    eager = model(ids, attention_mask=mask).logits
    torch.testing.assert_close(eager[:, 4:], sdpa[:, 4:], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(eager[1:], sdpa[1:], atol=1e-5, rtol=1e-5)


def test_attention_implementation_is_honoured_at_load_time(tiny_config, tmp_path):
    make_model(tiny_config()).save_pretrained(tmp_path)
    assert ArithGPTForCausalLM.from_pretrained(tmp_path, attn_implementation="eager").config._attn_implementation \
        == "eager"


@pytest.mark.parametrize("position_embedding", SCHEMES)
def test_gradient_checkpointing_gives_the_same_gradients(tiny_config, position_embedding):
    ids = torch.randint(4, 24, (2, 8))
    grads = []
    for checkpointing in (False, True):
        model = make_model(tiny_config(position_embedding=position_embedding)).train()
        if checkpointing:
            model.activation_checkpointing_enable()  # (gradient_checkpointing_enable: a deprecated alias)
        model(ids, labels=ids).loss.backward()
        grads.append(model.transformer.h[0].attn.c_attn.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize("position_embedding", ["learned", "rope", "none"])
def test_static_cache_generates_what_the_dynamic_cache_does(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding, eos_token_id=None))
    ids = torch.randint(4, 24, (2, 6))
    dynamic = model.generate(ids, max_new_tokens=6, do_sample=False)
    static = model.generate(ids, max_new_tokens=6, do_sample=False, cache_implementation="static")
    assert torch.equal(dynamic, static)


def test_a_custom_4d_mask_is_used_as_given(tiny_config):
    model = make_model(tiny_config())
    ids = torch.randint(4, 24, (1, 6))
    causal = torch.ones(6, 6, dtype=torch.bool).tril()[None, None]
    torch.testing.assert_close(model(ids, attention_mask=causal).logits, model(ids).logits)
    # token 5 may not see token 0: its logits change, the others' do not
    blocked = causal.clone()
    blocked[..., 5, 0] = False
    logits = model(ids, attention_mask=blocked).logits
    torch.testing.assert_close(logits[:, :5], model(ids).logits[:, :5])
    assert not torch.allclose(logits[:, 5], model(ids).logits[:, 5])


@pytest.mark.parametrize("position_embedding", ["learned", "rope", "none"])
def test_padding_free_packing_keeps_sequences_apart(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding))
    first, second = torch.randint(4, 24, (1, 5)), torch.randint(4, 24, (1, 4))
    packed = torch.cat([first, second], dim=1)
    position_ids = torch.cat([torch.arange(5), torch.arange(4)])[None]  # what DataCollatorWithFlattening writes
    logits = model(packed, position_ids=position_ids).logits
    torch.testing.assert_close(logits[:, :5], model(first).logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits[:, 5:], model(second).logits, atol=1e-5, rtol=1e-5)


def test_the_bare_model_loads_with_automodel(tiny_config, tmp_path):
    from transformers import AutoModel

    import hf_arith  # noqa: F401  (registers the Auto classes)

    make_model(tiny_config()).save_pretrained(tmp_path)
    bare = AutoModel.from_pretrained(tmp_path)
    assert type(bare).__name__ == "ArithGPTModel"
    assert bare(torch.randint(4, 24, (1, 5))).last_hidden_state.shape == (1, 5, 32)


def test_rope_scaling_changes_the_model(tiny_config):
    ids = torch.randint(4, 24, (1, 12))
    plain = make_model(tiny_config(position_embedding="rope"))(ids).logits
    scaled = make_model(tiny_config(position_embedding="rope",
                                    rope_parameters={"rope_type": "linear", "factor": 4.0}))(ids).logits
    assert not torch.allclose(plain, scaled)  # the same weights read positions four times slower


@pytest.mark.parametrize("position_embedding", SCHEMES)
def test_torch_export(tiny_config, position_embedding):
    model = make_model(tiny_config(position_embedding=position_embedding))
    ids = torch.randint(4, 24, (2, 7))
    mask = torch.ones_like(ids)
    exported = torch.export.export(model, args=(), kwargs={"input_ids": ids, "attention_mask": mask,
                                                           "use_cache": False})
    torch.testing.assert_close(exported.module()(input_ids=ids, attention_mask=mask, use_cache=False).logits,
                               model(ids, attention_mask=mask, use_cache=False).logits)



@pytest.mark.parametrize("position_embedding", ["learned", "rope", "none"])
def test_compiled_forward_generates_with_a_static_cache_in_one_graph(tiny_config, position_embedding):
    # transformers' test_generate_compile_model_forward_fullgraph: a data-dependent branch in forward breaks the graph
    # at every step. backend="eager" traces with Dynamo (fullgraph=True raises on any break) without compiling code.
    torch._dynamo.reset()
    model = make_model(tiny_config(position_embedding=position_embedding, eos_token_id=None))
    ids = torch.randint(4, 24, (2, 6))
    expected = model.generate(ids, max_new_tokens=5, do_sample=False)
    model.forward = torch.compile(model.forward, fullgraph=True, backend="eager")
    compiled = model.generate(ids, max_new_tokens=5, do_sample=False, cache_implementation="static")
    assert torch.equal(compiled, expected)


@pytest.mark.parametrize("position_embedding", ["learned", "none"])
def test_a_model_without_rope_saves_with_an_odd_head_dim(tiny_config, position_embedding, tmp_path):
    # 36 / 4 = head dim 9: fine without rotary attention (transformers' RoPE check must not refuse it at save time)
    config = tiny_config(position_embedding=position_embedding, n_embd=36, n_head=4)
    assert config.rope_parameters is None
    model = make_model(config)
    model.save_pretrained(tmp_path)
    reloaded = ArithGPTForCausalLM.from_pretrained(tmp_path).eval()
    ids = torch.randint(4, 24, (1, 5))
    torch.testing.assert_close(reloaded(ids).logits, model(ids).logits)


def test_rope_with_an_odd_head_dim_is_refused(tiny_config):
    with pytest.raises(ValueError, match="head dim must be even"):
        tiny_config(position_embedding="rope", n_embd=36, n_head=4)


@pytest.mark.parametrize("position_embedding", SCHEMES)
def test_the_cache_is_taken_under_its_old_name_too(tiny_config, position_embedding):
    # transformers <= 5.23's generate() passes the cache as past_key_values, >= 5.24's as cache
    from transformers.cache_utils import DynamicCache

    from hf_arith.modeling_arith_gpt import CACHE_FIELD

    model = make_model(tiny_config(position_embedding=position_embedding))
    ids = torch.randint(4, 24, (1, 7))
    full = model(ids).logits[:, -1]
    coupled = model.config.position_embedding == "coupled"
    # a windowed model's step needs every cached token's coupled id (generate() passes them the same way)
    window = {"coupled_key_ids": model.transformer.coupled_position_ids(ids)} if position_embedding.endswith(
        "window") else {}
    for name in ("cache", "past_key_values"):
        cache = DynamicCache(config=model.config)
        first = model(ids[:, :-1], position_ids=model.transformer.coupled_position_ids(ids)[:, :-1]
                      if coupled else None, **{name: cache}, use_cache=True)
        assert getattr(first, CACHE_FIELD) is cache and cache.get_seq_length() == 6
        position = model.transformer.coupled_position_ids(ids)[:, -1:] if coupled else None
        step = model(ids[:, -1:], position_ids=position, **{name: cache}, use_cache=True, **window).logits[:, -1]
        torch.testing.assert_close(step, full, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("position_embedding", SCHEMES)
def test_forward_and_generate_warn_nothing(tiny_config, position_embedding):
    import warnings

    model = make_model(tiny_config(position_embedding=position_embedding))
    ids = torch.randint(4, 24, (2, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", UserWarning)
        model(ids, labels=ids)
        model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=4, do_sample=False)
        model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=4, do_sample=False, use_cache=False)

# ---- position coupling (the length-generalization issue)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hf_arith import AlignedPairTokenizer, ArithGPTConfig, CharTokenizer  # noqa: E402
from hf_arith.data.traces import make_trace  # noqa: E402


def coupled_model(tokenizer, **overrides):
    settings = dict(vocab_size=tokenizer.vocab_size, n_positions=80, n_embd=32, n_head=4, n_layer=1,
                    position_embedding="coupled", pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id, **tokenizer.digit_layout())
    settings.update(overrides)
    torch.manual_seed(0)
    return ArithGPTForCausalLM(ArithGPTConfig(**settings)).eval()


def significance_ids(a: int, b: int, tokenizer) -> list[int]:
    """What the ids must be, written out here by hand: digit i (0 = units) of a, of b and of the reversed answer all
    get 1 + i; the operator, '=' and EOS get 0."""
    answer = str(a + b)[::-1]
    if isinstance(tokenizer, AlignedPairTokenizer):  # op, a column per digit (units first), '=', answer, EOS
        columns = max(len(str(a)), len(str(b)))
        return [0] + [1 + i for i in range(columns)] + [0] + [1 + i for i in range(len(answer))] + [0]
    operand_a = [1 + i for i in reversed(range(len(str(a))))]  # written most significant digit first
    operand_b = [1 + i for i in reversed(range(len(str(b))))]
    return operand_a + [0] + operand_b + [0] + [1 + i for i in range(len(answer))] + [0]


@given(st.integers(0, 10**30), st.integers(0, 10**30), st.booleans())
@settings(max_examples=100, deadline=None)
def test_coupled_ids_follow_digit_significance(a, b, aligned):
    tokenizer = AlignedPairTokenizer(max_digits=31, fixed_columns=False) if aligned else CharTokenizer()
    model = coupled_model(tokenizer)
    prompt, completion = make_trace(a, "+", b, "reversed")
    ids = torch.tensor([tokenizer(prompt + completion)["input_ids"] + [tokenizer.eos_token_id]])
    assert model.transformer.coupled_position_ids(ids)[0].tolist() == significance_ids(a, b, tokenizer)
    # left padding changes nothing: pad tokens get 0, the real tokens keep their ids
    padded = torch.cat([torch.full((1, 3), tokenizer.pad_token_id), ids], dim=1)
    assert model.transformer.coupled_position_ids(padded)[0].tolist() == [0, 0, 0] + significance_ids(a, b, tokenizer)


def marked_ids_by_hand(a: int, b: int, tokenizer, markers: str, offset: int) -> list[int]:
    """The ids of a problem padded to its longer operand (n digits each, n + 1 answer digits), written out by hand:
    digit i of a, b and the answer get 1 + offset + i; '=' gets offset ("start", "sentinel") or 0; the operator
    2 + offset + n ("sentinel": one past the answer's last digit) or 0; EOS 0."""
    n = max(len(str(a)), len(str(b)))
    equals = offset if markers != "none" else 0
    operator = 2 + offset + n if markers == "sentinel" else 0
    columns = [1 + offset + i for i in range(n)]
    answer = [1 + offset + i for i in range(n + 1)]
    if isinstance(tokenizer, AlignedPairTokenizer):
        return [operator] + columns + [equals] + answer + [0]
    return columns[::-1] + [operator] + columns[::-1] + [equals] + answer + [0]


@given(st.integers(0, 10**30), st.integers(0, 10**30), st.booleans(), st.sampled_from(["none", "start", "sentinel"]),
       st.integers(0, 20))
@settings(max_examples=100, deadline=None)
def test_coupled_markers_place_equals_below_the_units_and_the_operator_past_the_answer(a, b, aligned, markers,
                                                                                       offset):
    tokenizer = AlignedPairTokenizer(max_digits=31, fixed_columns=False) if aligned else CharTokenizer()
    model = coupled_model(tokenizer, coupled_markers=markers)
    prompt, completion = make_trace(a, "+", b, "reversed", pad_width="longer")
    ids = torch.tensor([tokenizer(prompt + completion)["input_ids"] + [tokenizer.eos_token_id]])
    assert model.transformer.coupled_position_ids(ids, offset)[0].tolist() == marked_ids_by_hand(
        a, b, tokenizer, markers, offset)


def test_a_sentinel_needs_the_operator_ids():
    tokenizer = CharTokenizer()
    with pytest.raises(ValueError, match="coupled_markers='sentinel' needs operator_token_ids"):
        coupled_model(tokenizer, coupled_markers="sentinel", operator_token_ids=None)
    with pytest.raises(ValueError, match="coupled_markers must be one of .* got 'end'"):
        coupled_model(tokenizer, coupled_markers="end")
    with pytest.raises(ValueError, match="coupled_attention_window must be None or an int >= 0, got -1"):
        coupled_model(tokenizer, coupled_attention_window=-1)


@pytest.mark.parametrize("window", [0, 1, 2])
def test_the_coupled_window_lets_a_token_see_only_ids_within_the_window(window):
    tokenizer = AlignedPairTokenizer(max_digits=12, fixed_columns=False)
    model = coupled_model(tokenizer, coupled_embedding="rope", coupled_markers="sentinel",
                          coupled_attention_window=window)
    model.set_attn_implementation("eager")
    prompt, completion = make_trace(98765432, "+", 4321, "reversed", pad_width="longer")
    ids = torch.tensor([tokenizer(prompt + completion)["input_ids"]])
    coupled = model.transformer.coupled_position_ids(ids)[0]
    seen = model(ids, output_attentions=True).attentions[0][0] > 0  # (heads, query, key)
    for q in range(ids.shape[1]):
        for k in range(ids.shape[1]):
            allowed = k == q or (k < q and abs(int(coupled[k]) - int(coupled[q])) <= window)
            assert bool(seen[:, q, k].all()) == allowed and bool(seen[:, q, k].any()) == allowed, (q, k)
    # a token outside every answer digit's window (a column far below) changes no later logit of those digits...
    far = ids.clone()
    far[0, 1] = tokenizer.convert_tokens_to_ids("0|0")  # the units column: 2|1 -> 0|0
    late = slice(-3, None)  # the last three answer digits, ids 7..9, far from id 1
    torch.testing.assert_close(model(far).logits[0, late], model(ids).logits[0, late])
    # ...while without the window it does
    free = coupled_model(tokenizer, coupled_embedding="rope", coupled_markers="sentinel")
    assert not torch.allclose(free(far).logits[0, late], free(ids).logits[0, late])
    # a step on a cache without the cached tokens' ids cannot build the window: one clear error
    from transformers.cache_utils import DynamicCache

    cache = DynamicCache(config=model.config)
    model(ids[:, :-1], position_ids=coupled[None, :-1], cache=cache, use_cache=True)
    with pytest.raises(ValueError, match="needs the coupled ids of every cached token: pass coupled_key_ids"):
        model(ids[:, -1:], position_ids=coupled[None, -1:], cache=cache, use_cache=True)


def test_coupled_offsets_are_random_in_training_and_zero_in_evaluation():
    tokenizer = AlignedPairTokenizer(max_digits=5, fixed_columns=False)
    model = coupled_model(tokenizer, coupled_max_offset=40)
    ids = torch.tensor([tokenizer("123+45=861")["input_ids"]] * 64)
    base = model.transformer.coupled_position_ids(ids)
    seen = []
    original = model.transformer.coupled_position_ids

    def record(input_ids, offset=0):
        seen.append(offset)
        return original(input_ids, offset)

    model.transformer.coupled_position_ids = record
    model.train()
    model(ids)
    offsets = seen[-1]
    assert offsets.shape == (64, 1) and 0 <= offsets.min() and offsets.max() <= 40 and len(offsets.unique()) > 5
    model.eval()
    model(ids)
    assert seen[-1] == 0 and torch.equal(original(ids), base)


def test_coupled_learned_table_too_small_raises_a_clear_error():
    tokenizer = AlignedPairTokenizer(max_digits=40, fixed_columns=False)
    model = coupled_model(tokenizer, n_positions=10)
    with pytest.raises(ValueError, match="beyond the learned position table"):
        model(torch.tensor([tokenizer("1" * 20 + "+1=")["input_ids"]]))
