"""Opening a trained model folder for hf_arith's own commands (eval, calc, sample, demo).

hf_arith's classes are loaded directly, never through `auto_map`: no code from a model folder ever runs here, and a
folder of another model type is refused before anything is loaded.
"""

import json
import os
from dataclasses import dataclass

from .configuration_arith_gpt import ArithGPTConfig
from .modeling_arith_gpt import ArithGPTForCausalLM
from .tokenization_aligned import AlignedPairTokenizer
from .tokenization_char import CharTokenizer

TOKENIZER_CLASSES = {cls.__name__: cls for cls in (CharTokenizer, AlignedPairTokenizer)}


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


def load_model_folder(path: str) -> LoadedModel:
    """Loads an hf_arith model folder (local), or raises ValueError naming what is wrong with it."""
    if not os.path.isdir(path):
        raise ValueError(f"model folder {path!r} does not exist (hf_arith's commands take a local folder)")
    config = _read_json(os.path.join(path, "config.json"))
    if config.get("model_type") != ArithGPTConfig.model_type:
        raise ValueError(f"{path!r} is not an hf_arith model (model_type {config.get('model_type')!r}, expected "
                         f"{ArithGPTConfig.model_type!r})")
    tokenizer_config = _read_json(os.path.join(path, "tokenizer_config.json"))
    tokenizer_class = TOKENIZER_CLASSES.get(tokenizer_config.get("tokenizer_class"))
    if tokenizer_class is None:
        raise ValueError(f"{path!r} has tokenizer class {tokenizer_config.get('tokenizer_class')!r}; hf_arith models "
                         f"use one of {sorted(TOKENIZER_CLASSES)}")
    tokenizer = tokenizer_class.from_pretrained(path)
    model = ArithGPTForCausalLM.from_pretrained(path).eval()
    return LoadedModel(model, tokenizer, dict(getattr(model.config, "arith_data", None) or {}))


__all__ = ["LoadedModel", "load_model_folder"]
