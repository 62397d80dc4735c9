"""Failed sign-ins per email: after ``limit`` failures within ``window_s`` the next attempts
are refused with 429 and ``Retry-After`` until the oldest failure leaves the window, so a
password cannot be guessed at the speed of argon2. In memory, per process (like billing's rate
limit); a success clears the email's failures."""

from __future__ import annotations

import math
import time
from collections import deque


class SignInThrottle:
    def __init__(self, limit: int, window_s: float, max_emails: int = 100_000) -> None:
        self.limit, self.window_s, self.max_emails = limit, window_s, max_emails
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, email: str, now: float) -> deque[float]:
        found = self._failures.get(email, deque())
        while found and now - found[0] >= self.window_s:
            found.popleft()
        return found

    def wait_s(self, email: str) -> int:
        """0 when ``email`` may try now, else the whole seconds until it may."""
        now = time.monotonic()
        recent = self._recent(email.strip().lower(), now)
        if len(recent) < self.limit:
            return 0
        return max(1, math.ceil(self.window_s - (now - recent[0])))

    def failed(self, email: str) -> None:
        key, now = email.strip().lower(), time.monotonic()
        if len(self._failures) >= self.max_emails:
            self._failures.clear()
        recent = self._recent(key, now)
        recent.append(now)
        self._failures[key] = recent

    def succeeded(self, email: str) -> None:
        self._failures.pop(email.strip().lower(), None)
