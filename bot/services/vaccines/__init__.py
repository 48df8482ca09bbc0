"""Childhood immunisation schedule: versioned schedule data and a pure dose planner."""

from bot.services.vaccines.engine import (
    GivenDose,
    Plan,
    PlanInputError,
    PlannedDose,
    Planner,
    Status,
    parse_given,
)
from bot.services.vaccines.reminders import (
    Reminder,
    ReminderKind,
    due_reminders,
    next_reminders,
)
from bot.services.vaccines.schedule import (
    Age,
    Schedule,
    ScheduleError,
    ScheduleSet,
    choices_from_settings,
    load_schedule,
    load_schedule_set,
    validate_files,
)

__all__ = [
    "Age",
    "GivenDose",
    "Plan",
    "PlanInputError",
    "PlannedDose",
    "Planner",
    "Reminder",
    "ReminderKind",
    "Schedule",
    "ScheduleError",
    "ScheduleSet",
    "Status",
    "choices_from_settings",
    "due_reminders",
    "load_schedule",
    "load_schedule_set",
    "next_reminders",
    "parse_given",
    "validate_files",
]
