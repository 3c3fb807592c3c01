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
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .configuration_arith_gpt import CODE_VERSION, ArithGPTConfig
from .modeling_arith_gpt import ArithGPTForCausalLM
from .tokenization_aligned import AlignedPairTokenizer
from .tokenization_char import CharTokenizer

TOKENIZER_CLASSES = {cls.__name__: cls for cls in (CharTokenizer, AlignedPairTokenizer)}
# Written while a run's final files are put in place and removed last: a folder holding it is an interrupted run.
PARTIAL_MARKER = "RUN_INCOMPLETE"
# Where a finished run is staged before it is put in place, and the list of the files hf_arith put in a folder (a run
# or `eval`): the only ones a later run may replace or remove.
STAGING = ".hf_arith-final"
MANIFEST = ".hf_arith-files.json"
RESULTS_LOCK = ".hf_arith-results.lock"  # held while `eval` adds its results to all_results.json
# The config fields that decide the network's shape and how it reads positions.
TRAINED_CONFIG_FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "bias", "tie_word_embeddings",
                         "position_embedding", "rope_parameters", "coupled_embedding", "coupled_max_offset",
                         "digit_token_ids", "pair_token_ids", "equals_token_id", "pad_token_id", "eos_token_id",
                         "coupled_markers", "operator_token_ids", "coupled_attention_window")


# The code files save_pretrained exports beside the weights (auto_map names them): what `refresh_code` rewrites.
EXPORTED_CODE_FILES = ("configuration_arith_gpt.py", "modeling_arith_gpt.py", "tokenization_char.py",
                       "tokenization_char_fast.py", "tokenization_aligned.py")
# Config, tokenizer and results files are kilobytes: a bound keeps a huge file, or a link to /dev/zero, from being
# read until memory runs out.
MAX_JSON_BYTES = 16 * 2**20
# Files transformers reads from a folder, checked before it does.
FOLDER_JSON_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
                     "added_tokens.json", "tokenizer.json")


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


def check_regular_file(path: str, max_bytes: int | None = None) -> None:
    """A plain file (links followed), and not larger than `max_bytes`: else one ValueError naming it."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise ValueError(f"cannot read {path!r}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path!r} is not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ValueError(f"{path!r} is {info.st_size:,} bytes, more than the {max_bytes:,} such a file may hold")


def owned_files(folder: str) -> set[str]:
    """The files hf_arith wrote into `folder`, as its manifest lists them (empty without one)."""
    try:
        with open(os.path.join(folder, MANIFEST)) as f:
            names = json.load(f)
    except (OSError, ValueError):
        return set()
    return {name for name in names if isinstance(name, str) and "/" not in name} if isinstance(names, list) else set()


def replace_file(path: str, data: bytes) -> None:
    """Writes `data` to a fresh file of a unique name beside `path` (never through a link planted there, never shared
    with another writer), then renames it over `path`: a reader sees the old file or the new one, never half."""
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".partial",
                                         dir=os.path.dirname(path) or ".")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def check_writable(folder: str) -> None:
    """Writes and removes a file of a unique name in `folder` (OSError if it cannot): tried, not read from permission
    bits, which root ignores and a read-only mount overrides. Unique, so the ranks of one run may try at once."""
    handle, probe = tempfile.mkstemp(prefix=".hf_arith_write_probe-", dir=folder)
    os.close(handle)
    os.remove(probe)


def read_json_object(path: str) -> dict:
    """A JSON object from a bounded regular file, or one ValueError naming the file and the fault."""
    check_regular_file(path, MAX_JSON_BYTES)
    try:
        with open(path, "rb") as f:
            value = json.loads(f.read(MAX_JSON_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"cannot read {path!r}: {str(error).splitlines()[0]}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path!r} does not hold a JSON object")
    return value


def _mapping(path: str, where: str, value) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{path!r}: {where} must be a JSON object, got {type(value).__name__} {value!r:.60}")
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


def _read_config(path: str) -> dict:
    """config.json of an hf_arith model folder, or one ValueError saying why it is not one."""
    if not os.path.isdir(path):
        raise ValueError(f"model folder {path!r} does not exist (hf_arith's commands take a local folder)")
    if os.path.exists(os.path.join(path, PARTIAL_MARKER)):
        raise ValueError(f"{path!r} holds an interrupted run ({PARTIAL_MARKER} is present): its files are not a "
                         "complete model")
    if not os.path.lexists(os.path.join(path, "config.json")):
        raise ValueError(f"{path!r} is not a model folder: it holds no config.json")
    raw_config = read_json_object(os.path.join(path, "config.json"))
    if raw_config.get("model_type") != ArithGPTConfig.model_type:
        raise ValueError(f"{path!r} is not an hf_arith model (model_type {raw_config.get('model_type')!r}, expected "
                         f"{ArithGPTConfig.model_type!r})")
    return raw_config


def _auto_map_modules(auto_map) -> set[str]:
    """File names of the modules an auto_map names (modeling_arith_gpt.ArithGPTForCausalLM: modeling_arith_gpt.py)."""
    targets = auto_map.values() if isinstance(auto_map, dict) else []
    names = [name for target in targets for name in (target if isinstance(target, list) else [target])
             if isinstance(name, str)]
    return {name.split("--")[-1].rsplit(".", 1)[0] + ".py" for name in names if "." in name}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def refresh_code(path: str) -> list[str]:
    """Rewrites the code files a model folder ships for `trust_remote_code` users with this hf_arith's own, and
    returns the names of those that changed. Weights, config and tokenizer are not touched; nothing in the folder is
    run. The files rewritten are the exported ones the folder holds or its auto_map names."""
    raw_config = _read_config(path)
    written_by = raw_config.get("hf_arith_version")
    if isinstance(written_by, str) and _release(written_by) > _release(CODE_VERSION):
        raise ValueError(f"{path!r} was written by hf_arith {written_by}; this is {CODE_VERSION}, whose code would "
                         "not implement everything the folder's config asks for: refresh it with that release")
    tokenizer_config = os.path.join(path, "tokenizer_config.json")
    wanted = _auto_map_modules(raw_config.get("auto_map"))
    if os.path.lexists(tokenizer_config):
        wanted |= _auto_map_modules(read_json_object(tokenizer_config).get("auto_map"))
    package = Path(__file__).resolve().parent
    changed = []
    for name in EXPORTED_CODE_FILES:
        target = os.path.join(path, name)
        if not os.path.lexists(target) and name not in wanted:
            continue
        if os.path.lexists(target) and (os.path.islink(target) or not os.path.isfile(target)):
            raise ValueError(f"{target!r} is not a regular file: not replaced (remove it to have it written)")
        new = (package / name).read_bytes()
        if os.path.exists(target) and Path(target).read_bytes() == new:
            continue
        replace_file(target, new)
        changed.append(name)
    return changed


def load_model_folder(path: str) -> LoadedModel:
    """Loads an hf_arith model folder (local), or raises ValueError naming what is wrong with it."""
    raw_config = _read_config(path)
    # Every JSON file transformers reads next, checked for type and size first (read once: the tokenizer's is kept).
    folder_json = {name: read_json_object(os.path.join(path, name)) for name in FOLDER_JSON_FILES[1:]
                   if os.path.lexists(os.path.join(path, name))}
    if os.path.lexists(os.path.join(path, "model.safetensors")):
        check_regular_file(os.path.join(path, "model.safetensors"))
    settings = dict(_mapping(path, "config.json's arith_data", raw_config.get("arith_data") or {}))
    for name in ("tokenizer", "trained_config"):
        if name in settings:
            _mapping(path, f"config.json's arith_data.{name}", settings[name])
    _check_settings(path, settings)
    tokenizer_config = folder_json.get("tokenizer_config.json")
    if tokenizer_config is None:
        raise ValueError(f"cannot read {os.path.join(path, 'tokenizer_config.json')!r}: the folder holds none")
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
        recorded = dict(settings["trained_config"])
        if not config.uses_rope:
            # Folders written before 0.2 record transformers' default RoPE parameters on models without RoPE; such a
            # model now has none. They never affected the network.
            recorded.pop("rope_parameters", None)
        _compare(path, "config.json", recorded, config_record(config))
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


CALCULATOR_FILE = "calculator.json"  # a calculator folder: its experts' model folders, each with its limit
# The calculator shipped inside the package (`hf-arith calc` and `demo` without a folder): `hf-arith train --preset
# calc` wrote it (its README.md names the command and seed).
SHIPPED_CALCULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained", "calc")
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def is_calculator_folder(path: str) -> bool:
    return os.path.lexists(os.path.join(path, CALCULATOR_FILE))


def read_calculator_file(path: str) -> list[dict]:
    """The experts a calculator folder lists, checked: [{"folder", "operations", "max_digits"}], in routing order."""
    where = os.path.join(path, CALCULATOR_FILE)
    experts = read_json_object(where).get("experts")
    if not isinstance(experts, list) or not experts:
        raise ValueError(f"{where!r} must list its experts (\"experts\": a non-empty list)")
    checked = []
    for entry in experts:
        entry = _mapping(where, "each expert", entry)
        folder, limit = entry.get("folder"), entry.get("max_digits")
        # a plain subfolder name: a calculator never reads outside its own folder
        if not isinstance(folder, str) or not _FOLDER_NAME.fullmatch(folder) or ".." in folder:
            raise ValueError(f"{where!r}: expert folder {folder!r} is not a plain subfolder name")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"{where!r}: expert {folder!r} has max_digits {limit!r}; expected an integer >= 1")
        checked.append({**entry, "folder": folder, "max_digits": limit})
    return checked


def load_calculator_folder(path: str) -> list:
    """The experts of a calculator folder (calculator.json), or of one model folder (one expert), as
    calculator.Expert objects; ValueError naming what is wrong."""
    from .calculator import Expert

    def arithmetic(folder: str) -> LoadedModel:
        loaded = load_model_folder(folder)
        if not loaded.is_arithmetic:
            raise ValueError(f"{folder!r} holds no arithmetic data settings (config.arith_data); was it trained by "
                             "hf-arith train on an arithmetic preset?")
        return loaded

    if not is_calculator_folder(path):
        loaded = arithmetic(path)
        return [Expert.of(loaded.model, loaded.tokenizer, loaded.settings, name=os.path.basename(path) or path)]
    experts = []
    for entry in read_calculator_file(path):
        loaded = arithmetic(os.path.join(path, entry["folder"]))
        experts.append(Expert.of(loaded.model, loaded.tokenizer, loaded.settings, entry["max_digits"],
                                 name=entry["folder"]))
    return experts


__all__ = ["CALCULATOR_FILE", "EXPORTED_CODE_FILES", "MANIFEST", "LoadedModel", "PARTIAL_MARKER", "RESULTS_LOCK",
           "SHIPPED_CALCULATOR", "STAGING", "check_regular_file", "check_writable", "config_record",
           "is_calculator_folder", "load_calculator_folder", "load_model_folder", "owned_files", "read_calculator_file",
           "read_json_object", "refresh_code", "replace_file", "tokenizer_record"]
