"""What a search leaves on disk and reads back: the trials table (`store`), a run folder
(`runs`), architecture files, model checkpoints, figures (`plots`), atomic writes."""
