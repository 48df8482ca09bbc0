"""Team, station and doctor names in the reader's language, with the Chinese name as the
visible fallback; doctors.csv's optional `team_en` column through import, storage and export."""

from __future__ import annotations

from collections.abc import Callable

from bot import names
from bot.runtime import Runtime
from bot.services import directory_csv
from tests.doctor_fixtures import load_district
from tests.harness import ChatUser

STATIONS = (
    "id,kind,name_zh,name_en,district,town,address_zh,address_en,lat,lon,phone,hours,services\n"
    "c1,centre,甲中心,A Centre,金山区,朱泾,地址,Addr,30.9,121.16,021-1,Mon-Fri 08:00-16:30,\n"
)
OLD_DOCTORS = (  # a file made before team_en existed
    "id,name_zh,name_en,team,centre_id,phone,clinic_hours,communities,languages\n"
    "d1,王医生,,一团队,c1,139,Mon-Fri 08:00-11:30,东林居委,普通话\n"
)
NEW_DOCTORS = (
    "id,name_zh,name_en,team,team_en,centre_id,phone,clinic_hours,communities,languages\n"
    "d1,王医生,Dr Wang,一团队,Team One,c1,139,Mon-Fri 08:00-11:30,东林居委,普通话\n"
)


async def test_team_en_is_optional_and_round_trips(rt: Runtime) -> None:
    service = rt.services.directory
    await service.import_csv("stations", STATIONS.encode())
    report = await service.import_csv("doctors", OLD_DOCTORS.encode())
    assert report.added == 1 and not report.rejected
    (doctor,) = await rt.stores.directory.doctors()
    assert (doctor.team, doctor.team_en) == ("一团队", "")
    # Without English names the English reader sees the Chinese ones, never a blank.
    assert names.team_name("en", doctor) == "一团队"
    assert names.doctor_name("en", doctor) == "王医生"
    await service.import_csv("doctors", NEW_DOCTORS.encode())
    (doctor,) = await rt.stores.directory.doctors()
    assert names.team_name("en", doctor) == "Team One"
    assert names.team_name("zh_Hans", doctor) == "一团队"
    exported = directory_csv.write("doctors", [doctor])
    assert exported.splitlines()[0] == ",".join(directory_csv.DOCTOR_COLUMNS)
    assert "一团队,Team One,c1" in exported


async def test_english_card_names_the_team_in_english(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    en = make_user("3001", "en")
    await en.onboard()
    await en.text("👨‍⚕️ My family doctor")
    await en.press("Zhujing")
    await en.press("Donglin")
    text = en.texts()
    assert "Team: Zhujing Family Doctor Team 1" in text and "朱泾" not in text
    zh = make_user("3002", "zh")
    await zh.onboard("中文")
    await zh.text("👨‍⚕️ 我的家庭医生")
    await zh.press("朱泾")
    await zh.press("东林居委")
    assert "朱泾家庭医生一团队" in zh.texts() and "Team 1" not in zh.texts()


def test_every_screen_names_things_through_bot_names() -> None:
    """Finding: screens picked `name_en if en else name_zh` (or a raw `doctor.team`) by
    themselves, and some showed the Chinese team to English readers. Names are rendered only
    by bot/names.py; this fails on any handler or view choosing a name language itself."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bypass = re.compile(
        r"name_en\s+if\s+[\w.]*locale\b|locale\s*==\s*\"en\"\s+else\s+[\w.]+\.name_zh\b"
        r"|\.team\s+or\b|team=\w+\.team\b|\.format\([^)]*=\s*\w+\.team\)"
    )
    hits = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for folder in ("handlers", "bot/services", "bot/delivery")
        for path in sorted((root / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bypass.search(line)
    ]
    assert hits == []


def test_a_team_and_its_centre_read_as_one_phrase(rt: Runtime) -> None:
    zh, en = rt.catalogs.get("zh_Hans"), rt.catalogs.get("en")
    assert names.team_at_centre(zh, "一团队", "甲中心") == "甲中心的一团队"
    assert names.team_at_centre(en, "Team One", "A Centre") == "Team One, A Centre"
    assert names.team_at_centre(en, "", "A Centre") == "A Centre"
