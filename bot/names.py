"""Names of places, teams, doctors and medicines in the reader's language: one rule for every
screen.

The district files require Chinese names and take English ones optionally (`name_en`,
`address_en`, `town_en`, `team_en`). A Chinese reader sees the Chinese name. An English reader
sees the English name, and where the operator gave none, the Chinese one: the name on the sign
at the door, never a blank or a made-up transliteration. Medicines follow the same rule with
the content list's names (`medicines_catalog`), copied onto the resident's list and refills.

Every screen that shows one of these names calls the function of its kind here (a test greps
the handlers for `name_zh` / `name_en` / `.team` used anywhere else).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.directory import Doctor, Station
from bot.domain.districts import District
from bot.domain.medicines import Entry, Medicine, Refill
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.i18n import Translator

# How a team and its centre read together: "朱泾社区卫生服务中心的朱泾家庭医生一团队" /
# "Zhujing Family Doctor Team 1, Zhujing Community Health Service Centre".
TEAM_AT_CENTRE = N_("{team}, {centre}")


def shown_name(locale: str, zh: str, en: str) -> str:
    """The name for a reader of `locale`: English for English readers when there is one,
    else the Chinese name (the visible fallback)."""
    return en if locale == "en" and en else zh


def station_name(locale: str, station: Station) -> str:
    return shown_name(locale, station.name_zh, station.name_en)


def doctor_name(locale: str, doctor: Doctor) -> str:
    return shown_name(locale, doctor.name_zh, doctor.name_en)


def team_name(locale: str, doctor: Doctor) -> str:
    """The doctor's team ("朱泾家庭医生一团队" / "Zhujing Family Doctor Team 1"); a doctor with
    no team named is their own team: their name."""
    if not doctor.team:
        return doctor_name(locale, doctor)
    return shown_name(locale, doctor.team, doctor.team_en)


def doctor_and_team(locale: str, doctor: Doctor) -> str:
    """ "王医生 · 一团队": the doctor, and their team when they have one."""
    name = doctor_name(locale, doctor)
    return f"{name} · {team_name(locale, doctor)}" if doctor.team else name


def team_at_centre(t: Translator, team: str, centre: str) -> str:
    """A team with its centre, both already in the reader's language (`team_name`,
    `station_name`): the one phrase for it on every screen."""
    if not centre:
        return team
    if not team:
        return centre
    return t.gettext(TEAM_AT_CENTRE).format(team=team, centre=centre)


def district_name(locale: str, district: District) -> str:
    return shown_name(locale, district.name_zh, district.name_en)


def medicine_name(locale: str, medicine: Medicine) -> str:
    """A medicine of the content list."""
    return shown_name(locale, medicine.name_zh, medicine.name_en)


def entry_name(locale: str, entry: Entry) -> str:
    """A medicine on the resident's list (its names were copied from the content list, or
    typed: then there is only the typed name), with the strength when one was chosen."""
    name = shown_name(locale, entry.name, entry.name_en)
    return f"{name} {entry.strength}" if entry.strength else name


def refill_names(locale: str, refill: Refill) -> list[str]:
    """The medicines of a refill request, as they were named when it was asked."""
    english = refill.names_en + ("",) * (len(refill.names) - len(refill.names_en))
    return [shown_name(locale, zh, en) for zh, en in zip(refill.names, english, strict=False)]
