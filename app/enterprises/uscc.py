"""统一社会信用代码 (USCC) per GB 32100-2015: 18 characters, the last a mod-31 check character."""

import random
from operator import mul

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_CHARS = frozenset(CHARSET)


def check_char(body17: str) -> str:
    if len(body17) != len(WEIGHTS):
        raise ValueError("check_char takes the first 17 characters")
    total = sum(map(mul, map(_VALUE.__getitem__, body17), WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def uscc_error(code: str) -> str | None:
    """None if valid, else the reason in Chinese."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，实际 {len(code)} 位"
    if not _CHARS.issuperset(code):
        bad = [c for c in code if c not in _VALUE]
        return f"统一社会信用代码含非法字符“{bad[0]}”（不得使用 I、O、S、V、Z 及小写字母）"
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3–8 位应为行政区划码（数字）"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：第 18 位应为“{expected}”，实际为“{code[17]}”"
    return None


def normalise(code: str) -> str:
    return code.strip().upper()


def generate(rng: random.Random, region: str = "371525") -> str:
    """A valid code for demo data: 91 (企业) + region + 9-character organisation code + check."""
    org = "".join(rng.choice(CHARSET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    body = "91" + region + org
    return body + check_char(body)
