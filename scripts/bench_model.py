"""Training tokens/s of ArithGPTForCausalLM vs a plain nn.Module of the same architecture and shapes (same process).

    python scripts/bench_model.py [--steps 60] [--batch 256] [--seq 12]
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from hf_arith import ArithGPTConfig, ArithGPTForCausalLM


class PlainBlock(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class PlainGPT(nn.Module):
    def __init__(self, vocab, positions, d, layers, heads):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(positions, d)
        self.h = nn.ModuleList([PlainBlock(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, ids, labels):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                               ignore_index=-100)


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

    def stepper(model, loss_of):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step():
            loss = loss_of(model)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        return step

    hf_step = stepper(hf_model, lambda m: m(input_ids=ids, labels=labels).loss)
    plain_step = stepper(plain, lambda m: m(ids, labels))
    for r in range(args.repeats):  # interleaved, so machine noise hits both alike
        hf = tokens_per_second(hf_step, args.batch, args.seq, args.steps)
        base = tokens_per_second(plain_step, args.batch, args.seq, args.steps)
        print(f"repeat {r}: ArithGPTForCausalLM {hf:,.0f} tok/s, plain nn.Module {base:,.0f} tok/s, "
              f"overhead {100 * (base / hf - 1):+.1f} %")


if __name__ == "__main__":
    main()
