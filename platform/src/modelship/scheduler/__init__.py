"""The scheduler: asynchronous scoring jobs, recurring schedules and their notifications."""
