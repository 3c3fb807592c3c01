"""--length_buckets: a batch trained in groups of similar length has the whole padded batch's loss and gradient."""

import pytest
import torch
from transformers import TrainingArguments

from hf_arith.batching import left_pad, length_buckets
from hf_arith.configuration_arith_gpt import ArithGPTConfig
from hf_arith.modeling_arith_gpt import ArithGPTForCausalLM
from hf_arith.training.callbacks import TargetAndTiming
from hf_arith.training.run import ArithTrainer


def test_groups_are_longest_first_and_each_wastes_under_a_fifth_of_its_columns():
    lengths = [140, 40, 80, 141, 66, 39, 140]
    mask = left_pad([[1] * n for n in lengths], 0)[1]
    groups = [[lengths[i] for i in g.tolist()] for g in length_buckets(mask)]
    assert groups == [[141, 140, 140], [80, 66], [40, 39]]
    assert sorted(i for g in length_buckets(mask) for i in g.tolist()) == list(range(len(lengths)))
    assert [len(g) for g in length_buckets(mask, min_fill=0.1)] == [7]
    with pytest.raises(ValueError, match="min_fill must be in \\(0, 1\\], got 0"):
        length_buckets(mask, min_fill=0)


def _batch(generator, unlabelled_group=False):
    rows, labels = [], []
    for prompt, completion in [(8, 132), (8, 30), (8, 58), (8, 132), (7, 20), (8, 31)]:
        ids = torch.randint(3, 20, (prompt + completion,), generator=generator).tolist()
        rows.append(ids)
        # unlabelled_group: the two shortest rows (a group of their own) carry no label at all
        labels.append([-100] * completion if unlabelled_group and completion < 30 + 2 else ids[prompt:])
    input_ids, attention_mask = left_pad(rows, 0)
    completion, _ = left_pad(labels, 0, fill=-100)
    labels = torch.cat([torch.full((len(rows), input_ids.shape[1] - completion.shape[1]), -100), completion], dim=1)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


@pytest.mark.parametrize("num_items,unlabelled_group", [(None, False), ("counted", False), (None, True),
                                                       ("counted", True)])
def test_bucketed_loss_and_gradient_are_the_padded_batchs(tmp_path, num_items, unlabelled_group):
    torch.manual_seed(0)
    config = ArithGPTConfig(vocab_size=24, n_layer=2, n_embd=32, n_head=2, n_positions=256,
                            position_embedding="rope", pad_token_id=0)
    model = ArithGPTForCausalLM(config).train()
    batch = _batch(torch.Generator().manual_seed(1), unlabelled_group)
    items = (batch["labels"][:, 1:] != -100).sum() if num_items else None
    results = []
    for bucketed in (False, True):
        trainer = ArithTrainer(model=model, args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True,
                                                                   report_to=[]),
                               timing=TargetAndTiming(None), length_buckets=bucketed)
        model.zero_grad()
        loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=items)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    (loss, grads), (bucketed_loss, bucketed_grads) = results
    assert len(length_buckets(batch["attention_mask"])) == 4  # the test splits the batch at all
    torch.testing.assert_close(bucketed_loss, loss, rtol=1e-5, atol=1e-6)
    for g, h in zip(grads, bucketed_grads):
        torch.testing.assert_close(h, g, rtol=1e-4, atol=1e-6)


def test_the_flag_reaches_the_trainer_off_by_default_on_in_the_calculator_preset():
    from hf_arith.training import parse_train_args

    assert parse_train_args(["--preset", "add3"]).run.length_buckets is False
    assert parse_train_args(["--preset", "add3", "--length_buckets", "true"]).run.length_buckets is True
    assert parse_train_args(["--preset", "calc3"]).run.length_buckets is True  # its divisions are 4x a sum's length
    assert parse_train_args(["--preset", "calc3", "--length_buckets", "false"]).run.length_buckets is False
