"""The whole recipe in one file, from hf_arith's public pieces: 3-digit addition with aligned digit pairs.

    python scripts/minimal_train.py --output_dir outputs/minimal           # about a minute on 2 CPU cores
    python scripts/minimal_train.py --max_steps 50 --train_size 2000       # a smoke run

tokenizer -> `datasets` builder -> config -> Trainer with answer-only labels -> greedy exact match against Python's
integers. `hf-arith train` is this plus presets, suites, checkpoints, staging and the model card.
"""

from dataclasses import dataclass, field

import torch
from transformers import HfArgumentParser, Trainer, TrainingArguments, set_seed

from hf_arith import AlignedPairTokenizer, ArithGPTConfig, ArithGPTForCausalLM
from hf_arith.data import load_arithmetic_traces, parse_prompt, read_answer
from hf_arith.evaluation import generate_completions, preprocess_logits_for_metrics, teacher_forced_metrics
from hf_arith.training import AnswerOnlyCollator


@dataclass
class RecipeArguments:
    max_digits: int = field(default=3, metadata={"help": "operands of 1 to this many digits"})
    train_size: int = field(default=100_000, metadata={"help": "distinct training problems"})
    n_layer: int = field(default=2, metadata={"help": "transformer blocks"})
    n_embd: int = field(default=128, metadata={"help": "width"})
    test_problems: int = field(default=1_000, metadata={"help": "test problems scored by greedy generation"})


def main(argv=None) -> dict:
    parser = HfArgumentParser((RecipeArguments, TrainingArguments))
    parser.set_defaults(output_dir="outputs/minimal", max_steps=800, per_device_train_batch_size=256,
                        learning_rate=3e-3, warmup_steps=30, lr_scheduler_type="cosine", weight_decay=0.1,
                        adam_beta2=0.99, eval_strategy="steps", eval_steps=200, save_strategy="no",
                        logging_steps=100, report_to="none", remove_unused_columns=False, use_cpu=True)
    recipe, training = parser.parse_args_into_dataclasses(args=argv)

    # 1. Data: disjoint train / validation / test splits of traces, zero-padded so every digit has a fixed place;
    #    the answer reversed (least significant digit first), so each digit depends on what is already written.
    data = load_arithmetic_traces("add3", max_digits=recipe.max_digits, zero_pad=True, format="reversed",
                                  train_size=recipe.train_size, validation_size=500, test_size=recipe.test_problems,
                                  train_mix="lengths:1,values:1,hard:1")

    # 2. Tokenizer: one token per column, holding the digit of a and the digit of b at that significance.
    tokenizer = AlignedPairTokenizer(max_digits=recipe.max_digits)

    # 3. Model: a nanoGPT with a position for every token of a trace (zero padding makes them all one length) and
    #    its EOS; the seed is set first, so it seeds the initial weights.
    set_seed(training.seed)
    traces = [p + c for p, c in zip(data["test"]["prompt"], data["test"]["completion"])]
    longest = max(len(ids) for ids in tokenizer(traces)["input_ids"]) + 1
    config = ArithGPTConfig(vocab_size=tokenizer.vocab_size, n_positions=longest, n_layer=recipe.n_layer,
                            n_embd=recipe.n_embd, n_head=4, pad_token_id=tokenizer.pad_token_id,
                            eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    model = ArithGPTForCausalLM(config)

    # 4. Train: labels are -100 on the prompt, so the loss is on the answer (and its EOS) alone.
    trainer = Trainer(model=model, args=training, train_dataset=data["train"], eval_dataset=data["validation"],
                      data_collator=AnswerOnlyCollator(tokenizer), processing_class=tokenizer,
                      compute_metrics=teacher_forced_metrics(tokenizer, "reversed"),
                      preprocess_logits_for_metrics=preprocess_logits_for_metrics)
    trainer.train()

    # 5. Score: greedy generation on the test split, each answer read back as an integer and compared with Python's.
    model.eval()
    prompts = data["test"]["prompt"]
    with torch.no_grad():
        completions = generate_completions(model, tokenizer, prompts, max_new_tokens=recipe.max_digits + 2)
    right = 0
    for prompt, completion in zip(prompts, completions):
        a, op, b = parse_prompt(prompt)
        answer = read_answer(completion.text, op, "reversed") if completion.finished else None
        right += answer is not None and int(answer) == int(a) + int(b)
    exact_match = right / len(prompts)
    print(f"test: {right} of {len(prompts)} right ({100 * exact_match:.2f} %), greedy, against Python's integers")
    trainer.save_model(training.output_dir)
    tokenizer.save_pretrained(training.output_dir)
    return {"exact_match": exact_match, "right": right, "problems": len(prompts)}


if __name__ == "__main__":
    main()
