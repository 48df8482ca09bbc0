"""The chat sandbox as a newcomer uses it: `doorstep chat` in a real process, scripted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import ROOT


def chat(db: Path, script: str, *args: str) -> str:
    env = {
        **os.environ,
        # Whatever the hour the tests run at, nothing is held for quiet hours.
        "DOORSTEP_QUIET_START": "00:00",
        "DOORSTEP_QUIET_END": "00:00",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--db", str(db), *args],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def test_printf_start_works(tmp_path: Path) -> None:
    out = chat(tmp_path / "s.sqlite3", "/start\n1\n")
    assert "请选择语言" in out and "隐私说明" in out


def test_subscribe_and_receive_the_rhyme(tmp_path: Path) -> None:
    out = chat(
        tmp_path / "s.sqlite3",
        "/start\nEnglish\n✅ I agree\n💡 Health tips\n🔔 Turn on tips\n",
    )
    assert "Tips are on" in out
    # The first tip is the hygiene rhyme, delivered by the dispatcher before the sandbox ends.
    assert "🔔 勤洗手，多通风" in out or "勤洗手，多通风，咳嗽喷嚏口鼻掩；" in out
    assert "👍 Helpful" in out


def test_find_doctor_and_station_with_buttons_only(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    chat(db, "/start\nEnglish\n✅ I agree\n")
    # town by label, then the first community offered, by its number
    out = chat(db, "👨‍⚕️ My family doctor\nZhujing\n1\n")
    assert "Your family doctor team" in out and "☎" in out
    assert "Sample data — your district's operator replaces it." in out
    out = chat(db, "📍 Nearest health station\n📍 Share my location\n")
    assert "minutes on foot" in out and "on the map" in out


def test_state_survives_across_sessions(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    chat(db, "/start\nEnglish\n✅ I agree\n⚙️ Settings\n")
    out = chat(db, "/mydata\n")
    assert "language English" in out


def test_a_number_presses_what_the_previous_process_offered(tmp_path: Path) -> None:
    """The offer shown last is stored: "1" typed in a new process right after the privacy
    notice shown by the previous one presses its first button (I agree), as on WeChat."""
    from tests.fakes.dbread import read

    db = tmp_path / "s.sqlite3"
    out = chat(db, "/start\n1\n")
    assert "隐私说明" in out and "[1] ✅ 我同意" in out
    out = chat(db, "1\n")
    assert "请先阅读并同意" not in out
    consent = read(db, "SELECT consent_at FROM residents WHERE channel = 'console'")
    assert consent and consent[0][0] is not None
    assert "设置完成" in out or "主菜单" in out, out
