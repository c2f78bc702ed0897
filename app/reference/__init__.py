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

AUDIT_ACTIONS = {
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "record": "记录事件",
    "propose": "生成奖补（待审核）",
    "compute": "计算奖补",
    "approve": "审核通过",
    "pay": "兑付",
    "reject": "驳回",
    "top_up": "追加资金",
    "adjust_budget": "调整资金预算",
    "pool_enter": "入库",
    "pool_leave": "出库",
    "pool_review": "年度评价调整",
    "graduation_propose": "提出升级建议",
    "graduation_confirm": "确认升级",
    "graduation_dismiss": "不予升级",
    "confirm": "确认核实",
    "revoke": "吊销",
}
AUDIT_ENTITIES = {
    "enterprise": "企业",
    "enterprise_figure": "年度数据",
    "honour": "认定",
    "enterprise_event": "事件",
    "award_line": "奖补",
    "fund": "资金",
    "pool_membership": "培育库",
    "pool_graduation": "培育库升级",
    "pool_review": "年度评价",
    "mu_class_record": "亩产效益评价",
    "mu_provisional": "亩产效益（测算）",
    "mu_scheme": "亩产效益方案",
    "monthly_filing": "月度填报",
    "target_set": "目标表",
    "webhook_subscription": "Webhook",
    "api_key": "API 密钥",
    "app_user": "用户",
}
