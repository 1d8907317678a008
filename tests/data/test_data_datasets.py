"""List files, folder layouts, bad data and DataLoader workers."""

import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from index_videos import frame_indices
from torch.utils.data import DataLoader

from expansion.data import (
    DataError,
    FolderSource,
    ListFileSource,
    SyntheticSpec,
    TestViews,
    UnreadableVideoWarning,
    build_dataset,
    check_videos,
)
from expansion.data.build import collection
from expansion.data.failures import FailureLedger
from expansion.data.synthetic import SyntheticVideos
from expansion.data.video import VideoFile
from search_spaces.base import InputView

VIEW = InputView(frames=4, stride=2, crop=32)


def index_videos(make_video: Callable[..., Path], count: int, frames: int = 20) -> list[str]:
    return [make_video(f"videos/v{i:02d}.mp4", frames).name for i in range(count)]


def write_list(tmp_path: Path, lines: list[str], name: str = "train.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_list_file_with_spaces_commas_and_blank_lines(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    names = index_videos(make_video, 3)
    lines = [f"videos/{names[0]} 2", "", f"videos/{names[1]},0", f"videos/{names[2]}  1  "]
    dataset = build_dataset(ListFileSource(write_list(tmp_path, lines), tmp_path), VIEW)
    assert dataset.num_classes == 3 and len(dataset) == 3
    assert [dataset[i][1:] for i in range(3)] == [(2, 0), (0, 1), (1, 2)]
    wider = build_dataset(ListFileSource(write_list(tmp_path, lines), tmp_path, 400), VIEW)
    assert wider.num_classes == 400


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("videos/a.mp4", "expected 'path label'"),
        ("videos/a.mp4 cat", "expected 'path label'"),
        ("videos/a.mp4 3", r"label 3 outside \[0, 3\)"),
        ("videos/a.mp4 -1", "label -1 outside"),
    ],
)
def test_bad_list_lines_name_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    list_file = write_list(tmp_path, ["videos/b.mp4 0", "videos/c.mp4 2", line])
    with pytest.raises(DataError, match=rf"train.csv:3: {problem}"):
        build_dataset(ListFileSource(list_file, tmp_path, num_classes=3), VIEW)


def test_a_byte_order_mark_is_not_part_of_the_first_path(tmp_path: Path) -> None:
    list_file = tmp_path / "train.csv"
    list_file.write_bytes("\ufeffvideos/a.mp4 0\nvideos/b.mp4 1\n".encode())
    videos = collection(ListFileSource(list_file, tmp_path))
    expected = [str(tmp_path / "videos" / f"{n}.mp4") for n in "ab"]
    assert [videos.name(i) for i in range(2)] == expected


@pytest.mark.parametrize(
    ("content", "line"),
    [(b"videos/a.mp4 0\nvid\xe9os/b.mp4 1\n", 2), (b"\xef\xbb\xbfvideos/\xff.mp4 0\n", 1)],
)
def test_a_list_file_not_in_utf8_names_file_and_line(
    tmp_path: Path, content: bytes, line: int
) -> None:
    (tmp_path / "train.csv").write_bytes(content)
    with pytest.raises(DataError, match=rf"^\S*train.csv:{line}: not UTF-8 text"):
        build_dataset(ListFileSource(tmp_path / "train.csv", tmp_path), VIEW)


def test_empty_and_missing_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="lists no videos"):
        build_dataset(ListFileSource(write_list(tmp_path, [""]), tmp_path), VIEW)
    with pytest.raises(DataError, match="does not exist"):
        build_dataset(ListFileSource(tmp_path / "none.csv", tmp_path), VIEW)
    with pytest.raises(DataError, match="does not exist"):
        build_dataset(FolderSource(tmp_path / "nowhere"), VIEW)
    (tmp_path / "empty" / "class").mkdir(parents=True)
    with pytest.raises(DataError, match="no videos under"):
        build_dataset(FolderSource(tmp_path / "empty"), VIEW)


def damaged_dataset(make_video: Callable[..., Path], tmp_path: Path, share: float = 0.05):
    """30 good index videos and, at rows 3, 4 and 5, a corrupt, a truncated and a missing one."""
    names = index_videos(make_video, 30)
    (tmp_path / "videos" / "garbage.mp4").write_bytes(bytes(range(256)) * 64)
    whole = make_video("videos/cut.mp4", 20).read_bytes()
    (tmp_path / "videos" / "cut.mp4").write_bytes(whole[: len(whole) // 2])
    bad = ["garbage.mp4", "cut.mp4", "gone.mp4"]
    lines = [f"videos/{n} {i % 3}" for i, n in enumerate(names[:3] + bad + names[3:])]
    source = ListFileSource(write_list(tmp_path, lines), tmp_path)
    return build_dataset(source, VIEW, max_bad_share=share)


@pytest.mark.parametrize("row", [3, 4, 5])
def test_bad_videos_are_replaced_warned_and_counted(
    make_video: Callable[..., Path], tmp_path: Path, row: int
) -> None:
    dataset = damaged_dataset(make_video, tmp_path, share=0.1)
    with pytest.warns(UserWarning, match=r"unreadable video replaced: .*(garbage|cut|gone)\.mp4"):
        clip, label, video = dataset[row]
    assert video != row and label == dataset.videos.label(video)
    assert clip.shape == (3, 4, 32, 32)
    assert len(dataset.failures()) == 1 and Path(dataset.failures()[0]).parent.name == "videos"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a video is only warned about once
        again = dataset[row]
    assert torch.equal(again[0], clip) and again[2] == video  # the replacement is deterministic


def test_unreadable_videos_warn_in_their_own_category(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    dataset = damaged_dataset(make_video, tmp_path, share=0.1)
    with pytest.warns(UnreadableVideoWarning, match=r"garbage\.mp4"):
        dataset[3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=UnreadableVideoWarning)
        dataset[4]  # callers can silence them and nothing else
    assert len(dataset.failures()) == 2


def test_too_many_bad_videos_stop_with_their_names(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    dataset = damaged_dataset(make_video, tmp_path)  # 1 of 33 is fine, 2 are more than 5 %
    with pytest.warns(UserWarning):
        dataset[3]
        with pytest.raises(DataError, match=r"^2 of 33 videos .* 5%\): .*garbage.mp4, .*cut.mp4$"):
            dataset[4]


def test_check_videos_finds_every_bad_video(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    dataset = damaged_dataset(make_video, tmp_path, share=0.5)
    with pytest.warns(UnreadableVideoWarning) as warned:
        failed = check_videos(dataset, 0.5, workers=2)
    assert [Path(f).name for f in failed] == ["garbage.mp4", "cut.mp4", "gone.mp4"]
    assert [str(w.message).split(" (")[0] for w in warned] == [
        f"unreadable video: {name}" for name in failed
    ]
    with pytest.warns(UnreadableVideoWarning):
        assert check_videos(dataset.videos, 0.5, workers=2) == failed
    named = r"^3 of 33 videos .* 5%\): .*garbage.mp4, .*cut.mp4, .*gone.mp4$"
    with pytest.raises(DataError, match=named):
        check_videos(dataset, 0.05)


class WaitingVideos:
    """Index videos that open only once `parties` of them are opening at the same time."""

    num_classes = 1

    def __init__(self, path: Path, count: int, parties: int) -> None:
        self.path, self.count = path, count
        self.barrier = threading.Barrier(parties, timeout=10)

    def __len__(self) -> int:
        return self.count

    def label(self, index: int) -> int:
        return 0

    def name(self, index: int) -> str:
        return f"{self.path}#{index}"

    def open(self, index: int) -> VideoFile:
        self.barrier.wait()  # BrokenBarrierError (not a read error) if the reads are sequential
        return VideoFile(self.path)


def test_check_videos_reads_in_parallel(make_video: Callable[..., Path]) -> None:
    videos = WaitingVideos(make_video("a.mp4", 20), count=6, parties=3)
    assert check_videos(videos, 0.0, workers=3) == []


def test_check_videos_skips_synthetic_videos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SyntheticVideos, "open", lambda self, index: pytest.fail("opened"))
    spec = SyntheticSpec(num_videos=6)
    assert check_videos(build_dataset(spec, VIEW), 0.0) == []
    assert check_videos(collection(spec), 0.0) == []


def test_dataloader_with_two_workers_counts_failures_of_workers(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    dataset = damaged_dataset(make_video, tmp_path, share=0.1)
    loader = DataLoader(dataset, batch_size=4, num_workers=2)
    batches = list(loader)
    assert sum(len(b[1]) for b in batches) == 33
    assert batches[0][0].shape == (4, 3, 4, 32, 32)
    assert len(dataset.failures()) == 3  # seen by the workers, reported in the main process
    again = [frame_indices(clip) for clip in next(iter(loader))[0]]
    assert again == [frame_indices(clip) for clip in batches[0][0]]


def test_a_spawned_process_records_failures_in_the_same_ledger() -> None:
    ledger = FailureLedger(5)
    ledger.record(1)
    child = torch.multiprocessing.get_context("spawn").Process(target=ledger.record, args=(3,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0 and ledger.failed() == [1, 3]


def test_test_mode_dataloader_maps_items_to_views(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    make_video("root/a/x.mp4", 20)
    make_video("root/b/y.mp4", 20)
    source = FolderSource(tmp_path / "root")
    dataset = build_dataset(source, VIEW, "test", test_views=TestViews(2, 3))
    videos = torch.cat([b[2] for b in DataLoader(dataset, batch_size=5, num_workers=2)])
    assert videos.tolist() == [0] * 6 + [1] * 6
    assert [dataset.view_of(i).video for i in range(12)] == videos.tolist()


def test_datasets_leave_no_files_in_the_temp_folder(
    make_video: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    damaged = damaged_dataset(make_video, tmp_path, share=0.1)
    synthetic = build_dataset(SyntheticSpec(num_videos=6), VIEW, "val")
    with pytest.warns(UserWarning):
        damaged[3]
    list(DataLoader(damaged, batch_size=11, num_workers=2))  # workers warn on their own stderr
    assert synthetic[0][0].shape == (3, 4, 32, 32) and len(damaged.failures()) == 3
    assert list((tmp_path / "tmp").iterdir()) == []
