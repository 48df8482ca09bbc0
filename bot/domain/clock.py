"""The one time type: aware datetimes, from a clock the composition root hands out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

# Returns an aware datetime (UTC). Tests pass a settable clock instead of sleeping.
Clock = Callable[[], datetime]
