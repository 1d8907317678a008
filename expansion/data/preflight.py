"""Pre-flight check: open every video once, before any training reads them.

Loading replaces an unreadable video and goes on, so bad data would otherwise surface as
warnings in every trial, or as a `DataError` after a trial has spent its time. Reading each
video's first and last frame finds missing, corrupt and truncated files for the cost of one open
and two short decodes. Threads run the reads in parallel: PyAV decodes with the GIL released.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from expansion.data.datasets import ClipDataset, VideoCollection, check_bad_share
from expansion.data.errors import UnreadableVideoWarning, too_many_unreadable, why_unreadable
from expansion.data.synthetic import SyntheticVideos
from expansion.data.video import READ_ERRORS

WORKERS = 4


def check_videos(
    videos: ClipDataset | VideoCollection, max_bad_share: float, workers: int = WORKERS
) -> list[str]:
    """The names of the unreadable videos of a dataset or collection, read by `workers` threads.

    Each is warned about (`UnreadableVideoWarning`); more than `max_bad_share` of them raise a
    `DataError` naming the first three instead. Synthetic videos are rendered, not decoded, so
    they cannot be unreadable and are not read.
    """
    collection = videos.videos if isinstance(videos, ClipDataset) else videos
    if isinstance(collection, SyntheticVideos):
        return []
    check_bad_share(max_bad_share)
    with ThreadPoolExecutor(workers) as pool:
        errors = list(pool.map(partial(_read_error, collection), range(len(collection))))
    bad = [(collection.name(i), error) for i, error in enumerate(errors) if error is not None]
    if len(bad) > max_bad_share * len(collection):
        raise too_many_unreadable([name for name, _ in bad], len(collection), max_bad_share)
    for name, error in bad:
        warnings.warn(
            f"unreadable video: {why_unreadable(name, error)}", UnreadableVideoWarning, stacklevel=2
        )
    return [name for name, _ in bad]


def _read_error(videos: VideoCollection, index: int) -> BaseException | None:
    """Why video `index` cannot be read, or None if its first and last frames decode."""
    try:
        with videos.open(index) as source:
            source.frames([0])
            source.frames([source.num_frames - 1])
    except READ_ERRORS as error:
        return error
    return None
