"""A saved folder loads exactly as a Hub user would load it: in a fresh process where hf_arith cannot be imported."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from hf_arith import AlignedPairTokenizer, ArithGPTConfig, ArithGPTForCausalLM, CharTokenizer, CharTokenizerFast

REMOTE_USER = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class BlockHfArith(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "hf_arith":
                raise ImportError("hf_arith is blocked in this process")

    sys.meta_path.insert(0, BlockHfArith())
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
