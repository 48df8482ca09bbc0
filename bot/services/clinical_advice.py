"""The advice texts clinical rules refer to, by id (content/clinical/*.yaml `advice:`).

Texts live here, as gettext msgids, so that both catalogs carry them and `doorstep content
check` can refuse an id without a text or a translation. Where each text comes from is in
content/clinical/advice.yaml. None of them gives a medicine dose: the fast-sugar amounts of
gl.low.treat are the guideline's first aid for a low sugar, not a medicine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.i18n import N_

if TYPE_CHECKING:
    from bot.services.clinical_rules import ClinicalContent

ADVICE: dict[str, str] = {
    # -- blood pressure ------------------------------------------------------------------
    "bp.ok.home": N_("That is within the home target (below 135/85 mmHg). Well done!"),
    "bp.ok.clinic": N_("That is within the target (below 140/90 mmHg). Well done!"),
    "bp.ok.65": N_(
        "That is within the target for people aged 65 and over (below 150/90 mmHg). Well done!"
    ),
    "bp.ok.pregnancy": N_("That is in the normal range."),
    "bp.high.home": N_("That is above the home target (below 135/85 mmHg)."),
    "bp.high.clinic": N_("That is above the target (below 140/90 mmHg)."),
    "bp.high.65": N_("That is above the target for people aged 65 and over (below 150/90 mmHg)."),
    "bp.high.pregnancy": N_(
        "Blood pressure above normal during pregnancy or breastfeeding must be checked by a doctor."
    ),
    "bp.danger": N_("This is very high (180/110 mmHg or more)."),
    "bp.signs.high": N_(
        "Call 120 at once if you notice any of these: a face drooping on one side, one arm "
        "weak or unable to lift, slurred or unclear speech (stroke: 中风120), chest pain, a "
        "severe headache, blurred vision, confusion, or breathlessness that stops you lying "
        "flat."
    ),
    "bp.low": N_(
        "That is low (the upper number is below 90 mmHg). Sit or lie down, and stand up slowly."
    ),
    "bp.low.signs": N_(
        "Call 120 at once if you are confused, very drowsy, fainting, or cold and sweaty."
    ),
    "bp.outside": N_(
        "That is outside what a home monitor normally shows. Please check the cuff and the numbers."
    ),
    # -- glucose -------------------------------------------------------------------------
    "gl.ok.fasting.dm": N_("That is within the fasting target ({low}–{high} mmol/L). Well done!"),
    "gl.ok.meal.dm": N_("That is within the target after a meal (below 10.0 mmol/L). Well done!"),
    "gl.ok.fasting.normal": N_("That is a normal fasting value (3.9–6.0 mmol/L)."),
    "gl.ok.meal.normal": N_("That is a normal value after a meal (below 7.8 mmol/L)."),
    "gl.ok.pregnancy": N_("That is in the normal range."),
    "gl.below.target": N_(
        "That is below your target (at least 4.4 mmol/L fasting), close to a low sugar. Eat "
        "your usual meal and tell your family doctor. Do not change your medicine yourself."
    ),
    "gl.high.fasting.dm": N_("That is above the fasting target ({low}–{high} mmol/L)."),
    "gl.high.meal.dm": N_("That is above the target after a meal (below 10.0 mmol/L)."),
    "gl.ifg": N_(
        "That is above normal: a fasting value of 6.1–6.9 mmol/L is “impaired fasting "
        "glucose”. Please ask your family doctor for a check."
    ),
    "gl.high.fasting.nodm": N_(
        "That is high for a fasting value (7.0 mmol/L or more). Please see your family doctor "
        "for a proper test."
    ),
    "gl.high.meal.nodm": N_(
        "That is above normal for after a meal (7.8 mmol/L or more). Please ask your family "
        "doctor for a check."
    ),
    "gl.high.pregnancy": N_(
        "Blood sugar above normal during pregnancy or breastfeeding must be checked by a doctor."
    ),
    "gl.danger.high": N_("This is very high (16.7 mmol/L or more)."),
    "gl.signs.high": N_(
        "Call 120 at once if there is vomiting, stomach pain, deep or fast breathing, "
        "drowsiness or confusion, or breath that smells fruity."
    ),
    "gl.low.treat": N_(
        "Low blood sugar: treat it first. If you are awake and can swallow, take 15–20 g of "
        "fast sugar now: 3–4 glucose tablets, or half a glass (150 ml) of fruit juice or "
        "regular cola, or 1 tablespoon of sugar or honey in water. Measure again in 15 "
        "minutes; if it is still 3.9 mmol/L or below, take the same again. When it is back "
        "up, eat a snack or your meal."
    ),
    "gl.low.120": N_(
        "If the person is drowsy, confused or cannot swallow, give nothing by mouth and call "
        "120 at once."
    ),
    "gl.low.refer": N_("A low sugar needs to be seen by a doctor once it has been treated."),
    "gl.low.mild": N_(
        "That is on the low side. Eat something now. If you feel shaky, sweaty or dizzy, "
        "take some sugar."
    ),
    "gl.meter.hi": N_("The meter shows HI: the sugar is too high for it to measure."),
    "gl.meter.lo": N_(
        "The meter shows LO: the sugar is too low for it to measure. While you wait: if the "
        "person is awake and can swallow, give 15–20 g of fast sugar (juice, sugar water); "
        "if drowsy, confused or unable to swallow, give nothing by mouth."
    ),
    "gl.outside": N_(
        "That is outside what a home meter normally shows (1.0–35.0 mmol/L). Please check "
        "the number."
    ),
    # -- pulse ---------------------------------------------------------------------------
    "pulse.fast.dm": N_(
        "Your pulse is above 100 at rest: with diabetes, a fast pulse needs a doctor."
    ),
    "pulse.fast": N_("Your pulse is above 100 at rest."),
    "pulse.slow": N_("Your pulse is below 60."),
    "pulse.slow.signs": N_("Call 120 at once if you feel dizzy, faint or confused."),
    # -- medicine side effects -----------------------------------------------------------
    "se.dont.stop": N_(
        "Do not stop or change your medicine on your own: talk to your family doctor first."
    ),
    "se.signs.120": N_(
        "Call 120 at once if you have swelling of the lips, tongue or throat, trouble "
        "breathing, or a rash spreading over the body."
    ),
}

# Conditional escalations ("call 120 at once if ..."): shown last, after the decided action,
# and left out when the action is already call 120. Every other text names no urgency.
SIGNS = frozenset(
    {
        "bp.signs.high",
        "bp.low.signs",
        "gl.signs.high",
        "gl.low.120",
        "pulse.slow.signs",
        "se.signs.120",
    }
)


# Texts that state a target band: the rule whose own inclusive bounds fill {low}–{high}, so
# the range shown is always the one the rules apply (7.0 is above target, so not "4.4–7.0").
RANGE_RULE: dict[str, str] = {
    "gl.ok.fasting.dm": "gl-fast-dm-ok",
    "gl.high.fasting.dm": "gl-fast-dm-ok",
}


def advice_text(gettext: Callable[[str], str], content: ClinicalContent, advice_id: str) -> str:
    """One advice text in the reader's language, with its target band from the rules."""
    text = gettext(ADVICE[advice_id])
    rule_id = RANGE_RULE.get(advice_id)
    if rule_id is None:
        return text
    rule = next(r for m in content.measures.values() for r in m.rules if r.id == rule_id)
    return text.format(low=rule.low, high=rule.high)


# The guideline's first aid for a low sugar states its own recheck (15 minutes, repeat while
# still low): allowed only in an urgent reply, which has no other recheck line.
FIRST_AID = frozenset({"gl.low.treat"})
