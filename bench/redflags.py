"""Emergency-sign matcher on two labelled sets.

    python bench/redflags.py

`bench/data/redflags.yaml` is the tuning set: the patterns in content/redflags/signs.yaml were
written and corrected against it, so its figures show only that the patterns fit it.
`bench/data/redflags_heldout.yaml` is the independent set, written without reading the
patterns (its header says how); its figures are the ones that say how the matcher does on
text it was not fitted to. Once a held-out miss has been fixed in signs.yaml that phrase is no
longer unseen: the README records the held-out figures before and after the fix.

Recall: every emergency phrase must raise a sign (target 100 %); `right_sign` is the share
that raise the labelled one. False alarms: benign near-misses that raise any sign (target at
most 5 %); `treat_first_alarms` is how many of those got the clinical rules' treat-first reply
to a typed low sugar rather than the ambulance. The baseline, in the same run, is plain
substring search for the signs' titles and a handful of obvious keywords. Prints misses per
set, then one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.clinical import Person  # noqa: E402
from bot.services.clinical_rules import load_content  # noqa: E402
from bot.services.redflags import glucose_judge, load_signs, match  # noqa: E402

# Typed glucose values are judged as for a person without diabetes (what the bot assumes when
# nothing is known about the resident).
judge = glucose_judge(load_content(ROOT / "content" / "clinical"), Person())

# The baseline: what a first attempt would look for.
NAIVE = {
    "chest_pain": ["胸痛", "chest pain"],
    "breathing": ["呼吸困难", "can't breathe", "difficulty breathing"],
    "stroke": ["中风", "stroke"],
    "unconscious": ["昏迷", "unconscious"],
    "seizure": ["抽搐", "seizure"],
    "bleeding": ["大出血", "bleeding"],
    "allergy": ["过敏", "allergic"],
    "suicide": ["自杀", "suicide", "kill myself"],
    "low_sugar": ["低血糖", "low blood sugar"],
    "poisoning": ["中毒", "poison"],
}


def naive(text: str) -> set[str]:
    low = text.lower()
    return {sign for sign, words in NAIVE.items() if any(w in low for w in words)}


def measure(name: str, signs: object) -> dict[str, object]:
    data = yaml.safe_load((ROOT / "bench/data" / name).read_text(encoding="utf-8"))
    emergencies = [(sign, text) for sign, texts in data["emergency"].items() for text in texts]
    benign = list(data["benign"])
    missed, wrong_sign, alarms = [], [], []
    treat_first = 0
    base_hit = base_alarm = 0
    started = time.perf_counter()
    for sign, text in emergencies:
        found = match(signs, text, judge)
        if found is None:
            missed.append((sign, text))
        elif sign not in found.ids:
            wrong_sign.append((sign, text, found.ids))
        base_hit += sign in naive(text)
    for text in benign:
        found = match(signs, text, judge)
        if found is not None:
            alarms.append((text, found.ids))
            treat_first += not found.ambulance
        base_alarm += bool(naive(text))
    elapsed = time.perf_counter() - started
    for sign, text in missed:
        print(f"{name}: MISSED   {sign:12} {text}")
    for sign, text, ids in wrong_sign:
        print(f"{name}: WRONG    {sign:12} {text} -> {ids}")
    for text, ids in alarms:
        print(f"{name}: ALARM    {text} -> {ids}")
    n, m = len(emergencies), len(benign)
    return {
        "emergency_phrases": n,
        "benign_phrases": m,
        "recall": round((n - len(missed)) / n, 4),
        "right_sign": round((n - len(missed) - len(wrong_sign)) / n, 4),
        "false_alarm_rate": round(len(alarms) / m, 4),
        "treat_first_alarms": treat_first,
        "baseline_recall": round(base_hit / n, 4),
        "baseline_false_alarm_rate": round(base_alarm / m, 4),
        "ms_per_text": round(elapsed * 1000 / (n + m), 3),
    }


def met(figures: dict[str, object]) -> bool:
    return figures["recall"] == 1.0 and float(figures["false_alarm_rate"]) <= 0.05  # type: ignore[arg-type]


def main() -> int:
    signs = load_signs(ROOT / "content")
    tuning = measure("redflags.yaml", signs)
    heldout = measure("redflags_heldout.yaml", signs)
    result = {
        "bench": "redflags",
        "tuning": tuning,
        "heldout": heldout,
        "targets_met": met(tuning) and met(heldout),
    }
    print(json.dumps(result))
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
