"""统一社会信用代码 per GB 32100-2015."""

import random

import pytest

from app.enterprises.uscc import check_char, generate, uscc_error


def test_published_code_is_valid():
    # A code printed on a real business licence (public example used across GB 32100 documentation).
    assert uscc_error("91350100M000100Y43") is None


@pytest.mark.parametrize(
    "code, reason",
    [
        ("91350100M000100Y44", "校验位错误：第 18 位应为“3”"),
        ("91350100M000100Y4", "应为 18 位"),
        ("91350100M000100YI3", "非法字符“I”"),
        ("91350100m000100Y43", "非法字符“m”"),
        ("91AB0100M000100Y43", "行政区划码"),
    ],
)
def test_bad_codes_are_refused_with_the_reason(code, reason):
    assert reason in uscc_error(code)


def test_every_single_character_error_is_caught():
    """The mod-31 check catches any one altered character."""
    rng = random.Random(7)
    code = generate(rng)
    assert uscc_error(code) is None
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for pos in range(17):
        for c in charset:
            if c == code[pos] or (2 <= pos < 8 and not c.isdigit()):
                continue
            altered = code[:pos] + c + code[pos + 1 :]
            assert uscc_error(altered) is not None, altered


def test_check_char_wraps_31_to_zero():
    # Find a body whose weighted sum is a multiple of 31: the check character must be "0".
    rng = random.Random(1)
    for _ in range(10000):
        body = generate(rng)[:17]
        if check_char(body) == "0":
            assert uscc_error(body + "0") is None
            return
    pytest.fail("no body with check character 0 found")
