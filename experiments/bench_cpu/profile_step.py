"""torch.profiler over three training steps of the 4 × 12 × 112 X2D-width model (batch 16,
1 thread, `channels_last_3d`, as trials train on the CPU): the operators by their own CPU time,
and `convolution_backward` by input shape (which convolutions cost most).

    python experiments/bench_cpu/profile_step.py > experiments/bench_cpu/profile_step.txt
"""

import torch
from torch.profiler import ProfilerActivity, profile

from search_spaces.x3d import X3DConfig, build_x3d

torch.set_num_threads(1)
torch.manual_seed(0)
config = X3DConfig(
    frames=4, stride=12, crop=112, width_factor=2.0, bottleneck_factor=1.0, depth_factor=1.0
)
model = build_x3d(config, 16).to(memory_format=torch.channels_last_3d).train()
clips = torch.randn(16, 3, 4, 112, 112).contiguous(memory_format=torch.channels_last_3d)
labels = torch.randint(0, 16, (16,))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def step() -> None:
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(clips), labels).backward()
    optimizer.step()


step()  # warm-up
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiled:
    for _ in range(3):
        step()
print(profiled.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
by_shape = profiled.key_averages(group_by_input_shape=True)
backward = [event for event in by_shape if event.key == "aten::convolution_backward"]
for event in sorted(backward, key=lambda event: -event.self_cpu_time_total)[:8]:
    shapes = event.input_shapes[:3]
    print(f"{event.self_cpu_time_total / 1000:8.1f} ms  {event.count:3d} calls  {shapes}")
