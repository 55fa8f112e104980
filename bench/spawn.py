"""A new process per call, for bench/run.sh --tls: runs COMMAND (which makes one call and
exits) again and again for SECONDS, after one unmeasured run, and prints
`calls=N seconds=S rate=R cpu_us=U`: runs per second, and the user + system CPU time of
the finished children per run (getrusage RUSAGE_CHILDREN; the driver's own CPU time is
not counted).

    python3 bench/spawn.py SECONDS COMMAND...
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    seconds, command = float(sys.argv[1]), sys.argv[2:]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    n, c0, t0 = 0, children_cpu(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        n += 1
    t, c = time.perf_counter() - t0, children_cpu() - c0
    print(f"calls={n} seconds={t:.3f} rate={n / t:.1f} cpu_us={1e6 * c / n:.0f}")


if __name__ == "__main__":
    main()
