"""Model cards (huggingface_hub.ModelCard) with model-index results for trained hf_arith models."""

import json
import os

from huggingface_hub import ModelCard, ModelCardData

TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

An ArithGPT ({{ parameters }} parameters) trained from scratch with hf_arith (its model and tokenizer code ship in
this folder: [`modeling_arith_gpt.py`](modeling_arith_gpt.py),
[`configuration_arith_gpt.py`](configuration_arith_gpt.py) and the `tokenization_*.py` files) with `{{ command }}`,
{{ task_line }}

## Results (measured)

{{ results_table }}

Training: {{ train_line }}

{{ images }}

## Use

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{{ repo }}", trust_remote_code=True)
model = AutoModelForCausalLM.from_pretrained("{{ repo }}", trust_remote_code=True)
{{ usage }}
```
{{ cli_line }}

## Data

```json
{{ data_json }}
```

## Model and training hyperparameters

```json
{{ hyper_json }}
```
"""


def budget_line(results: dict) -> str:
    """What the card and the summary say when --max_train_seconds ended training before max_steps."""
    max_steps = results.get("hyperparameters", {}).get("training", {}).get("max_steps")
    return (f"the wall-clock budget (--max_train_seconds {results['max_train_seconds']:g}) cut training short: "
            f"{results['global_step']:,} of {max_steps:,} steps ran (the learning rate decayed with the clock, so "
            "the model is annealed, but it is not the preset's model)")


def focus_line(focus: dict) -> str:
    """--focus_share on the card: the setting, and where the focus was at the last rescoring."""
    within = " within each operation's share of the rows" if focus.get("within") == "operation" else ""
    cases = " (and by division case: a = b, b = 1, r = 0, r = b - 1)" if focus.get("cases") else ""
    line = (f"Focus: {focus['share']:.0%} of the training rows drawn by cell{cases}{within}, each weighted by its "
            f"mean loss on {focus['probe']} training problems, rescored every {focus['every']} steps")
    if focus["history"]:
        last = focus["history"][-1]
        top = sorted(last["shares"].items(), key=lambda kv: -kv[1])[:3]
        line += f"; at step {last['step']:,} most on " + ", ".join(f"`{cell}` {share:.0%}" for cell, share in top)
    return line + "."


def write_model_card(output_dir: str, repo: str | None = None) -> str:
    """Renders README.md from what the folder holds: config.json (the task and data settings under arith_data) and
    all_results.json (the run's measurements, hyperparameters and evaluation). `hf-arith train` writes it at the end
    of a run; `hf-arith eval` renders it again after adding suites."""
    from .training.tasks import TASKS  # the task's own card section

    with open(os.path.join(output_dir, "config.json")) as f:
        settings = json.load(f)["arith_data"]
    with open(os.path.join(output_dir, "all_results.json")) as f:
        results = json.load(f)
    repo = repo or results.get("hub_model_id") or output_dir
    section = TASKS[settings["task"]].card_section(settings, results["evaluation"], repo)
    card_data = ModelCardData(
        library_name="transformers", license="mit", tags=["hf_arith", "arithmetic", "arith_gpt", "from-scratch"],
        pipeline_tag="text-generation", model_name=f"hf_arith {results['preset']}", eval_results=section.eval_results,
    )
    images = "\n".join(f"![{name}]({name})" for name in sorted(os.listdir(output_dir))
                       if name.startswith(("heatmap", "accuracy_vs_length")) and name.endswith(".png"))
    images += "\n![training curves](training_curves.png)" if os.path.exists(
        os.path.join(output_dir, "training_curves.png")) else ""
    target = (f", stopped at validation exact match >= {results['target_exact_match']} after "
              f"{results['seconds_to_target']:.1f} s" if results.get("seconds_to_target") is not None else "")
    train_line = (f"{results['global_step']} steps, {results['train_runtime_s']:.1f} s on {results['device']} "
                  f"[{results['hardware']}] (world size {results['world_size']}){target}.")
    if results.get("focus"):
        train_line += f" {focus_line(results['focus'])}"
    if results.get("stopped_by_time_budget"):
        train_line += f" **Note: {budget_line(results)}.**"
    card = ModelCard.from_template(
        card_data, template_str=TEMPLATE, model_name=f"hf_arith {results['preset']}",
        parameters=f"{results['parameters']:,}", command=results["command"], task_line=section.task_line,
        results_table=section.table, train_line=train_line, images=images, repo=repo, usage=section.usage,
        cli_line=section.cli_line, data_json=json.dumps(settings, indent=1),
        hyper_json=json.dumps(results.get("hyperparameters", {}), indent=1, default=str),
    )
    path = os.path.join(output_dir, "README.md")
    card.save(path)
    return path
