"""`doorstep content check` and `doorstep content report` on the shipped content and on a
broken copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ROOT


def test_check_passes_on_the_shipped_content(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "check"]) == 0
    out = capsys.readouterr().out
    assert "read clinical: 4 measures" in out and "all content is valid" in out


def test_check_refuses_a_rule_without_a_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    path = content / "clinical" / "pulse.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("cite: *slow, ", ""), encoding="utf-8")
    monkeypatch.setenv("DOORSTEP_CONTENT", str(content))
    assert main(["content", "check"]) == 1
    err = capsys.readouterr().err
    assert "pulse-slow" in err and "has no source" in err


def test_check_refuses_a_ppv23_age_without_its_source(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOORSTEP_PPV23_AGE", "60")
    assert main(["content", "check"]) == 1
    assert "DOORSTEP_PPV23_AGE_SOURCE" in capsys.readouterr().err
    monkeypatch.setenv("DOORSTEP_PPV23_AGE_SOURCE", "上海市老年人肺炎疫苗免费接种项目")
    assert main(["content", "check"]) == 0


def test_report_lists_every_kind_of_statement(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    assert main(["content", "report", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for expected in (
        "[bp-sys-home-high] systolic 135–179 mmHg",  # a rule
        "国家基本公共卫生服务规范（第三版）",  # its source
        "[gl.low.treat] 这是低血糖，请先处理",  # an advice text, in Chinese
        "[HPV-1] HPV-1 双价人乳头瘤病毒疫苗",  # the new edition
        "[ppv23-age]",  # the adult vaccine setting
        "[med-list]",  # a tip
        "[screening]",  # a broadcast template
        "Sign-off / 审核签字",
    ):
        assert expected in text, expected
    assert "last reviewed: NOT YET" in text  # honest about what nobody has reviewed


async def test_broken_rules_stop_the_bot_at_start_up(tmp_path: Path) -> None:
    from bot.config import Settings
    from bot.runtime import Runtime
    from bot.services.clinical_rules import RulesError

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    path = content / "clinical" / "glucose.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("range: [4.4, 6.9]", "range: [4.5, 6.9]"),
        encoding="utf-8",
    )
    settings = Settings.from_env({}, db_path=tmp_path / "db.sqlite3", content_dir=content)
    runtime = Runtime(settings)
    with pytest.raises(RulesError) as err:
        await runtime.start()
    assert any("gap 4.4–4.4" in p for p in err.value.problems)
    await runtime.stop()


def test_check_and_report_cover_emergency_signs_and_faq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.txt"
    assert main(["content", "report", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "== redflags ==" in text and "Give nothing by mouth: no water" in text
    assert "WHO. Emergency Triage Assessment" in text
    capsys.readouterr()
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    path = content / "redflags" / "signs.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '"Give nothing by mouth: no water, no medicine, no food."',
            "Give nothing by mouth: no water, no medicine, no food.",
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("DOORSTEP_CONTENT", str(content))
    assert main(["content", "check"]) == 1
    assert "redflags:" in capsys.readouterr().err
