"""Opening a trained model folder for hf_arith's own commands (eval, calc, sample, demo), refusing one that is not
consistent.

hf_arith's classes are loaded directly, never through `auto_map`, and `trust_remote_code` is never set: no code from
a model folder ever runs here, and a folder of another model type is refused before anything is loaded. A folder is
checked against what it recorded at training time (config.json's `arith_data`): the tokenizer's class, settings and
vocabulary, the model's shape and position settings, and every weight present with the right shape. Any mismatch
is one ValueError naming it.
"""

import hashlib
import json
import os
from dataclasses import dataclass

from .configuration_arith_gpt import ArithGPTConfig
from .modeling_arith_gpt import ArithGPTForCausalLM
from .tokenization_aligned import AlignedPairTokenizer
from .tokenization_char import CharTokenizer

TOKENIZER_CLASSES = {cls.__name__: cls for cls in (CharTokenizer, AlignedPairTokenizer)}
# Written while a run's final files are put in place and removed last: a folder holding it is an interrupted run.
PARTIAL_MARKER = "RUN_INCOMPLETE"
# The config fields that decide the network's shape and how it reads positions.
TRAINED_CONFIG_FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "bias", "tie_word_embeddings",
                         "position_embedding", "rope_parameters", "coupled_embedding", "coupled_max_offset",
                         "digit_token_ids", "pair_token_ids", "equals_token_id", "pad_token_id", "eos_token_id")


def tokenizer_record(tokenizer) -> dict:
    """What identifies a tokenizer: its class, its settings and a hash of its vocabulary."""
    vocab = json.dumps(sorted(tokenizer.get_vocab().items())).encode()
    # The fast twin saves itself under its Python class's name, and either reads the folder: one record for both.
    return {"class": type(tokenizer).__name__.removesuffix("Fast"),
            "max_digits": getattr(tokenizer, "max_digits", None),
            "fixed_columns": getattr(tokenizer, "fixed_columns", None),
            "vocab_sha256": hashlib.sha256(vocab).hexdigest()[:16]}


def config_record(config: ArithGPTConfig) -> dict:
    return {name: getattr(config, name) for name in TRAINED_CONFIG_FIELDS}


@dataclass
class LoadedModel:
    model: ArithGPTForCausalLM
    tokenizer: CharTokenizer
    settings: dict  # config.arith_data: the task and data settings the model was trained with

    @property
    def is_arithmetic(self) -> bool:
        return self.settings.get("task", "arithmetic") == "arithmetic" and "format" in self.settings


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path!r}: {str(error).splitlines()[0]}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path!r} does not hold a JSON object")
    return value


def _compare(path: str, what: str, recorded: dict, actual: dict) -> None:
    for name, value in recorded.items():
        if actual.get(name) != value:
            raise ValueError(f"{path!r} was changed after training: its {what} has {name}={actual.get(name)!r}, but "
                             f"the model was trained with {value!r}")


def _check_settings(path: str, settings: dict) -> None:
    from .data.settings import ArithmeticDataSettings

    if settings.get("task", "arithmetic") != "arithmetic":
        return
    missing = [name for name in ("operations", "max_digits", "format") if name not in settings]
    if missing:
        raise ValueError(f"{path!r} has incomplete arithmetic settings: config.json's arith_data lacks {missing}")
    try:
        ArithmeticDataSettings.from_saved(settings).validate()
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path!r} has invalid arithmetic settings in config.json: {error}") from None


def load_model_folder(path: str) -> LoadedModel:
    """Loads an hf_arith model folder (local), or raises ValueError naming what is wrong with it."""
    if not os.path.isdir(path):
        raise ValueError(f"model folder {path!r} does not exist (hf_arith's commands take a local folder)")
    if os.path.exists(os.path.join(path, PARTIAL_MARKER)):
        raise ValueError(f"{path!r} holds an interrupted run ({PARTIAL_MARKER} is present): its files are not a "
                         "complete model")
    raw_config = _read_json(os.path.join(path, "config.json"))
    if raw_config.get("model_type") != ArithGPTConfig.model_type:
        raise ValueError(f"{path!r} is not an hf_arith model (model_type {raw_config.get('model_type')!r}, expected "
                         f"{ArithGPTConfig.model_type!r})")
    settings = dict(raw_config.get("arith_data") or {})
    _check_settings(path, settings)
    tokenizer_config = _read_json(os.path.join(path, "tokenizer_config.json"))
    tokenizer_class = TOKENIZER_CLASSES.get(tokenizer_config.get("tokenizer_class"))
    if tokenizer_class is None:
        raise ValueError(f"{path!r} has tokenizer class {tokenizer_config.get('tokenizer_class')!r}; hf_arith models "
                         f"use one of {sorted(TOKENIZER_CLASSES)}")
    try:
        config = ArithGPTConfig.from_pretrained(path)
        tokenizer = tokenizer_class.from_pretrained(path)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"cannot load {path!r}: {str(error).splitlines()[0]}") from None
    if "tokenizer" in settings:
        _compare(path, "tokenizer", settings["tokenizer"], tokenizer_record(tokenizer))
    if "trained_config" in settings:
        _compare(path, "config.json", settings["trained_config"], config_record(config))
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(f"{path!r}: the tokenizer has {tokenizer.vocab_size} tokens but the model's vocab_size is "
                         f"{config.vocab_size}")
    try:  # mismatched shapes are reported (and refused below) rather than raised with a multi-line report
        model, info = ArithGPTForCausalLM.from_pretrained(path, config=config, output_loading_info=True,
                                                          ignore_mismatched_sizes=True)
    except Exception as error:  # safetensors' own error types, torch's shape errors, OSError: all one message here
        raise ValueError(f"cannot load the weights of {path!r}: {str(error).splitlines()[0]}") from None
    problems = {kind: info.get(kind) for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
                if info.get(kind)}
    if problems:
        kind, keys = next(iter(problems.items()))
        raise ValueError(f"the weights in {path!r} do not fit its config.json ({kind.replace('_', ' ')}: "
                         f"{', '.join(map(str, sorted(keys)[:3]))})")
    return LoadedModel(model.eval(), tokenizer, settings)


__all__ = ["LoadedModel", "PARTIAL_MARKER", "config_record", "load_model_folder", "tokenizer_record"]
