"""hf_arith: train small GPTs from scratch to do arithmetic, with Hugging Face components.

Importing the package registers ArithGPT with the Auto classes, and marks the classes for export, so that
`save_pretrained` writes the code files and `auto_map` a Hub user needs for `trust_remote_code=True`.
"""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer
from transformers.models.auto import tokenization_auto

from .configuration_arith_gpt import CODE_VERSION, POSITION_EMBEDDINGS, ArithGPTConfig
from .modeling_arith_gpt import ArithGPTForCausalLM, ArithGPTModel
from .tokenization_aligned import AlignedPairTokenizer
from .tokenization_char import CharTokenizer
from .tokenization_char_fast import CharTokenizerFast

__version__ = CODE_VERSION  # the exported configuration file carries it

AutoConfig.register(ArithGPTConfig.model_type, ArithGPTConfig, exist_ok=True)
AutoModel.register(ArithGPTConfig, ArithGPTModel, exist_ok=True)
AutoModelForCausalLM.register(ArithGPTConfig, ArithGPTForCausalLM, exist_ok=True)
AutoTokenizer.register(ArithGPTConfig, slow_tokenizer_class=CharTokenizer, fast_tokenizer_class=CharTokenizerFast,
                       exist_ok=True)
# A config maps to one tokenizer class, but AutoTokenizer finds a saved tokenizer by the class name in its
# tokenizer_config.json; register() records only the classes passed to it, so the second one is added by name.
tokenization_auto.REGISTERED_TOKENIZER_CLASSES[AlignedPairTokenizer.__name__] = AlignedPairTokenizer

ArithGPTConfig.register_for_auto_class()
ArithGPTModel.register_for_auto_class("AutoModel")
ArithGPTForCausalLM.register_for_auto_class("AutoModelForCausalLM")
CharTokenizer.register_for_auto_class("AutoTokenizer")
CharTokenizerFast.register_for_auto_class("AutoTokenizer")
AlignedPairTokenizer.register_for_auto_class("AutoTokenizer")

__all__ = [
    "AlignedPairTokenizer",
    "ArithGPTConfig",
    "ArithGPTForCausalLM",
    "ArithGPTModel",
    "CharTokenizer",
    "CharTokenizerFast",
    "POSITION_EMBEDDINGS",
    "__version__",
]
