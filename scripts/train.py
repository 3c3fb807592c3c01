"""Train ArithGPT on arithmetic (or a character corpus); the same entry as `hf-arith train`.

    python scripts/train.py                                  # default preset: 3-digit addition on this CPU
    python scripts/train.py --preset mul3-reverse_sum_cot --learning_rate 2e-3
    torchrun --nproc_per_node 2 scripts/train.py --use_cpu true --output_dir outputs/ddp
"""

import sys

from hf_arith.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
