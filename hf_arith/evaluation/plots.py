"""The figures of a run: exact match by operand lengths, training curves, accuracy against time or length."""

import json
import math
import os
import textwrap

from .metrics import percent


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported here, not at module import: the CLI stays fast)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> None:
    if fig.get_layout_engine() is None:  # figures with colour bars lay themselves out ("constrained")
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)


def save_heatmap(by_digits: dict[str, float], path: str, title: str) -> None:
    """Exact match per (digits of a, digits of b), coloured by ERROR rate on a log scale, so that one cell at 98 %
    stands out from cells at 100 % (a linear 0-100 % scale paints them the same colour). Each cell is labelled with
    its exact match."""
    save_heatmaps({"": by_digits}, path, title)


def save_heatmaps(panels: dict[str, dict[str, float]], path: str, title: str) -> None:
    """One heatmap (see `save_heatmap`) per panel, side by side on one colour scale: e.g. one per operation."""
    from matplotlib.colors import LogNorm

    plt = pyplot()
    grids = {name: {tuple(int(x) for x in key.split("x")): value for key, value in by_digits.items()}
             for name, by_digits in panels.items()}
    width = max(len({b for _, b in cells}) for cells in grids.values())
    height = max(len({a for a, _ in cells}) for cells in grids.values())
    fig, axes = plt.subplots(1, len(grids), figsize=(1.2 + (1.4 + 0.75 * width) * len(grids), 1.8 + 0.6 * height),
                             squeeze=False, layout="constrained")
    for ax, (name, cells) in zip(axes[0], grids.items()):
        image = _draw_heatmap(ax, cells, LogNorm(vmin=1e-4, vmax=1))
        if name:
            ax.set_title(name, fontsize=8)
    fig.suptitle("\n".join(textwrap.wrap(title, 34 * len(grids))), fontsize=8)
    bar = fig.colorbar(image, ax=list(axes[0]), shrink=0.9)
    bar.set_label("error rate (log); cells: exact match %", fontsize=7)
    _save(fig, path)


def _draw_heatmap(ax, cells: dict[tuple[int, int], float], norm):
    rows, cols = sorted({a for a, _ in cells}), sorted({b for _, b in cells})
    errors = [[max(1 - cells[(a, b)], 1e-4) if (a, b) in cells else math.nan for b in cols] for a in rows]
    image = ax.imshow(errors, norm=norm, cmap="magma_r", origin="lower")
    for i, a in enumerate(rows):
        for j, b in enumerate(cols):
            if (a, b) in cells:
                label = percent(cells[(a, b)]) if cells[(a, b)] < 1 else "100"
                ax.text(j, i, label, ha="center", va="center", fontsize=7,
                        color="white" if errors[i][j] > 0.03 else "black")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("digits of b")
    ax.set_ylabel("digits of a")
    return image


def save_training_curves(history: list[dict], path: str, metric: str) -> None:
    """Training loss (and validation loss or exact match) against training seconds."""
    plt = pyplot()
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
    if losses or (metric == "eval_loss" and evals):
        axes[0].legend()
    if metric != "eval_loss" and evals:
        axes[1].plot([t for t, _ in evals], [100 * v for _, v in evals], marker=".")
        axes[1].set_ylabel("validation exact match %")
        axes[1].set_ylim(0, 100)
    axes[1].set_xlabel("training seconds")
    _save(fig, path)


def save_accuracy_vs_time(run_dirs: list[str], path: str, title: str = "validation exact match vs training time",
                          labels: list[str] | None = None) -> None:
    """One curve per finished run folder (its training_history.json): held-out exact match over training seconds.
    `labels`: one per folder (default: the folder names)."""
    labels = labels or [os.path.basename(os.path.normpath(run_dir)) for run_dir in run_dirs]
    if len(labels) != len(run_dirs):
        raise ValueError(f"{len(labels)} labels for {len(run_dirs)} folders")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for run_dir, label in zip(run_dirs, labels):
        history_file = os.path.join(run_dir, "training_history.json")
        if not os.path.isfile(history_file):
            raise ValueError(f"{run_dir!r} is not a finished hf_arith run (no training_history.json)")
        with open(history_file) as f:
            points = [(h["elapsed_s"], 100 * h["eval_exact_match"]) for h in json.load(f) if "eval_exact_match" in h]
        if not points:
            raise ValueError(f"{run_dir!r} logged no validation exact match")
        ax.plot(*zip(*points), marker=".", label=label)
    ax.set_xlabel("training seconds")
    ax.set_ylabel("validation exact match %")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    _save(fig, path)


def save_accuracy_vs_length(curves: dict[str, dict[int, float]], path: str, train_range: tuple[int, int],
                            title: str) -> None:
    """Exact match against operand length, one curve per model, with the training lengths shaded."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.axvspan(*train_range, color="0.85", label=f"training lengths {train_range[0]}-{train_range[1]}")
    for label, points in curves.items():
        lengths = sorted(points)
        ax.plot(lengths, [100 * points[n] for n in lengths], marker="o", label=label)
    ax.set_xlabel("digits per operand (full width)")
    ax.set_ylabel("exact match %")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    _save(fig, path)


__all__ = ["pyplot", "save_accuracy_vs_length", "save_accuracy_vs_time", "save_heatmap", "save_heatmaps",
           "save_training_curves"]
