"""The HTTP routes: predictions (`predict`), MLflow's protocol (`invocations`), health and info."""
