"""`hf-arith train`: Trainer-based training of ArithGPT on arithmetic traces (or a character corpus)."""

import argparse
import json
import logging
import os
import platform
import random
import shlex
import time
from pathlib import Path

import torch
from transformers import HfArgumentParser, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from ..configuration_arith_gpt import ArithGPTConfig
from ..data.builder import ArithmeticTraces, get_config
from ..modeling_arith_gpt import ArithGPTForCausalLM
from ..tokenization_aligned import AlignedPairTokenizer
from ..tokenization_char import CharTokenizer
from .arguments import TOKENIZERS, DataArguments, ModelArguments, RunArguments
from .collator import AnswerOnlyCollator, encode
from .metrics import preprocess_logits_for_metrics, teacher_forced_metrics
from .presets import get_training_preset

logger = logging.getLogger(__name__)
DATA_FIELDS = {"operations": "operations", "min_digits": "min_digits", "max_digits": "max_digits",
               "format": "format", "zero_pad": "zero_pad", "train_size": "train_size",
               "validation_size": "validation_size", "test_size": "test_size", "data_seed_value": "seed"}


def _as_flags(settings: dict) -> list[str]:
    flags = []
    for key, value in settings.items():
        if value is None:
            continue
        flags += [f"--{key}", json.dumps(value) if isinstance(value, (list, dict)) else str(value)]
    return flags


def _read_config_file(path: str) -> dict:
    if not os.path.isfile(path):
        raise ValueError(f"config file {path!r} does not exist")
    text = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        import yaml

        settings = yaml.safe_load(text)
    else:
        settings = json.loads(text)
    if not isinstance(settings, dict):
        raise ValueError(f"config file {path!r} must hold a mapping of argument names to values")
    return settings


def parse_train_args(argv: list[str]):
    """Preset values are the defaults, a --config file overrides them, command-line flags override both: the
    three are laid out as flags in that order and parsed once, so argparse keeps the last value of each."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--preset", default="add3")
    early.add_argument("--config", default=None)
    known, _ = early.parse_known_args(argv)
    preset = get_training_preset(known.preset)
    defaults = {**preset["model"], **preset["data"], **preset.get("run", {}), **preset["training"]}
    from_file = _read_config_file(known.config) if known.config else {}
    output_dir = f"outputs/{known.preset}"
    parser = HfArgumentParser((ModelArguments, DataArguments, RunArguments, TrainingArguments),
                              prog="hf-arith train")
    parser.error = _raise_value_error  # the CLI turns it into one line and exit code 2
    args = ["--output_dir", output_dir] + _as_flags(defaults) + _as_flags(from_file) + list(argv)
    model_args, data_args, run_args, training_args = parser.parse_args_into_dataclasses(args=args)
    return model_args, data_args, run_args, training_args


def _raise_value_error(message):
    raise ValueError(message)


def data_config_from_args(run_args: RunArguments, data_args: DataArguments):
    preset = get_training_preset(run_args.preset)
    overrides = {DATA_FIELDS[name]: getattr(data_args, name) for name in DATA_FIELDS
                 if getattr(data_args, name) is not None}
    return get_config(preset["data_preset"], **overrides)


def build_tokenizer(model_args: ModelArguments, max_digits: int):
    if model_args.tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {model_args.tokenizer!r}; expected one of {TOKENIZERS}")
    return AlignedPairTokenizer(max_digits=max_digits) if model_args.tokenizer == "aligned" else CharTokenizer()


def build_model(model_args: ModelArguments, tokenizer, n_positions: int) -> ArithGPTForCausalLM:
    config = ArithGPTConfig(
        vocab_size=tokenizer.vocab_size, n_positions=n_positions, n_embd=model_args.n_embd,
        n_layer=model_args.n_layer, n_head=model_args.n_head, dropout=model_args.dropout, bias=model_args.bias,
        position_embedding=model_args.position_embedding, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        # the bigram baseline needs a full vocab x vocab table, which a tied head of width n_embd is not
        tie_word_embeddings=model_args.n_layer > 0,
    )
    return ArithGPTForCausalLM(config)


def hardware_description(device) -> str:
    """What a reported time was measured on: the GPU's name, or the CPU's core count."""
    if getattr(device, "type", str(device)) == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU, {os.cpu_count()} cores"


class TargetAndTiming(TrainerCallback):
    """Records wall time at every log and evaluation, stops training once held-out exact match reaches the target,
    and stops it when the wall-clock budget is spent."""

    def __init__(self, target: float | None, metric: str = "eval_exact_match", max_seconds: float | None = None):
        self.target, self.metric, self.max_seconds = target, metric, max_seconds
        self.stopped_by_budget = False
        self.start = None
        self.history: list[dict] = []
        self.seconds_to_target: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self.max_seconds is not None and time.perf_counter() - self.start >= self.max_seconds:
            self.stopped_by_budget = True
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and self.start is not None:
            self.history.append({"step": state.global_step, "elapsed_s": time.perf_counter() - self.start, **logs})

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if self.target is not None and value is not None and value >= self.target:
            if self.seconds_to_target is None:
                self.seconds_to_target = time.perf_counter() - self.start
            control.should_training_stop = True


class RandomBlocks(torch.utils.data.Dataset):
    """nanoGPT-style training blocks at random offsets; offset i is a function of (seed, i), so runs repeat."""

    def __init__(self, ids: torch.Tensor, block_size: int, num_samples: int, seed: int):
        self.ids, self.block_size, self.num_samples, self.seed = ids, block_size, num_samples, seed

    def __len__(self):
        return self.num_samples

    def __getitem__(self, i):
        start = random.Random(self.seed * 1_000_003 + i).randrange(len(self.ids) - self.block_size)
        block = self.ids[start : start + self.block_size]
        return {"input_ids": block, "labels": block}


def corpus_datasets(corpus: str, tokenizer, block_size: int, num_samples: int, seed: int):
    """90/10 split of the corpus (first 90 % train); validation is every contiguous block of the last 10 %."""
    ids = torch.tensor(encode(tokenizer, corpus), dtype=torch.long)
    cut = int(0.9 * len(ids))
    train, val = ids[:cut], ids[cut:]
    if len(val) <= block_size:
        raise ValueError(f"corpus of {len(ids)} characters is too short for block_size={block_size}")
    blocks = val[: (len(val) // block_size) * block_size].view(-1, block_size)
    validation = [{"input_ids": b, "labels": b} for b in blocks]
    return RandomBlocks(train, block_size, num_samples, seed), validation


def train(argv: list[str]) -> dict:
    model_args, data_args, run_args, training_args = parse_train_args(argv)
    if run_args.max_train_seconds is not None and run_args.max_train_seconds <= 0:
        raise ValueError(f"--max_train_seconds must be positive, got {run_args.max_train_seconds}")
    training_args.remove_unused_columns = False
    preset = get_training_preset(run_args.preset)
    is_corpus = preset["data_preset"] is None
    resume = training_args.resume_from_checkpoint
    if resume is not None and resume.lower() == "true":
        resume = get_last_checkpoint(training_args.output_dir) if os.path.isdir(training_args.output_dir) else None
        if resume is None:
            raise ValueError(f"--resume_from_checkpoint true, but there is no checkpoint in "
                             f"{training_args.output_dir!r}")
    elif resume is not None and not os.path.isdir(resume):
        raise ValueError(f"checkpoint folder {resume!r} does not exist")

    if is_corpus:
        from ..data.corpus import read_corpus

        corpus = read_corpus(data_args.corpus_file)
        tokenizer = CharTokenizer.from_corpus(corpus)
        model = build_model(model_args, tokenizer, n_positions=data_args.block_size)
        total = training_args.max_steps * training_args.per_device_train_batch_size * training_args.world_size
        train_dataset, eval_dataset = corpus_datasets(corpus, tokenizer, data_args.block_size, total,
                                                      training_args.seed)
        collator, compute_metrics, preprocess = None, None, None
        target_metric, data_settings = "eval_loss", {"corpus_file": data_args.corpus_file or "tinyshakespeare",
                                                     "block_size": data_args.block_size}
    else:
        data_config = data_config_from_args(run_args, data_args)
        tokenizer = build_tokenizer(model_args, data_config.max_digits)
        builder = ArithmeticTraces(config_name=data_config.name, cache_dir=run_args.data_cache_dir,
                                   **{k: v for k, v in data_config.data_settings().items()})
        with training_args.main_process_first(desc="generating the arithmetic traces"):
            builder.download_and_prepare()
        data = builder.as_dataset()
        longest = max(len(encode(tokenizer, p + c)) for split in data for p, c in
                      zip(data[split]["prompt"][:2000], data[split]["completion"][:2000]))
        model = build_model(model_args, tokenizer, n_positions=max(32, 2 * longest))
        train_dataset, eval_dataset = data["train"], data["validation"]
        collator = AnswerOnlyCollator(tokenizer)
        compute_metrics, preprocess = teacher_forced_metrics(tokenizer), preprocess_logits_for_metrics
        target_metric, data_settings = "eval_exact_match", {"preset": data_config.name,
                                                            **data_config.data_settings()}

    model.config.arith_data = data_settings  # eval/calc read the trace format from the saved config
    timing = TargetAndTiming(None if is_corpus else run_args.target_exact_match, target_metric,
                             run_args.max_train_seconds)
    trainer = Trainer(
        model=model, args=training_args, train_dataset=train_dataset, eval_dataset=eval_dataset,
        data_collator=collator, processing_class=tokenizer, compute_metrics=compute_metrics,
        preprocess_logits_for_metrics=preprocess, callbacks=[timing],
    )
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("preset %s: %d parameters, world size %d", run_args.preset, n_params, training_args.world_size)
    train_output = trainer.train(resume_from_checkpoint=resume)
    held_out = trainer.evaluate()

    results = {
        "preset": run_args.preset, "command": shlex.join(["hf-arith", "train", *argv]), "parameters": n_params,
        "world_size": training_args.world_size,
        "train_runtime_s": train_output.metrics.get("train_runtime"), "global_step": trainer.state.global_step,
        "seconds_to_target": timing.seconds_to_target, "target_exact_match": timing.target,
        "stopped_by_time_budget": timing.stopped_by_budget,
        "validation": held_out, "device": str(training_args.device),
        "hardware": hardware_description(training_args.device), "torch_threads": torch.get_num_threads(),
    }
    if trainer.is_world_process_zero():
        from .artifacts import write_artifacts

        results = write_artifacts(trainer, tokenizer, results, timing.history, run_args, data_settings,
                                  None if is_corpus else data["test"], model_args, is_corpus)
    return results


__all__ = ["parse_train_args", "train"]
