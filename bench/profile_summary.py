"""Summarise a `py-spy record --format raw` file (collapsed stacks): where the samples are.

    python bench/profile_summary.py PROFILE.txt [--top 25] [--idle]

Prints the functions with the most samples on-CPU at the top of the stack ("self") and
anywhere in it ("total"), as percentages of all samples. Idle samples (the event loop waiting
in `select`/`epoll`) are left out unless `--idle`.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

IDLE = re.compile(r"\b(select|poll|_run_once \(asyncio|run_forever)\b")


def frames(stack: str) -> list[str]:
    # "func (file.py:123)" -> "func (file.py)": lines differ, functions are what we sum
    return [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--idle", action="store_true", help="keep samples of the idle loop")
    args = parser.parse_args(argv)
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    # "\n" only: `splitlines` also splits at control characters a frame's text may hold.
    for line in args.profile.read_text().split("\n"):
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue  # a stack cut where a frame held a line break has no count
        names = frames(stack)
        if not args.idle and IDLE.search(names[-1]):
            continue
        weight = int(count)
        samples += weight
        own[names[-1]] += weight
        for name in set(names):
            total[name] += weight
    if not samples:
        sys.stdout.write("no samples\n")
        return 1
    out = [f"{samples} samples\n", "\nself %  function\n"]
    out += [f"{100 * n / samples:6.1f}  {name}\n" for name, n in own.most_common(args.top)]
    out.append("\ntotal %  function\n")
    out += [f"{100 * n / samples:6.1f}  {name}\n" for name, n in total.most_common(args.top)]
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
