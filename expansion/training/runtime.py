"""Where and how a model runs: device choice, precision, memory layout, threads, determinism.

On CUDA, forward passes run under bf16 autocast (no loss scaling needed) and the model and its
inputs use `channels_last_3d`. On the CPU everything stays fp32 but still `channels_last_3d`:
X3D's channel-wise 3×3×3 convs run ~1.8× faster in that layout there.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from collections.abc import Iterator

import torch
from torch import nn

from expansion.errors import ConfigError

MEMORY_FORMAT = torch.channels_last_3d


def resolve_gpus(gpus: float | None) -> float:
    """The one rule for an unset GPU share: one GPU when CUDA is visible, else none."""
    if gpus is None:
        return 1.0 if torch.cuda.is_available() else 0.0
    return gpus


def gpus_elsewhere(gpus: float | None) -> bool:
    """Whether GPU trials are asked for on a machine without CUDA: a plan made here for trials
    that run elsewhere (a cluster's)."""
    return resolve_gpus(gpus) > 0 and not torch.cuda.is_available()


def pick_device(gpus: float | None) -> torch.device:
    """CUDA when a share of a GPU is asked for (None: when CUDA is visible), else the CPU."""
    gpus = resolve_gpus(gpus)
    if gpus <= 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"gpus={gpus:g} was asked for, but CUDA is not available here")
    return torch.device("cuda", torch.cuda.current_device())


def limit_to_gpu_share(device: torch.device, gpus: float) -> None:
    """Cap this process's CUDA memory at its share of the GPU (`gpus` < 1: trials share it).

    Ray places fractional trials by count only; without the cap one trial's caching allocator
    can take the whole card and the trials beside it fail. With it, a trial that needs more
    than its share fails alone with a CUDA out-of-memory error (recorded, retried), which says
    to give trials a larger share.
    """
    if device.type == "cuda" and 0 < gpus < 1:
        torch.cuda.set_per_process_memory_fraction(gpus, device)


def device_name(device: torch.device) -> str:
    """A readable device name for results tables: `cpu`, or `cuda:0 NVIDIA H100 ...`."""
    if device.type == "cuda":
        return f"{device} {torch.cuda.get_device_name(device)}"
    return "cpu"


def prepare_model(model: nn.Module, device: torch.device) -> nn.Module:
    return model.to(device=device, memory_format=MEMORY_FORMAT)


def to_device(clips: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch of clips `(B, C, T, H, W)` on `device` in the model's memory format."""
    return clips.to(device, memory_format=MEMORY_FORMAT, non_blocking=device.type == "cuda")


def autocast(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA; nothing on the CPU (fp32)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory in MiB: CUDA memory allocated since `reset_peak_memory`, or on the CPU the
    peak resident set of this process over its whole life (`getrusage`; DataLoader worker
    processes are not included).
    """
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, else KiB


@contextlib.contextmanager
def seeded_run(seed: int, threads: int, device: torch.device) -> Iterator[None]:
    """Seed torch, use `threads` CPU threads and, on the CPU, deterministic algorithms; restore
    the process's previous threads and determinism afterwards (trials may run in-process).

    CPU results are bit-identical for the same seed and thread count. CUDA is left
    non-deterministic: several X3D backward kernels (adaptive pooling) have no deterministic
    CUDA implementation.
    """
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(device.type == "cpu" or previous_deterministic)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic)
