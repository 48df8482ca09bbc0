"""Names of places, teams and doctors in the reader's language: one rule for every screen.

The district files require Chinese names and take English ones optionally (`name_en`,
`address_en`, `town_en`, `team_en`). A Chinese reader sees the Chinese name. An English reader
sees the English name, and where the operator gave none, the Chinese one: the name on the sign
at the door, never a blank or a made-up transliteration.
"""

from __future__ import annotations

from bot.domain.directory import Doctor, Station


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
