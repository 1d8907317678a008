"""Index arithmetic of windows, test clips and frame-rate resampling; crop geometry."""

import numpy as np
import pytest

from expansion.data import TestViews, sampling, transforms
from expansion.errors import ConfigError
from search_spaces.x3d import PRESETS, TEST_CROPS


def test_window_integer_and_fractional_strides() -> None:
    assert sampling.window(3, 4, 2, 100) == [3, 5, 7, 9]
    assert sampling.window(0, 5, 1.5, 100) == [0, 2, 3, 5, 6]  # round(0, 1.5, 3, 4.5, 6), up
    assert sampling.window(10.5, 3, 2.5, 100) == [11, 13, 16]


def test_window_past_the_end_repeats_the_last_frame() -> None:
    assert sampling.window(0, 6, 3, 10) == [0, 3, 6, 9, 9, 9]


def test_train_start_covers_exactly_the_starts_that_fit() -> None:
    rng = np.random.default_rng(0)
    starts = {sampling.train_start(40, 4, 5, rng) for _ in range(2000)}
    assert starts == set(range(0, 40 - 1 - 15 + 1))
    assert sampling.train_start(10, 16, 5, rng) == 0


def test_test_starts_spread_window_centres_evenly() -> None:
    assert sampling.test_starts(61, 4, 5, 1) == [22.5]  # the window sits in the middle
    starts = sampling.test_starts(61, 4, 5, 3)
    assert starts == pytest.approx([7.5, 22.5, 37.5])
    assert sampling.test_starts(8, 4, 5, 2) == [0.0, 0.0]


def test_resampling_maps_indices_by_time() -> None:
    assert sampling.resampled_length(120, 60, 30) == 60
    assert sampling.to_source_indices([0, 1, 2, 59], 60, 30, 120) == [0, 2, 4, 118]
    assert sampling.to_source_indices([0, 1, 2, 3], 25, 30, 50) == [0, 0, 1, 2]
    assert sampling.to_source_indices([0, 1, 2], 15, 30, 30) == [0, 0, 1]


def test_test_views_parse() -> None:
    assert TestViews.parse("10x3") == TestViews(10, 3)
    assert TestViews.parse(" 1X1 ").count == 1
    with pytest.raises(ConfigError, match="10x3"):
        TestViews.parse("10-Center")
    with pytest.raises(ConfigError):
        TestViews(0, 3)


def test_scale_and_crop_geometry() -> None:
    assert transforms.short_side_scale(224, 128) == 256
    assert transforms.short_side_scale(112, 160) == 160
    for name, test_crop in TEST_CROPS.items():  # the reference's 3-crop sizes are 128γs
        assert transforms.short_side_scale(PRESETS[name].crop, 128) == test_crop
    assert transforms.scaled_size(256, 340, 128) == (128, 170)
    assert transforms.scaled_size(340, 256, 128) == (170, 128)
    assert transforms.long_side_offsets(170, 128, 3) == [0, 21, 42]
    assert transforms.long_side_offsets(170, 112, 1) == [29]
    clip = np.arange(2 * 6 * 8 * 1).reshape(2, 6, 8, 1)
    assert transforms.crop(clip, 1, 2, 3, 4).tolist() == clip[:, 1:4, 2:6].tolist()
    with pytest.raises(ValueError):
        transforms.crop(clip, 4, 0, 3, 3)
