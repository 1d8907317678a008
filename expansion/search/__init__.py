"""The expansion search: its policy (`coordinator`), the sizing of candidates (`sizing`),
complexity counts, trial records, the driver that trains step by step (`driver`), the plan and
its cost model (`plan`), console output (`console`), and dispatch of trials, in this process
(`dispatch`) or on Ray Tune (`ray_trials`)."""
