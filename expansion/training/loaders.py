"""DataLoaders for training and evaluation, with order and randomness fixed by a seed.

Training clips are already a function of `(seed, epoch, index)` (see `expansion.data`); the only
other randomness is the shuffling order, drawn here from `(seed, epoch)`, so an epoch's batches do
not depend on the number of workers or on what ran before in the process.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator for epoch `epoch` of a run seeded with `seed`."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def train_loader(
    dataset: Dataset, batch_size: int, num_workers: int, seed: int, epoch: int, pin_memory: bool
) -> DataLoader:
    """Shuffled full batches of `dataset` for one epoch (the last, partial batch is dropped)."""
    generator = epoch_generator(seed, epoch)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=RandomSampler(dataset, generator=generator),
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=True,
        generator=generator,
    )


def shard_order(
    num_items: int, batch_size: int, rank: int, world: int, seed: int, epoch: int
) -> list[int]:
    """Item order for one of `world` data-parallel workers in epoch `epoch`.

    One shuffle of all items is cut into global batches of `batch_size` (the last, partial one
    dropped) and every global batch into `world` equal slices; worker `rank` gets its slices in
    order. The global batches are the same for any `world`.
    """
    if batch_size % world:
        raise ValueError(f"batch_size {batch_size} does not split over {world} workers")
    usable = num_items // batch_size * batch_size
    order = torch.randperm(num_items, generator=epoch_generator(seed, epoch))[:usable]
    return order.view(-1, world, batch_size // world)[:, rank].flatten().tolist()


def sharded_train_loader(
    dataset: Dataset,
    batch_size: int,
    rank: int,
    world: int,
    num_workers: int,
    seed: int,
    epoch: int,
    pin_memory: bool,
) -> DataLoader:
    """Worker `rank`'s share of every global batch of `batch_size` clips (see `shard_order`)."""
    order = shard_order(len(dataset), batch_size, rank, world, seed, epoch)  # type: ignore[arg-type]
    return DataLoader(
        dataset,
        batch_size=batch_size // world,
        sampler=order,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )


def eval_loader(
    dataset: Dataset, batch_size: int, num_workers: int, pin_memory: bool
) -> DataLoader:
    """Every item of `dataset` in index order (evaluation maps positions back to videos)."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
