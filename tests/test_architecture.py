"""The arrows between the parts (README, "Architecture"), checked on the import statements of every module."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hf_arith"
# module (relative to the package) -> hf_arith modules it may never import, directly or lazily inside a function
RULES = {
    "configuration_arith_gpt.py": "everything but transformers and torch",
    "modeling_arith_gpt.py": "everything but transformers, torch and its configuration",
    "tokenization_char.py": "everything but transformers",
    "tokenization_aligned.py": "everything but transformers and tokenization_char",
}
EXPORTED_ALLOWED = {
    "configuration_arith_gpt.py": set(),
    "modeling_arith_gpt.py": {"configuration_arith_gpt"},
    "tokenization_char.py": set(),
    "tokenization_aligned.py": {"tokenization_char"},
}


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(relative imports as module names, absolute top-level packages) of one file, including imports in functions."""
    relative, absolute = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = (node.module or "").split(".")[0]
                relative.update([base] if base else [alias.name for alias in node.names])
            else:
                absolute.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            absolute.update(alias.name.split(".")[0] for alias in node.names)
    return relative, absolute


@pytest.mark.parametrize("name", sorted(EXPORTED_ALLOWED))
def test_exported_files_import_only_torch_transformers_and_each_other(name):
    # save_pretrained ships these files for trust_remote_code users, who may not have hf_arith installed
    relative, absolute = imports_of(PACKAGE / name)
    assert relative <= EXPORTED_ALLOWED[name]
    assert absolute <= {"torch", "transformers", "math", "json", "os", "re", "collections", "warnings"}


def test_the_library_never_imports_its_command_line():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        relative, absolute = imports_of(path)
        assert "cli" not in relative, path
        text = path.read_text()
        assert "hf_arith.cli" not in text and "from .cli" not in text and "from ..cli" not in text, path


def test_data_and_evaluation_never_import_training():
    for folder in ("data", "evaluation"):
        for path in (PACKAGE / folder).rglob("*.py"):
            relative, _ = imports_of(path)
            assert "training" not in relative, path
            assert "hf_arith.training" not in path.read_text(), path


def test_data_never_imports_the_model():
    for path in (PACKAGE / "data").rglob("*.py"):
        relative, _ = imports_of(path)
        assert not relative & {"modeling_arith_gpt", "evaluation"}, path
