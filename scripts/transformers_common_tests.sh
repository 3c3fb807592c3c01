#!/usr/bin/env bash
# Runs transformers' own common model tests (ModelTesterMixin, ConfigTester) on ArithGPT, for every position scheme:
#
#   bash scripts/transformers_common_tests.sh [-q] [-k test_attention_outputs] [...]     (pytest arguments)
#
# Those tests are in transformers' sdist, not in its wheel. This script downloads the sdist of the installed version
# once (about 10 MB, into ~/.cache/hf_arith), unpacks its tests/ as the package `transformers_tests`, and gives three
# modules the sdist's common tests import but do not carry an empty stand-in (GenerationTesterMixin, ExportTesterMixin,
# config_common_kwargs): the generation and export mixins are therefore not run here (tests/test_modeling.py checks
# generation, the KV cache, the static cache and torch.export itself). Nothing of transformers' test code is kept in
# this repository; tests/test_transformers_common.py is the tester (as tests/models/llama/ is in transformers).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(python -c "import transformers; print(transformers.__version__)")
root=${HF_ARITH_CACHE:-$HOME/.cache/hf_arith}/transformers-tests-$version
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
  echo "class GenerationTesterMixin: pass" > "$root/transformers_tests/generation/test_utils.py"
  echo "class ExportTesterMixin: pass" > "$root/transformers_tests/exporters/test_export.py"
  echo "config_common_kwargs = {}" > "$root/transformers_tests/utils/test_configuration_utils.py"
fi
python -m pip install -q parameterized
# -W: the project's pytest settings ignore FutureWarning; transformers' tests assert some (a deprecated keyword's)
TRANSFORMERS_TESTS="$root" python -m pytest tests/test_transformers_common.py -p no:cacheprovider \
    -W "default::FutureWarning" "$@"
