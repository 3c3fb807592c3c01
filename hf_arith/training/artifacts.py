"""What a finished run leaves in its output folder: weights, tokenizer, code for trust_remote_code, held-out
metrics, plots and a model card. Written last, so an interrupted run never looks finished."""

import json
import logging
import math
import os

from .evaluation import evaluate_generation, format_examples, save_heatmap

logger = logging.getLogger(__name__)


def save_training_curves(history: list[dict], path: str, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = [(h["elapsed_s"], h["loss"]) for h in history if "loss" in h]
    evals = [(h["elapsed_s"], h[metric]) for h in history if metric in h]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    if losses:
        axes[0].plot(*zip(*losses), label="train loss")
    if metric == "eval_loss" and evals:
        axes[0].plot(*zip(*evals), label="validation loss")
    axes[0].set_xlabel("training seconds")
    axes[0].set_ylabel("loss (nats/token)")
    axes[0].set_yscale("log")
    axes[0].legend()
    if metric != "eval_loss" and evals:
        axes[1].plot([t for t, _ in evals], [100 * v for _, v in evals], marker=".")
        axes[1].set_ylabel("validation exact match %")
        axes[1].set_ylim(0, 100)
    axes[1].set_xlabel("training seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_accuracy_vs_time(run_dirs: list[str], path: str, title: str = "validation exact match vs training time"
                          ) -> None:
    """One curve per finished run folder (its training_history.json): held-out exact match over training seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for run_dir in run_dirs:
        history_file = os.path.join(run_dir, "training_history.json")
        if not os.path.isfile(history_file):
            raise ValueError(f"{run_dir!r} is not a finished hf_arith run (no training_history.json)")
        with open(history_file) as f:
            points = [(h["elapsed_s"], 100 * h["eval_exact_match"]) for h in json.load(f) if "eval_exact_match" in h]
        if not points:
            raise ValueError(f"{run_dir!r} logged no validation exact match")
        ax.plot(*zip(*points), marker=".", label=os.path.basename(os.path.normpath(run_dir)))
    ax.set_xlabel("training seconds")
    ax.set_ylabel("validation exact match %")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_artifacts(trainer, tokenizer, results, history, run_args, data_settings, test_dataset, model_args,
                    is_corpus) -> dict:
    output_dir = trainer.args.output_dir
    trainer.save_model(output_dir)  # safetensors weights, config (with arith_data), tokenizer, code + auto_map
    # The Trainer also pickles its arguments; a folder meant for the Hub ships no pickles (the card lists them).
    args_pickle = os.path.join(output_dir, "training_args.bin")
    if os.path.exists(args_pickle):
        os.remove(args_pickle)
    metric = "eval_loss" if is_corpus else "eval_exact_match"
    save_training_curves(history, os.path.join(output_dir, "training_curves.png"), metric)
    if is_corpus:
        results["validation_loss_nats_per_char"] = results["validation"]["eval_loss"]
    else:
        evaluation = evaluate_generation(trainer.model, tokenizer, test_dataset, batch_size=run_args.eval_batch_size)
        results["test"] = evaluation["metrics"]
        results["test_examples"] = evaluation["examples"]
        save_heatmap(evaluation["metrics"]["by_digits"], os.path.join(output_dir, "heatmap.png"),
                     f"{run_args.preset}: test exact match by operand lengths")
        print(format_examples(evaluation["examples"]))
    with open(os.path.join(output_dir, "training_history.json"), "w") as f:
        json.dump(history, f, indent=1)
    with open(os.path.join(output_dir, "all_results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    from ..model_card import write_model_card

    write_model_card(output_dir, results, data_settings, model_args, trainer.args, trainer.model.config)
    return results


def summary_lines(results: dict) -> list[str]:
    lines = [f"preset {results['preset']}: {results['parameters']:,} parameters, {results['global_step']} steps, "
             f"{results['train_runtime_s']:.1f} s training, world size {results['world_size']}"]
    if results.get("seconds_to_target") is not None:
        lines.append(f"reached validation exact match >= {results['target_exact_match']} after "
                     f"{results['seconds_to_target']:.1f} s")
    if "test" in results:
        t = results["test"]
        lines.append(f"test (greedy generation): exact match {100 * t['exact_match']:.2f} %, answer exact match "
                     f"{100 * t['answer_exact_match']:.2f} %, char accuracy {100 * t['char_accuracy']:.2f} %, "
                     f"verified traces {100 * t['verified_trace_valid']:.2f} %")
        if len(t.get("by_operation", {})) > 1:
            lines.append("test exact match by operation: " + ", ".join(
                f"{op} {100 * v:.2f} %" for op, v in t["by_operation"].items()))
    if "validation_loss_nats_per_char" in results:
        v = results["validation_loss_nats_per_char"]
        lines.append(f"validation loss {v:.4f} nats/char ({v / math.log(2):.3f} bits/char)")
    return lines
