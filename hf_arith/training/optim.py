"""--optimizer muon: torch's Muon for the blocks' 2-D weights, fused AdamW for the rest, as one optimizer.

The Trainer, its schedule and its checkpoints expect one optimizer; this one holds both and shares their parameter
groups, so the schedule scales every learning rate and a checkpoint saves both states. Embeddings (and the head tied
to them), biases and LayerNorms stay on AdamW, as in the modded-nanoGPT speedruns.
"""

import torch

OPTIMIZERS = ("adamw", "muon")


def muon_parameter_names(model) -> set[str]:
    """The 2-D weights inside the transformer blocks (attention and MLP matrices): Muon's share."""
    return {name for name, p in model.named_parameters()
            if p.requires_grad and p.ndim == 2 and ".h." in f".{name}"}


class MuonWithAdamW(torch.optim.Optimizer):
    """Muon (`torch.optim.Muon`, its learning rate scaled to match AdamW's update size, so one learning rate serves
    both; times `muon_lr_scale`) on `muon_params`; fused AdamW on `adamw_groups`."""

    def __init__(self, muon_params: list, adamw_groups: list[dict], lr: float, weight_decay: float,
                 betas: tuple[float, float], eps: float, muon_lr_scale: float = 1.0, momentum: float = 0.95):
        if not muon_params:
            raise ValueError("--optimizer muon found no 2-D weight inside a transformer block to give Muon")
        self.adamw = torch.optim.AdamW(adamw_groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                       fused=True)
        self.muon = torch.optim.Muon(muon_params, lr=lr * muon_lr_scale, weight_decay=weight_decay,
                                     momentum=momentum, adjust_lr_fn="match_rms_adamw")
        super().__init__([p for g in self.adamw.param_groups + self.muon.param_groups for p in g["params"]],
                         {"lr": lr})
        # the inner optimizers' own groups: what the schedule writes is what they read (AdamW's first, so the logged
        # learning rate is AdamW's)
        self.param_groups = self.adamw.param_groups + self.muon.param_groups

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.adamw.step()
        self.muon.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.adamw.zero_grad(set_to_none)
        self.muon.zero_grad(set_to_none)

    def state_dict(self) -> dict:
        return {"adamw": self.adamw.state_dict(), "muon": self.muon.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        if set(state_dict) != {"adamw", "muon"}:
            raise ValueError("this optimizer state was not saved by --optimizer muon (expected AdamW and Muon states)")
        self.adamw.load_state_dict(state_dict["adamw"])
        self.muon.load_state_dict(state_dict["muon"])
        self.param_groups = self.adamw.param_groups + self.muon.param_groups


def build_muon(model, args, muon_lr_scale: float) -> MuonWithAdamW:
    """The Trainer's decay rule (none on biases and LayerNorms) for the AdamW side; Muon decays its matrices."""
    muon_names = muon_parameter_names(model)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad and n not in muon_names]
    adamw_groups = [{"params": [p for n, p in trainable if p.ndim >= 2], "weight_decay": args.weight_decay},
                    {"params": [p for n, p in trainable if p.ndim < 2], "weight_decay": 0.0}]
    muon_params = [p for n, p in model.named_parameters() if n in muon_names]
    return MuonWithAdamW(muon_params, [g for g in adamw_groups if g["params"]], lr=args.learning_rate,
                         weight_decay=args.weight_decay, betas=(args.adam_beta1, args.adam_beta2),
                         eps=args.adam_epsilon, muon_lr_scale=muon_lr_scale)


__all__ = ["OPTIMIZERS", "MuonWithAdamW", "build_muon", "muon_parameter_names"]
