"""Emergency-sign matcher on a labelled set (bench/data/redflags.yaml).

    python bench/redflags.py

Recall: every emergency phrase must raise its own sign (target 100 %). False alarms: benign
near-misses that raise any sign (target at most 5 %). The baseline, in the same run, is plain
substring search for the signs' titles and a handful of obvious keywords, to show what the
colloquial forms, typos and negations cost a naive check. Prints misses, then one JSON line.
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


def main() -> int:
    data = yaml.safe_load((ROOT / "bench/data/redflags.yaml").read_text(encoding="utf-8"))
    signs = load_signs(ROOT / "content")
    emergencies = [(sign, text) for sign, texts in data["emergency"].items() for text in texts]
    benign = list(data["benign"])
    missed, wrong_sign, alarms = [], [], []
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
        base_alarm += bool(naive(text))
    elapsed = time.perf_counter() - started
    for sign, text in missed:
        print(f"MISSED   {sign:12} {text}")
    for sign, text, ids in wrong_sign:
        print(f"WRONG    {sign:12} {text} -> {ids}")
    for text, ids in alarms:
        print(f"ALARM    {text} -> {ids}")
    n, m = len(emergencies), len(benign)
    recall = (n - len(missed)) / n
    sign_right = (n - len(missed) - len(wrong_sign)) / n
    false_alarms = len(alarms) / m
    result = {
        "bench": "redflags",
        "emergency_phrases": n,
        "benign_phrases": m,
        "recall": round(recall, 4),
        "right_sign": round(sign_right, 4),
        "false_alarm_rate": round(false_alarms, 4),
        "baseline_recall": round(base_hit / n, 4),
        "baseline_false_alarm_rate": round(base_alarm / m, 4),
        "ms_per_text": round(elapsed * 1000 / (n + m), 3),
        "targets_met": recall == 1.0 and false_alarms <= 0.05,
    }
    print(json.dumps(result))
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
