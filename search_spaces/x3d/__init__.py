"""The X3D family: the network (`model`), its search space with presets and axes (`space`), the
names other codebases give its tensors (`checkpoint_names`), the configuration read from a
checkpoint (`architecture`), and export to mmaction2's format (`mmaction2`)."""

from search_spaces.x3d.model import X3D, X3DConfig, build_x3d, summarize
from search_spaces.x3d.space import AXES, PRESETS, TEST_CROPS, X3D_SPACE, X3DSpace

__all__ = [
    "AXES",
    "PRESETS",
    "TEST_CROPS",
    "X3D",
    "X3D_SPACE",
    "X3DConfig",
    "X3DSpace",
    "build_x3d",
    "summarize",
]
