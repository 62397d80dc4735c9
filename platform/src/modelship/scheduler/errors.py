"""What a job submission can get wrong, each with its status and the field it names."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: ``status`` (400/404/413/415/422) and a message that names the field."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.status = field, status
