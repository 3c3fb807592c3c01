"""Model cards (huggingface_hub.ModelCard) with model-index results for trained hf_arith models."""

import json
import os

from huggingface_hub import EvalResult, ModelCard, ModelCardData

TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

An ArithGPT ({{ parameters }} parameters) trained from scratch with [hf_arith](https://pypi.org/project/hf-arith/)
with `{{ command }}`, {{ task_line }}

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


def write_model_card(output_dir, results, data_settings, model_args, training_args, model_config) -> str:
    preset = results["preset"]
    is_corpus = "test" not in results
    if is_corpus:
        loss = results["validation_loss_nats_per_char"]
        eval_results = [EvalResult(task_type="text-generation", dataset_type="text", dataset_name="tinyshakespeare",
                                   metric_type="loss", metric_name="validation loss (nats/char)", metric_value=loss)]
        table = f"| split | loss (nats/char) |\n|---|---|\n| validation (last 10 %) | {loss:.4f} |"
        task_line = "as a character-level language model."
        usage = ('ids = tokenizer("O God, O God!", return_tensors="pt")\n'
                 'print(tokenizer.decode(model.generate(**ids, max_new_tokens=200, do_sample=True, top_k=40)[0]))')
    else:
        test = results["test"]
        name = f"arithmetic_traces/{data_settings['preset']}"
        eval_results = [EvalResult(task_type="text-generation", dataset_type="arithmetic_traces",
                                   dataset_name=name, dataset_config=data_settings["preset"], dataset_split="test",
                                   metric_type=key, metric_name=label, metric_value=round(test[key], 6))
                        for key, label in (("exact_match", "exact match (greedy generation)"),
                                           ("answer_exact_match", "final-answer exact match"),
                                           ("char_accuracy", "answer character accuracy"))]
        rows = "\n".join(f"| {k} | {100 * test[k]:.2f} % |" for k in
                         ("exact_match", "answer_exact_match", "char_accuracy", "verified_trace_valid"))
        if len(test.get("by_operation", {})) > 1:
            rows += "\n" + "\n".join(f"| exact_match, `{op}` only | {100 * v:.2f} % |"
                                     for op, v in test["by_operation"].items())
        table = (f"Test split ({data_settings['test_size']:,} problems never seen in training), greedy generation "
                 f"with the KV cache:\n\n| metric | value |\n|---|---|\n{rows}")
        ops = data_settings["operations"]
        task_line = (f"for `{ops}` on {data_settings['min_digits']}-{data_settings['max_digits']}-digit operands "
                     f"in the `{data_settings['format']}` format.")
        from .data.traces import make_trace

        pad = data_settings["max_digits"] if data_settings.get("zero_pad") else None
        a, b = (123, 45) if data_settings["max_digits"] >= 3 else (12, 3)
        prompt, completion = make_trace(a, ops[0], b, data_settings["format"], pad)
        example = prompt[:-1]
        usage = (f'batch = tokenizer(["{prompt}"], return_tensors="pt")\n'
                 f'print(tokenizer.decode(model.generate(**batch, max_new_tokens={len(completion) + 1}, '
                 f'do_sample=False)[0]))  # {completion}')
    card_data = ModelCardData(
        library_name="transformers", license="mit", tags=["hf_arith", "arithmetic", "arith_gpt", "from-scratch"],
        pipeline_tag="text-generation", model_name=f"hf_arith {preset}", eval_results=eval_results,
    )
    images = "\n".join(f"![{name}]({name})" for name in ("heatmap.png", "training_curves.png")
                       if os.path.exists(os.path.join(output_dir, name)))
    target = (f", stopped at validation exact match >= {results['target_exact_match']} after "
              f"{results['seconds_to_target']:.1f} s" if results.get("seconds_to_target") else "")
    train_line = (f"{results['global_step']} steps, {results['train_runtime_s']:.1f} s on {results['device']} "
                  f"[{results['hardware']}] "
                  f"({results['torch_threads']} torch threads, world size {results['world_size']}){target}.")
    hyper = {"model": {k: getattr(model_config, k) for k in ("n_layer", "n_embd", "n_head", "position_embedding",
                                                             "dropout", "vocab_size", "n_positions")},
             "tokenizer": model_args.tokenizer,
             "training": {k: getattr(training_args, k) for k in (
                 "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "adam_beta2",
                 "per_device_train_batch_size", "max_steps", "seed")}}
    repo = getattr(training_args, "hub_model_id", None) or output_dir
    card = ModelCard.from_template(
        card_data, template_str=TEMPLATE, model_name=f"hf_arith {preset}", parameters=f"{results['parameters']:,}",
        preset=preset, task_line=task_line, results_table=table, train_line=train_line, images=images,
        repo=repo, usage=usage, command=results.get("command", f"hf-arith train --preset {preset}"),
        cli_line=(f'or `hf-arith sample {repo} --prompt "O God, O God!"` with the package installed.' if is_corpus
                  else f"or `hf-arith calc {repo} {example}` with the package installed."),
        data_json=json.dumps(data_settings, indent=1), hyper_json=json.dumps(hyper, indent=1, default=str),
    )
    path = os.path.join(output_dir, "README.md")
    card.save(path)
    return path
