"""Multi-process training and crash recovery (subprocesses; marked slow, run by CI)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from hf_arith.training.callbacks import TIMING_FILE

from .tiny import TINY

pytestmark = pytest.mark.slow
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _train_cmd(*extra):
    return [sys.executable, "-m", "hf_arith.cli", "train", *TINY, *extra]


@pytest.mark.parametrize("focus", [[], ["--focus_share", "0.5", "--focus_every", "20"]], ids=["plain", "focus"])
def test_torchrun_two_processes(tmp_path, focus):
    out = tmp_path / "ddp"
    # --standalone: a free port for the rendezvous (the default 29500 may be taken on a shared machine)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "hf_arith.cli",
           "train", *TINY, "--max_steps", "40", "--output_dir", str(out), "--data_cache_dir", str(tmp_path / "cache"),
           *focus]
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "all_results.json").read_text())
    assert results["world_size"] == 2
    # each rank evaluates half of the 200 validation problems; the metrics see all 200, so they were gathered
    assert results["validation"]["eval_num_examples"] == 200
    if focus:  # every rank scores the same probe with the same weights, so the ranks' samplers draw alike
        assert [entry["step"] for entry in results["focus"]["history"]] == [0, 20]


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    cache = str(tmp_path / "cache")
    # save_total_limit 3: the preset keeps one checkpoint, and checkpoint-40 would vanish at step 60 before the poll
    # below saw it on a busy machine (the run would then finish unkilled)
    steps = ["--max_steps", "60", "--save_steps", "20", "--eval_steps", "60", "--save_total_limit", "3"]
    reference = tmp_path / "reference"
    done = subprocess.run(_train_cmd(*steps, "--output_dir", str(reference), "--data_cache_dir", cache),
                          capture_output=True, text=True, env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    crashed = tmp_path / "crashed"
    process = subprocess.Popen(_train_cmd(*steps, "--output_dir", str(crashed), "--data_cache_dir", cache),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 300
    # hf_arith's timing file is written last (after the Trainer's trainer_state.json): killing after it leaves a whole
    # checkpoint (the folder alone may be partial)
    while not (crashed / "checkpoint-40" / TIMING_FILE).exists() and process.poll() is None \
            and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (crashed / "checkpoint-20").exists() or (crashed / "checkpoint-40").exists()
    assert not (crashed / "README.md").exists()  # a killed run does not look finished

    done = subprocess.run(_train_cmd(*steps, "--output_dir", str(crashed), "--data_cache_dir", cache,
                                     "--resume_from_checkpoint", "true"),
                          capture_output=True, text=True, env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads((reference / "all_results.json").read_text())
    second = json.loads((crashed / "all_results.json").read_text())
    assert second["global_step"] == first["global_step"] == 60
    # It continued from the checkpoint instead of starting over: its first logged step is past the first checkpoint.
    history = json.loads((crashed / "training_history.json").read_text())
    assert min(h["step"] for h in history if "loss" in h) > 20
    # Resume is bitwise on the CPU: the Trainer restores the optimizer, scheduler and RNG states, and the data order
    # is the seeded sampler's, skipped to the checkpoint; the weights equal the uninterrupted run's exactly.
    reference_weights = load_file(reference / "model.safetensors")
    resumed_weights = load_file(crashed / "model.safetensors")
    assert reference_weights.keys() == resumed_weights.keys()
    assert all(torch.equal(reference_weights[k], resumed_weights[k]) for k in reference_weights)
    assert second["validation"]["eval_loss"] == first["validation"]["eval_loss"]


def _sigint_as_a_terminal_delivers_it():
    """Run in the child before exec: SIGINT at its default and unblocked, as a shell starts a command. A test process
    may hold it blocked or ignored (multiprocess's resource tracker blocks it around a spawn), and a child inherits
    both, so without this the signal below can stay pending and the run finishes (seen in CI, exit 0)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_sigint_prints_one_line_and_the_checkpoint_resumes_with_the_whole_history(tmp_path):
    cache = str(tmp_path / "cache")
    out = tmp_path / "run"
    # 600 steps (a 100-step run trains in under 2 s on a quiet machine: its end came before the signal once) and the
    # checkpoints kept; stderr goes to a file, so a full pipe can never stall the run before the signal
    steps = ["--max_steps", "600", "--save_steps", "20", "--eval_steps", "20", "--logging_steps", "10",
             "--save_total_limit", "30", "--output_dir", str(out), "--data_cache_dir", cache]
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(_train_cmd(*steps), stdout=subprocess.DEVNULL, stderr=stderr, env=ENV, text=True,
                                   preexec_fn=_sigint_as_a_terminal_delivers_it)
        inherited = (signal.getsignal(signal.SIGINT), signal.pthread_sigmask(signal.SIG_BLOCK, []))
        deadline = time.time() + 300
        while not (out / "checkpoint-40" / TIMING_FILE).exists() and process.poll() is None \
                and time.time() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    err = log.read_text()
    assert process.returncode == 130, f"parent's SIGINT handler and blocked signals: {inherited}\n{err[-2000:]}"
    assert err.strip().splitlines()[-1] == "hf-arith train: interrupted" and "Traceback" not in err
    assert not (out / "README.md").exists() and not (out / "all_results.json").exists()  # nothing looks finished

    done = subprocess.run(_train_cmd(*steps, "--resume_from_checkpoint", "true"), capture_output=True, text=True,
                          env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "all_results.json").read_text())
    history = json.loads((out / "training_history.json").read_text())
    assert re.search(r"checkpoint-\d+0$", results["resumed_from"]) and results["global_step"] == 600
    assert 40 <= int(results["resumed_from"].rsplit("-", 1)[1]) < 600
    logged = [h["step"] for h in history if "loss" in h]
    assert logged[0] == 10 and logged[-1] == 600  # the steps before the checkpoint are in the history too
    # the training time counts the part before the checkpoint: it is at least the time of the last logged step
    # (the evaluations after training are in the history too, later than the training's end)
    assert results["train_runtime_s"] >= max(h["elapsed_s"] for h in history if "loss" in h)
