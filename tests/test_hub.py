"""A saved folder loads exactly as a Hub user would load it: in a fresh process where hf_arith cannot be imported."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from hf_arith import AlignedPairTokenizer, ArithGPTConfig, ArithGPTForCausalLM, CharTokenizer, CharTokenizerFast

# The first lines of every script that plays a Hub user: hf_arith cannot be imported in its process.
WITHOUT_HF_ARITH = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class BlockHfArith(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "hf_arith":
                raise ImportError("hf_arith is blocked in this process")

    sys.meta_path.insert(0, BlockHfArith())
    """
)

REMOTE_USER = WITHOUT_HF_ARITH + textwrap.dedent(
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    folder = sys.argv[1]
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    batch = tok(["12+345=", "7*8="], return_tensors="pt", padding=True)
    out = model.generate(**batch, max_new_tokens=5, do_sample=False)
    generator = pipeline("text-generation", model=folder, trust_remote_code=True)
    text = generator("12+345=", max_new_tokens=5, do_sample=False)[0]["generated_text"]
    logits = model(**tok(["12+345="], return_tensors="pt")).logits
    print(json.dumps({"tokenizer": type(tok).__name__, "model": type(model).__name__,
                      "generated": out[:, batch["input_ids"].shape[1]:].tolist(), "pipeline": text,
                      "logits_sum": logits.sum().item(),
                      "imported_hf_arith": any(m.split(".")[0] == "hf_arith" for m in sys.modules)}))
    """
)


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), CharTokenizerFast(), AlignedPairTokenizer(max_digits=3)])
def test_trust_remote_code_load_without_the_package(tokenizer, tmp_path):
    torch.manual_seed(0)
    config = ArithGPTConfig(vocab_size=tokenizer.vocab_size, n_embd=32, n_head=2, n_layer=1, position_embedding="rope",
                            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    model = ArithGPTForCausalLM(config).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["auto_map"]["AutoModelForCausalLM"] == (
        "modeling_arith_gpt.ArithGPTForCausalLM")
    assert (tmp_path / "modeling_arith_gpt.py").exists()

    script = tmp_path.parent / "remote_user.py"
    script.write_text(REMOTE_USER)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          cwd=tmp_path.parent, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["imported_hf_arith"] is False
    assert result["tokenizer"] == type(tokenizer).__name__ and result["model"] == "ArithGPTForCausalLM"

    batch = tokenizer(["12+345=", "7*8="], return_tensors="pt", padding=True)
    expected = model.generate(**batch, max_new_tokens=5, do_sample=False)[:, batch["input_ids"].shape[1]:]
    assert result["generated"] == expected.tolist()
    # the pipeline's text is the prompt followed by exactly what generate() produced
    single = tokenizer(["12+345="], return_tensors="pt")
    new = model.generate(**single, max_new_tokens=5, do_sample=False)[0, single["input_ids"].shape[1]:]
    assert result["pipeline"] == "12+345=" + tokenizer.decode(new, skip_special_tokens=True)
    logits = model(**tokenizer(["12+345="], return_tensors="pt")).logits
    assert result["logits_sum"] == pytest.approx(logits.sum().item(), rel=1e-5)


# generate() with its KV cache against greedy decoding written out: a full forward of the whole sequence each step, no
# cache, no padding, argmax. transformers 5.24 renamed the cache argument and a model that missed the rename predicted
# every token from the last one alone, silently; this catches any such drift on whatever version is installed.
GREEDY_BY_HAND = WITHOUT_HF_ARITH + textwrap.dedent(
    """
    import warnings
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    warnings.simplefilter("error", FutureWarning)  # a deprecated keyword in the exported code fails here
    prompts, new_tokens, report = ["12+345=", "7*8=", "999-1=", "5/2="], 6, {}
    for folder in sys.argv[1:]:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
        batch = tok(prompts, return_tensors="pt", padding=True)  # left-padded
        out = model.generate(**batch, max_new_tokens=new_tokens, do_sample=False, eos_token_id=None)
        cached = out[:, batch["input_ids"].shape[1]:].tolist()
        by_hand = []
        for prompt in prompts:
            ids = tok(prompt, return_tensors="pt")["input_ids"]
            for _ in range(new_tokens):
                with torch.no_grad():
                    logits = model(input_ids=ids, use_cache=False).logits
                ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], dim=-1)
            by_hand.append(ids[0, -new_tokens:].tolist())
        report[folder] = {"cached": cached, "by_hand": by_hand, "padded": bool((batch["attention_mask"] == 0).any())}
    print(json.dumps(report))
    """
)

SCHEME_SETTINGS = {
    "learned": dict(position_embedding="learned"),
    "rope": dict(position_embedding="rope"),
    "none": dict(position_embedding="none"),
    "coupled-learned": dict(position_embedding="coupled", coupled_embedding="learned"),
    "coupled-rope": dict(position_embedding="coupled", coupled_embedding="rope"),
    "coupled-window": dict(position_embedding="coupled", coupled_embedding="rope", coupled_markers="sentinel",
                           coupled_attention_window=1),
}


def test_exported_generate_with_a_cache_is_greedy_decoding_by_hand(tmp_path):
    tokenizer = CharTokenizer()
    folders = []
    for name, scheme in SCHEME_SETTINGS.items():
        torch.manual_seed(0)
        # a wide init makes the argmax decisive, so that the two ways of computing it cannot differ by rounding
        config = ArithGPTConfig(vocab_size=tokenizer.vocab_size, n_positions=64, n_embd=32, n_head=2, n_layer=2,
                                initializer_range=0.5, pad_token_id=tokenizer.pad_token_id,
                                eos_token_id=tokenizer.eos_token_id,
                                **scheme, **(tokenizer.digit_layout() if name.startswith("coupled") else {}))
        folder = tmp_path / name
        ArithGPTForCausalLM(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders.append(str(folder))
    script = tmp_path / "greedy_by_hand.py"
    script.write_text(GREEDY_BY_HAND)
    done = subprocess.run([sys.executable, str(script), *folders], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for folder in folders:
        assert report[folder]["padded"], "the batch must hold left padding"
        assert report[folder]["cached"] == report[folder]["by_hand"], folder
        # not a degenerate model that repeats one token whatever it sees
        assert len({tuple(row) for row in report[folder]["by_hand"]}) > 1, folder
