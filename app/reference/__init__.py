"""Reference data held as files: townships, honour codes, labels."""

from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent


@lru_cache
def townships() -> list[dict]:
    return yaml.safe_load((HERE / "townships.yaml").read_text(encoding="utf-8"))


@lru_cache
def township_names() -> dict[str, str]:
    return {t["code"]: t["name"] for t in townships()}


@lru_cache
def township_order() -> dict[str, int]:
    return {t["code"]: i for i, t in enumerate(townships())}


@lru_cache
def honours() -> dict[str, dict]:
    """Honour code → {name, levels} per shared/DOMAIN.md."""
    return yaml.safe_load((HERE / "honours.yaml").read_text(encoding="utf-8"))


LEVEL_NAMES = {"national": "国家级", "provincial": "省级", "city": "市级", "county": "县级"}
OUTCOME_NAMES = {"new": "新认定", "renewed": "复审通过", "rejected": "申报未通过"}
SIZE_NAMES = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}
OWNERSHIP_NAMES = {"private": "民营", "state": "国有", "foreign": "外资", "other": "其他"}
MU_CLASSES = ("A", "B", "C", "D")
