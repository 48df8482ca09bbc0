"""Logging failures without personal data.

An exception's message can quote what a resident typed (`int('135/85x')`) or a database row,
so failures are logged as the exception's type and the stack frames only.
"""

from __future__ import annotations

import traceback


def describe(exc: BaseException) -> str:
    """'ValueError' plus the traceback frames, without the exception's message."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    cause = exc.__cause__ or exc.__context__
    chained = f"\n(caused by {type(cause).__name__})" if cause is not None else ""
    return f"{type(exc).__name__}{chained}\n{frames}"
