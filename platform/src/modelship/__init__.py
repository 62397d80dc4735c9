"""modelship platform: the model-card schema shared with the template, and the platform apps."""
