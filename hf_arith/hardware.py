"""What a reported time was measured on, in one line (for results files, model cards and the benchmark)."""

import os
import platform

import torch


def hardware_description(device: torch.device | str | None = None) -> str:
    """The GPU's name when `device` is CUDA, else the CPU architecture and core count; with torch's thread count."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return (f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}")


__all__ = ["hardware_description"]
