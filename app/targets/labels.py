"""Chinese names of the targets domain's codes: indicators, progress states and measures."""

from app.reference.targets import load_targets_2023
from app.targets.progress import MEASURE_NAMES, STATUS_NAMES


def indicator_names() -> dict[str, str]:
    return {t.code: t.name for t in load_targets_2023().indicators}


FIELDS = indicator_names()
VALUES = {"progress": STATUS_NAMES, "measure": MEASURE_NAMES}


def codes() -> dict[str, str]:
    return {**indicator_names(), **MEASURE_NAMES}


# The tables the target pages use by name (registered with the templates once, by app.labels).
TEMPLATE_GLOBALS = {"TARGET_STATUS": STATUS_NAMES, "MEASURE_NAMES": MEASURE_NAMES}
