"""Rank the functions in py-spy's collapsed stacks (bench.live with BENCH_PROFILE=DIR).

python -m bench.flame FILE [N]  prints the top N functions by own and by total samples.
"""

import collections
import json
import sys


def rank(path: str, top: int) -> dict[str, object]:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = [frame.split(" (")[0] + frame[frame.rfind("/") :].rstrip(")").split(":")[0]
                      for frame in stack.split(";")]  # fmt: skip
            samples += int(count)
            own[frames[-1]] += int(count)
            for frame in set(frames):
                total[frame] += int(count)

    def share(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / samples, 1)) for name, n in counter.most_common(top)]

    return {"samples": samples, "own_percent": share(own), "total_percent": share(total)}


if __name__ == "__main__":
    print(json.dumps(rank(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25), indent=1))
