"""Video data for trials: the built-in synthetic dataset, video files on disk, clips and views.

Contract:
- `build_dataset(source, view, mode, test_views=, seed=, fps=, max_bad_share=)` returns a
  `torch.utils.data.Dataset` whose items are `(clip, label, video_index)`, with `clip` a float32
  tensor `(3, view.frames, H, W)` normalised with mean 0.45 and std 0.225 on [0, 1] pixels, and
  `num_classes` set. `source` is a `SyntheticSpec`, a `ListFileSource` (mmaction2's video and
  raw-frame lists, and `video_id, num_frames, label_index` lists: `lists`) or a `FolderSource`.
  A video is a file PyAV decodes or a folder of frame images (`rawframes`); both go through the
  same clip code.
- `mode="train"`: one clip per video, a random window of `view.frames` frames `view.stride`
  frames apart, short side scaled to a random size in [128γs, 160γs] (γs = crop / 112), a random
  `view.crop` square crop and a random horizontal flip, all drawn from `(seed, epoch, index)`
  (`set_epoch` changes the epoch). `"val"`/`"test"`: `test_views.clips` windows evenly spaced in
  time × `test_views.crops` spatial crops per video, item `i` being `view_of(i)`; one crop is the
  centre `view.crop` square after scaling the short side to 128γs (K-Center), several are squares
  of 128γs spread along the long side (`TestViews.parse("10x3")` is the 30-view protocol).
- Videos open lazily in whichever process loads an item; datasets are picklable and work with
  `DataLoader(num_workers=...)`.
- `DataConfig.from_mapping(config["data"])` is the typed `data` config group: both splits'
  sources, the class count and names (`data.label_map`: `label_map`), `fps`, `max_bad_share`
  and `validate`;
  `DataConfig.dataset(split, view, mode)`. A folder dataset numbers the classes of both splits by
  one list, `data.classes` or the sorted union of both roots' class folders.
- Unreadable videos are replaced deterministically by another video, with an
  `UnreadableVideoWarning`; the dataset's `failures()` lists them across all worker processes, and
  more than `max_bad_share` of the videos failing raises `DataError`. `check_videos` (and
  `DataConfig.check_videos()` for both splits) reads every video file up front, in parallel.
  Errors in what the user pointed at (malformed list line, label out of range, empty dataset,
  missing root) are `DataError`s with a one-line message.
"""

from expansion.data.build import DataSource, FolderSource, ListFileSource, build_dataset
from expansion.data.config import DataConfig
from expansion.data.datasets import ClipDataset, Mode, View
from expansion.data.errors import DataError, UnreadableVideo, UnreadableVideoWarning
from expansion.data.preflight import check_videos
from expansion.data.sampling import TestViews
from expansion.data.synthetic import SyntheticSpec

__all__ = [
    "ClipDataset",
    "DataConfig",
    "DataError",
    "DataSource",
    "FolderSource",
    "ListFileSource",
    "Mode",
    "SyntheticSpec",
    "TestViews",
    "UnreadableVideo",
    "UnreadableVideoWarning",
    "View",
    "build_dataset",
    "check_videos",
]
