#!/usr/bin/env python3
"""Type check `app` with mypy (settings in pyproject.toml) against a baseline of known errors.

    .venv/bin/python .ci/mypy_baseline.py            # fail on any error not in the baseline
    .venv/bin/python .ci/mypy_baseline.py --update   # rewrite the baseline from the current errors

The pure engines (the strict modules in pyproject.toml) have no entry in the baseline, so any error
there fails. Elsewhere an error is identified by its file, message and code — not its line, so
editing a file elsewhere does not disturb it; the same error twice in a file counts twice. The
baseline may only shrink: fix an error, then run --update so that it cannot come back.
"""

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:\n]+\.py):(?P<line>\d+): error: (?P<message>.*)$")
LINE_REFERENCE = re.compile(r"\bon line \d+\b")


def run_mypy() -> tuple[list[tuple[str, str]], str]:
    """(key, the line as mypy printed it) for each error, and mypy's whole output."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-pretty", "--no-error-summary", "--show-error-codes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    out = done.stdout + done.stderr
    if done.returncode not in (0, 1):  # 2: mypy itself failed (a crash, a bad setting)
        sys.exit(f"mypy did not run:\n{out}")
    errors = []
    for line in out.splitlines():
        m = ERROR.match(line)
        if m:
            key = f"{m['path']}: {LINE_REFERENCE.sub('on line N', m['message'])}"
            errors.append((key, line))
    return errors, out


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return Counter(line for line in lines if line and not line.startswith("#"))


def main() -> int:
    errors, _ = run_mypy()
    current = Counter(key for key, _ in errors)
    if "--update" in sys.argv[1:]:
        header = "# mypy errors known when the type check came in; .ci/mypy_baseline.py fails on any other.\n"
        BASELINE.write_text(
            header + "".join(f"{key}\n" for key in sorted(current.elements())), encoding="utf-8"
        )
        print(f"baseline: {sum(current.values())} errors written to {BASELINE.relative_to(ROOT)}")
        return 0
    known = read_baseline()
    new = current - known
    fixed = known - current
    if new:
        print(f"mypy: {sum(new.values())} error(s) not in the baseline ({BASELINE.relative_to(ROOT)}):")
        remaining = Counter(new)
        for key, line in errors:
            if remaining[key] > 0 and current[key] > known[key]:
                print("  " + line)
                remaining[key] -= 1
        return 1
    print(f"mypy: {sum(current.values())} known errors, none new (baseline {sum(known.values())}).")
    if fixed:
        print(
            f"  {sum(fixed.values())} baseline error(s) no longer occur: run .ci/mypy_baseline.py --update to keep them out."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
