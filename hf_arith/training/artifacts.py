"""What a finished run leaves in its output folder: weights, tokenizer, code for trust_remote_code, results,
figures and a model card. Written last, so an interrupted run never looks finished."""

import json
import os
import shutil

from ..evaluation.plots import save_training_curves
from ..loading import MANIFEST, PARTIAL_MARKER, STAGING, owned_files, replace_file
from ..model_card import budget_line, write_model_card


def write_json(path: str, value) -> None:
    """JSON, put in place whole (loading.replace_file)."""
    replace_file(path, json.dumps(value, indent=1, default=str).encode())


def record_files(output_dir: str, names) -> None:
    write_json(os.path.join(output_dir, MANIFEST), sorted(owned_files(output_dir) | set(names)))


def write_artifacts(trainer, task, results, history: list[dict], spec) -> None:
    """Writes the finished run into a staging folder, then puts its files in place: until then the output folder
    still holds the previous complete run (if any), and while the files are moved a marker says the folder is
    incomplete (hf_arith refuses such a folder), so an interruption never leaves a mix that looks finished."""
    output_dir = trainer.args.output_dir
    staging = os.path.join(output_dir, STAGING)
    shutil.rmtree(staging, ignore_errors=True)  # hf_arith's own staging folder, left by an interrupted run
    trainer.save_model(staging)  # safetensors weights, config (with arith_data), tokenizer, code + auto_map
    # The Trainer also pickles its arguments; a folder meant for the Hub ships no pickles.
    args_pickle = os.path.join(staging, "training_args.bin")
    if os.path.exists(args_pickle):
        os.remove(args_pickle)
    save_training_curves(history, os.path.join(staging, "training_curves.png"), task.target_metric)
    task.write_figures(staging, results.evaluation)
    write_json(os.path.join(staging, "training_history.json"), history)
    write_json(os.path.join(staging, "all_results.json"), results.to_dict())
    write_model_card(staging, spec.training.hub_model_id or output_dir)
    put_in_place(staging, output_dir)


def put_in_place(staging: str, output_dir: str) -> None:
    marker = os.path.join(output_dir, PARTIAL_MARKER)
    with open(marker, "w") as f:
        f.write("hf_arith was putting a finished run's files in place when it stopped: this folder is not a "
                "complete model. Train again (--overwrite_output_dir true) or resume.\n")
    new = set(os.listdir(staging))
    for name in owned_files(output_dir) - new:  # a file the previous run wrote and this one does not (a heatmap)
        if os.path.isfile(os.path.join(output_dir, name)):
            os.remove(os.path.join(output_dir, name))
    for name in new:
        target = os.path.join(output_dir, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        os.replace(os.path.join(staging, name), target)
    os.rmdir(staging)
    write_json(os.path.join(output_dir, MANIFEST), sorted(new))
    os.remove(marker)


def summary_lines(results, task) -> list[str]:
    lines = [f"preset {results.preset}: {results.parameters:,} parameters, {results.global_step} steps, "
             f"{results.train_runtime_s:.1f} s training, world size {results.world_size}"]
    if results.stopped_by_time_budget:
        lines.append(budget_line(results.to_dict()))
    if results.seconds_to_target is not None:
        lines.append(f"reached validation exact match >= {results.target_exact_match} after "
                     f"{results.seconds_to_target:.1f} s")
    return lines + task.summary_lines(results.evaluation)
