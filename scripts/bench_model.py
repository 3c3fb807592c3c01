"""Training tokens/s of ArithGPTForCausalLM vs a plain nn.Module of the same architecture and shapes (same process).

    python scripts/bench_model.py [--steps 60] [--batch 256] [--seq 12]
"""

import argparse
import time

import torch
from benchmarks import PlainGPT

from hf_arith import ArithGPTConfig, ArithGPTForCausalLM


def tokens_per_second(step, batch, seq, steps):
    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch * seq / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seq", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = ArithGPTConfig(vocab_size=145, n_positions=32, n_embd=128, n_layer=2, n_head=4)
    hf_model = ArithGPTForCausalLM(config).train()
    plain = PlainGPT(145, 32, 128, 2, 4).train()
    ids = torch.randint(4, 145, (args.batch, args.seq))
    labels = ids.clone()
    labels[:, : args.seq // 2] = -100
    # the plain model takes next-token targets directly (-1 = ignored), the same positions as the shifted labels
    targets = torch.full_like(ids, -1)
    targets[:, :-1] = labels[:, 1:].masked_fill(labels[:, 1:] == -100, -1)

    def stepper(model, loss_of):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step():
            loss = loss_of(model)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        return step

    hf_step = stepper(hf_model, lambda m: m(input_ids=ids, labels=labels).loss)
    plain_step = stepper(plain, lambda m: m(ids, targets)[1])
    for r in range(args.repeats):  # interleaved, so machine noise hits both alike
        hf = tokens_per_second(hf_step, args.batch, args.seq, args.steps)
        base = tokens_per_second(plain_step, args.batch, args.seq, args.steps)
        print(f"repeat {r}: ArithGPTForCausalLM {hf:,.0f} tok/s, plain nn.Module {base:,.0f} tok/s, "
              f"overhead {100 * (base / hf - 1):+.1f} %")


if __name__ == "__main__":
    main()
