"""Types shared by every layer: the job snapshot, job IDs, source errors."""
