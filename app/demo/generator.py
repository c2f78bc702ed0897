"""A realistic county: enterprises over the 19 townships with yearly figures and honours.

Used by `yumiao seed-demo` and by the benchmarks. Deterministic for a given seed.
"""

import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from app.enterprises.uscc import generate as gen_uscc
from app.reference import townships

CHAINS = [
    "高端装备",
    "轴承",
    "纺织服装",
    "新材料",
    "食品加工",
    "汽车零部件",
    "生物医药",
    "钢管",
    "包装印刷",
    "电子信息",
]
PREFIX = ["冠县", "聊城", "山东", "冠州", "鲁西"]
CORE = [
    "恒通",
    "华泰",
    "鑫源",
    "瑞丰",
    "金桥",
    "宏达",
    "永盛",
    "泰和",
    "正阳",
    "东方",
    "兴业",
    "中冠",
    "博远",
    "嘉诚",
    "德润",
    "天成",
    "联创",
    "华鲁",
    "信诚",
    "盛世",
    "新华",
    "万利",
    "福瑞",
    "汇丰",
    "长城",
    "鸿运",
    "明德",
    "凯达",
]
KIND = {
    "高端装备": "机械",
    "轴承": "轴承",
    "纺织服装": "纺织",
    "新材料": "新材料",
    "食品加工": "食品",
    "汽车零部件": "汽车配件",
    "生物医药": "生物科技",
    "钢管": "钢管",
    "包装印刷": "包装",
    "电子信息": "电子",
}
SUFFIX = ["有限公司", "有限公司", "股份有限公司", "科技有限公司", "制造有限公司", "实业有限公司"]
# Relative weight of each township in enterprise count (开发区 and the 街道 are denser).
WEIGHTS = [6, 4, 4, 4, 2, 2, 3, 2, 3, 3, 2, 3, 2, 2, 2, 2, 2, 2, 2]
HONOUR_MIX = [
    ("innovative_sme", "provincial", 0.06),
    ("specialized_sme", "city", 0.03),
    ("specialized_sme", "provincial", 0.012),
    ("high_tech", "national", 0.03),
    ("tech_sme", "national", 0.05),
    ("gazelle", "provincial", 0.003),
    ("little_giant", "national", 0.001),
    ("two_integration", "city", 0.01),
    ("dcmm", "city", 0.005),
    ("green_factory", "provincial", 0.004),
    ("digital_workshop", "provincial", 0.004),
]


def enterprises(
    n: int, seed: int = 20230323, years: tuple[int, ...] = (2022, 2023, 2024, 2025)
) -> Iterator[dict]:
    """Yield n enterprise dicts: fields, figures (list per year) and honours (list)."""
    rng = random.Random(seed)
    codes = [t["code"] for t in townships()]
    used: set[str] = set()
    names: set[str] = set()
    for i in range(n):
        uscc = gen_uscc(rng)
        while uscc in used:
            uscc = gen_uscc(rng)
        used.add(uscc)
        chain = rng.choice(CHAINS)
        for _ in range(20):
            name = (
                f"{rng.choice(PREFIX)}{rng.choice(CORE)}{rng.choice(CORE)}{KIND[chain]}{rng.choice(SUFFIX)}"
            )
            if name not in names:
                break
        else:
            name = f"{name[:-4]}第{i}分公司"
        names.add(name)
        # Revenue: log-normal around 1500万, a long tail of large firms.
        base = int(min(max(rng.lognormvariate(16.4, 1.1), 500_000), 8_000_000_000))
        above = base >= 20_000_000 and rng.random() < 0.9
        size = (
            "micro"
            if base < 3_000_000
            else "small"
            if base < 20_000_000
            else "medium"
            if base < 400_000_000
            else "large"
        )
        figures = []
        rev = base
        for y in years:
            rev = int(rev * rng.uniform(0.9, 1.25))
            land = Decimal(rng.randint(5, 300))
            figures.append(
                {
                    "year": y,
                    "revenue_yuan": rev,
                    "main_revenue_yuan": int(rev * rng.uniform(0.85, 1.0)),
                    "output_value_yuan": int(rev * rng.uniform(0.9, 1.15)),
                    "rd_spend_yuan": int(rev * rng.uniform(0.0, 0.06)),
                    "tax_yuan": int(rev * rng.uniform(0.01, 0.06)),
                    "employees": max(3, int(rev / rng.uniform(300_000, 900_000))),
                    "land_mu": land,
                    "energy_tce": Decimal(int(rev / rng.uniform(5_000, 40_000))),
                }
            )
        honours = []
        for code, level, p in HONOUR_MIX:
            if rng.random() < p * (3 if above else 1):
                y = rng.choice(years)
                outcome = "new" if rng.random() < 0.8 else "rejected"
                honours.append(
                    {
                        "code": code,
                        "level": level,
                        "outcome": outcome,
                        "honour_date": date(y, rng.randint(1, 12), rng.randint(1, 28)),
                        "certificate_no": f"{code.upper()[:3]}{y}{rng.randint(1000, 9999)}"
                        if outcome != "rejected"
                        else None,
                    }
                )
        yield {
            "uscc": uscc,
            "name": name,
            "township": rng.choices(codes, weights=WEIGHTS)[0],
            "chain": chain,
            "industry": "工业",
            "size": size,
            "ownership": rng.choices(["private", "state", "foreign", "other"], weights=[90, 4, 3, 3])[0],
            "above_scale": above,
            "mu_class": rng.choices(["A", "B", "C", "D", None], weights=[15, 30, 25, 10, 20])[0],
            "platform_registered_date": date(2023, rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.3
            else None,
            "figures": figures,
            "honours": honours,
        }
