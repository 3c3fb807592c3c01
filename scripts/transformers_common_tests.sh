#!/usr/bin/env bash
# Runs transformers' own common model tests (ModelTesterMixin, ConfigTester) on ArithGPT, for every position scheme:
#
#   bash scripts/transformers_common_tests.sh [-q] [-k test_attention_outputs] [...]     (pytest arguments)
#
# Those tests are in transformers' sdist, not in its wheel. This script downloads the sdist of the installed version
# once (about 10 MB, into ~/.cache/hf_arith), unpacks its tests/ as the package `transformers_tests`, and adds
# GenerationTesterMixin from scripts/upstream/generation_test_utils.py (transformers' tests/generation/test_utils.py,
# which the sdist does not ship: a copy of its main branch of 2026-08-22, 5.16.0.dev0). Two modules the tests import
# get an empty stand-in (the export mixins, config_common_kwargs): torch.export is checked by tests/test_modeling.py.
# tests/test_transformers_common.py is the tester (as tests/models/llama/ is in transformers).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(python -c "import transformers; print(transformers.__version__)")
root=${HF_ARITH_CACHE:-$HOME/.cache/hf_arith}/transformers-tests-$version-generation
if [ ! -f "$root/transformers_tests/test_modeling_common.py" ]; then
  download=$(mktemp -d)
  python -m pip download -q --no-deps --no-binary :all: "transformers==$version" -d "$download"
  tar xzf "$download/transformers-$version.tar.gz" -C "$download"
  mkdir -p "$root"
  rm -rf "$root/transformers_tests"
  cp -r "$download/transformers-$version/tests" "$root/transformers_tests"
  rm -rf "$download"
  for package in . generation exporters utils; do
    mkdir -p "$root/transformers_tests/$package"
    touch "$root/transformers_tests/$package/__init__.py"
  done
  sed 's/^from tests\./from transformers_tests./' scripts/upstream/generation_test_utils.py \
    > "$root/transformers_tests/generation/test_utils.py"
  printf 'class ExportTesterMixin: pass\nclass ExportGenerateTesterMixin: pass\n' \
    > "$root/transformers_tests/exporters/test_export.py"
  echo "config_common_kwargs = {}" > "$root/transformers_tests/utils/test_configuration_utils.py"
fi
python -m pip install -q parameterized
# -W: the project's pytest settings ignore FutureWarning; transformers' tests assert some (a deprecated keyword's)
TRANSFORMERS_TESTS="$root" python -m pytest tests/test_transformers_common.py -p no:cacheprovider \
    -W "default::FutureWarning" "$@"
