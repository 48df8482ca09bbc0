"""A target band stated in advice is the band the rules apply (finding: fasting 7.0 was
"above the target (4.4～7.0)" while 7.0 is not inside it)."""

from __future__ import annotations

from bot.config import CONTENT_DIR
from bot.i18n import Catalogs
from bot.services.clinical_advice import RANGE_RULE, advice_text
from bot.services.clinical_rules import load_content


def test_the_range_shown_is_the_rules_own_bounds() -> None:
    content = load_content(CONTENT_DIR / "clinical")
    zh = Catalogs().get("zh_Hans").gettext
    rules = {r.id: r for m in content.measures.values() for r in m.rules}
    for advice_id, rule_id in RANGE_RULE.items():
        r = rules[rule_id]
        assert advice_id in r.advice or any(advice_id in x.advice for x in rules.values())
        assert f"({r.low}–{r.high} mmol/L)" in advice_text(lambda s: s, content, advice_id)
        assert f"（{r.low}～{r.high} mmol/L）" in advice_text(zh, content, advice_id)
    # The edge: 7.0 is above target, and the text no longer includes it in the target.
    assert "4.4～6.9" in advice_text(zh, content, "gl.high.fasting.dm")
    assert "7.0" not in advice_text(zh, content, "gl.ok.fasting.dm")
