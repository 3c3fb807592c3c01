"""What a finished run leaves in its output folder: weights, tokenizer, code for trust_remote_code, results,
figures and a model card. Written last, so an interrupted run never looks finished."""

import json
import os

from ..evaluation.plots import save_training_curves
from ..model_card import write_model_card


def write_artifacts(trainer, task, results, history: list[dict], spec) -> None:
    output_dir = trainer.args.output_dir
    trainer.save_model(output_dir)  # safetensors weights, config (with arith_data), tokenizer, code + auto_map
    # The Trainer also pickles its arguments; a folder meant for the Hub ships no pickles.
    args_pickle = os.path.join(output_dir, "training_args.bin")
    if os.path.exists(args_pickle):
        os.remove(args_pickle)
    save_training_curves(history, os.path.join(output_dir, "training_curves.png"), task.target_metric)
    task.write_figures(output_dir, results.evaluation)
    with open(os.path.join(output_dir, "training_history.json"), "w") as f:
        json.dump(history, f, indent=1)
    with open(os.path.join(output_dir, "all_results.json"), "w") as f:
        json.dump(results.to_dict(), f, indent=1, default=str)
    repo = spec.training.hub_model_id or output_dir
    write_model_card(output_dir, results, task.card(results.evaluation, repo), spec, trainer.model.config, repo)


def summary_lines(results, task) -> list[str]:
    lines = [f"preset {results.preset}: {results.parameters:,} parameters, {results.global_step} steps, "
             f"{results.train_runtime_s:.1f} s training, world size {results.world_size}"]
    if results.seconds_to_target is not None:
        lines.append(f"reached validation exact match >= {results.target_exact_match} after "
                     f"{results.seconds_to_target:.1f} s")
    return lines + task.summary_lines(results.evaluation)
