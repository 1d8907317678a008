"""What a search leaves on disk and reads back: the trials table (`store`), a run folder
(`run_folder` starts or resumes one, `run_table` reads one back), architecture files, model
checkpoints, `figures`, atomic writes."""
