"""--optimizer muon: Muon on the blocks' matrices, AdamW on the rest, one schedule, checkpoints that resume exactly."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from hf_arith import ArithGPTConfig, ArithGPTForCausalLM
from hf_arith.cli import main
from hf_arith.training import parse_train_args
from hf_arith.training.optim import MuonWithAdamW, build_muon, muon_parameter_names


def _model():
    return ArithGPTForCausalLM(ArithGPTConfig(vocab_size=20, n_positions=16, n_embd=32, n_layer=2, n_head=4,
                                              position_embedding="learned"))


def test_muon_takes_the_blocks_matrices_and_adamw_the_rest():
    model = _model()
    names = muon_parameter_names(model)
    expected = {f"transformer.h.{i}.{m}.weight" for i in range(2)
                for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")}
    assert names == expected  # not the embeddings (the tied head), biases or LayerNorms
    args = parse_train_args(["--output_dir", "unused", "--optimizer", "muon"]).training
    optimizer = build_muon(model, args, muon_lr_scale=2.0)
    muon = {id(p) for g in optimizer.muon.param_groups for p in g["params"]}
    adamw = {id(p) for g in optimizer.adamw.param_groups for p in g["params"]}
    every = {id(p) for p in model.parameters()}
    assert muon | adamw == every and not muon & adamw
    assert optimizer.param_groups[-1]["lr"] == 2 * optimizer.param_groups[0]["lr"] == 2 * args.learning_rate


def test_one_schedule_scales_both_learning_rates_and_a_step_moves_every_weight():
    model = _model()
    args = parse_train_args(["--output_dir", "unused", "--optimizer", "muon", "--learning_rate", "1e-2"]).training
    optimizer = build_muon(model, args, muon_lr_scale=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 ** step)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ids = torch.randint(0, 20, (4, 12))
    model(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()
    scheduler.step()
    assert all(not torch.equal(before[n], p) for n, p in model.named_parameters())
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([5e-3] * len(optimizer.param_groups))
    assert [g["lr"] for g in optimizer.muon.param_groups] == pytest.approx([5e-3])  # the inner optimizers see it
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="not saved by --optimizer muon"):
        optimizer.load_state_dict(torch.optim.SGD(model.parameters(), lr=1.0).state_dict())
    with pytest.raises(ValueError, match="no 2-D weight inside a transformer block"):
        MuonWithAdamW([], [{"params": list(model.parameters())}], lr=1e-3, weight_decay=0.0, betas=(0.9, 0.99),
                      eps=1e-8)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_bad_muon_scale_is_refused(value):
    with pytest.raises(ValueError, match=f"--muon_lr_scale must be a positive number, got {value}"):
        parse_train_args(["--output_dir", "unused", "--muon_lr_scale", value])


def test_a_muon_run_resumed_from_its_checkpoint_ends_with_the_uninterrupted_runs_weights(tmp_path, capsys):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40)
    common = ["train", "--preset", "shakespeare-char", "--corpus_file", str(corpus), "--max_steps", "20",
              "--eval_steps", "20", "--save_steps", "10", "--save_total_limit", "3", "--n_layer", "1", "--n_embd",
              "32", "--block_size", "16", "--disable_tqdm", "true", "--use_cpu", "true", "--optimizer", "muon"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main([*common, "--output_dir", str(whole)]) == 0
    results = json.loads((whole / "all_results.json").read_text())
    assert results["hyperparameters"]["optimizer"] == "Muon (blocks' matrices, lr x 1) + AdamW"
    cut.mkdir()
    shutil.copytree(whole / "checkpoint-10", cut / "checkpoint-10")
    assert main([*common, "--output_dir", str(cut), "--resume_from_checkpoint", "true"]) == 0
    first, second = load_file(whole / "model.safetensors"), load_file(cut / "model.safetensors")
    assert all(torch.equal(first[k], second[k]) for k in first)
    # the other optimizer cannot take the checkpoint's state: refused before training, naming both
    other = tmp_path / "other"
    other.mkdir()
    shutil.copytree(whole / "checkpoint-10", other / "checkpoint-10")
    adamw = [a for a in common if a not in ("--optimizer", "muon")]
    capsys.readouterr()
    assert main([*adamw, "--output_dir", str(other), "--resume_from_checkpoint", "true"]) == 2
    assert "was trained with --optimizer muon; resume it with the same optimizer (this run: adamw)" in \
        capsys.readouterr().err
