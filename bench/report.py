"""Formats the results of bench/run.sh: a table with ratios against the peers measured
in the same run, the issue-13 targets, and instructions per call from callgrind.

    python3 bench/report.py RESULTS.tsv CALLGRIND.txt CALLS CORES [CALLGRIND_QUEUE.txt] [--rounds R] [--write README.md]

RESULTS.tsv has lines `label<TAB>callers<TAB>calls_per_s<TAB>cpu_us_per_call`. With
--write, the report replaces the text between the `<!-- bench:begin -->` and
`<!-- bench:end -->` markers of README.md.
"""

from __future__ import annotations

import datetime
import re
import statistics
import sys
from typing import Dict, List, Optional, Tuple

Row = Dict[int, Tuple[Optional[float], Optional[float]]]


def median(values: List[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def load(path: str) -> Tuple[List[str], Dict[str, Row]]:
    """Rows of the results file; a peer measured in several rounds gets the median
    rate and the median CPU time per call."""
    order: List[str] = []
    samples: Dict[str, Dict[int, Tuple[List[float], List[float]]]] = {}
    with open(path) as f:
        for line in f:
            label, callers, rate, cpu = (line.rstrip("\n").split("\t") + ["", ""])[:4]
            if label not in samples:
                order.append(label)
                samples[label] = {}
            rates, cpus = samples[label].setdefault(int(callers), ([], []))
            if rate:
                rates.append(float(rate))
            if cpu:
                cpus.append(float(cpu))
    rows: Dict[str, Row] = {
        label: {n: (median(r), median(c)) for n, (r, c) in by_n.items()} for label, by_n in samples.items()
    }
    return order, rows


def peer_of(label: str) -> Optional[str]:
    if label.startswith("plain C"):
        return "wrk (event loop)"
    if label.startswith("tcsms C"):
        return "plain C, blocking, prebuilt request"
    if label.startswith("tcsms Python"):
        return "official Python SDK"
    m = re.match(r"tcsms Go.*, (GOMAXPROCS=\d+)$", label)
    if m:
        return f"official Go SDK, {m.group(1)}"
    return None


def short(label: str) -> str:
    return {
        "wrk (event loop)": "wrk",
        "plain C, blocking, prebuilt request": "plain C",
        "official Python SDK": "Python SDK",
    }.get(label, re.sub(r"^official Go SDK, ", "Go SDK ", label))


def fmt_rate(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_cpu(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def ratio(rows: Dict[str, Row], a: str, b: str, n: int) -> Optional[float]:
    ra = rows.get(a, {}).get(n, (None, None))[0]
    rb = rows.get(b, {}).get(n, (None, None))[0]
    return ra / rb if ra and rb else None


def fmt_ratio(r: Optional[float]) -> str:
    return "n/a" if r is None else f"{r:.2f}x"


COMPONENTS = [
    ("SHA-256", r"sha2|sha256|Sha256|compress256"),
    ("ureq, ureq-proto, http (HTTP machinery)", r"ureq|http::|httparse"),
    ("tcsms", r"^<?tcsms::"),
    ("serde_json", r"serde_json|serde::"),
    ("hmac, hex, digest", r"hmac|hex::|digest::|block_buffer"),
    ("malloc, free, realloc (libc)", r"malloc|free|realloc|_int_|unlink_chunk|tcache"),
    ("memcpy, memmove, memset, memchr", r"mem(cpy|move|set|chr|cmp)|strlen"),
    ("Rust core, alloc, std (formatting, UTF-8, search)", r"^<?(core|alloc|std)::"),
]


def component(name: str) -> str:
    for group, pattern in COMPONENTS:
        if re.search(pattern, name):
            return group
    return "other (kernel entry stubs, libc, pthread)"


def program_total(path: str) -> Optional[int]:
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+PROGRAM TOTALS", line)
            if m:
                return int(m.group(1).replace(",", ""))
    return None


def callgrind(path: str, calls: int, queued_path: Optional[str] = None) -> List[str]:
    total = None
    funcs: List[Tuple[int, str]] = []
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)\s*$", line)
            if not m:
                continue
            n = int(m.group(1).replace(",", ""))
            what = m.group(2)
            if what == "PROGRAM TOTALS":
                total = n
            else:
                name = re.sub(r"^[^:]*:", "", what.split(" [")[0], count=1)
                funcs.append((n, name))
    if not total:
        return ["callgrind: no data (valgrind missing or failed)."]
    sha = sum(n for n, name in funcs if re.search(r"sha2|sha256|Sha256|compress256", name))
    if sha == 0:
        return [f"callgrind: {total / calls:,.0f} instructions per call, but no SHA-256 symbols: "
                "the library measured was stripped, so no split by function."]
    out = [
        f"Instructions per tcsms C call (callgrind, {calls} sequential ReportConversion calls, "
        "after a warm-up; valgrind hides SHA-NI, so SHA-256 runs in software here):",
        "",
        "| | instructions per call |",
        "|---|---|",
        f"| total | {total / calls:,.0f} |",
        f"| SHA-256 | {sha / calls:,.0f} |",
        f"| outside SHA-256 (issue 13 target: at most 25,000) | {(total - sha) / calls:,.0f} |",
    ]
    queued = program_total(queued_path) if queued_path else None
    if queued:
        out.append(
            f"| the same calls through the completion queue (submit, poll, take; 1 worker) "
            f"| {queued / calls:,.0f} ({(queued - total) / calls:+,.0f}) |"
        )
    out += [
        "",
        "By component (self cost of the functions whose names match, per call):",
        "",
        "| component | instructions per call |",
        "|---|---|",
    ]
    groups: Dict[str, int] = {}
    for n, name in funcs:
        groups[component(name)] = groups.get(component(name), 0) + n
    for group, n in sorted(groups.items(), key=lambda kv: -kv[1]):
        out.append(f"| {group} | {n / calls:,.0f} |")
    out += [
        "",
        "Largest functions outside SHA-256 (self cost, per call):",
        "",
        "| function | instructions per call |",
        "|---|---|",
    ]
    shown = 0
    for n, name in sorted(funcs, reverse=True):
        if re.search(r"sha2|sha256|Sha256|compress256", name):
            continue
        out.append(f"| `{name[:110]}` | {n / calls:,.0f} |")
        shown += 1
        if shown == 15:
            break
    return out


def main() -> None:
    argv = sys.argv[1:]
    write = None
    rounds = 1
    if "--rounds" in argv:
        i = argv.index("--rounds")
        rounds = int(argv[i + 1])
        del argv[i : i + 2]
    if "--write" in argv:
        i = argv.index("--write")
        write = argv[i + 1]
        del argv[i : i + 2]
    results, cg, calls, cores = argv[0], argv[1], int(argv[2]), argv[3]
    cg_queued = argv[4] if len(argv) > 4 else None
    order, rows = load(results)
    lines = [
        f"Run of {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {cores} cores "
        "(nginx on core 0, clients on the others; Go at GOMAXPROCS = core count unpinned); "
        f"medians of {rounds} rounds.",
        "",
        "| client | 1 caller, calls/s | 8 callers, calls/s | CPU µs/call, 1 / 8 | ratio 1 / 8 | against |",
        "|---|---|---|---|---|---|",
    ]
    for label in order:
        r = rows[label]
        one, eight = r.get(1, (None, None)), r.get(8, (None, None))
        peer = peer_of(label)
        ratios = (
            f"{fmt_ratio(ratio(rows, label, peer, 1))} / {fmt_ratio(ratio(rows, label, peer, 8))}" if peer else ""
        )
        lines.append(
            f"| {label} | {fmt_rate(one[0])} | {fmt_rate(eight[0])} | {fmt_cpu(one[1])} / {fmt_cpu(eight[1])} "
            f"| {ratios} | {short(peer) if peer else ''} |"
        )
    procs = sorted({m.group(1) for m in (re.search(r"GOMAXPROCS=(\d+)", l) for l in order) if m}, key=int)
    targets = [
        ("8 C threads / plain blocking C, 8 threads", "tcsms C, blocking", "plain C, blocking, prebuilt request", 8, 0.75),
        ("8 C callers, completion queue / plain blocking C", "tcsms C, completion queue", "plain C, blocking, prebuilt request", 8, 0.75),
        ("1 C caller / wrk -c1", "tcsms C, blocking", "wrk (event loop)", 1, 0.90),
        ("Python, 1 caller / official Python SDK", "tcsms Python, threads", "official Python SDK", 1, 6.0),
    ]
    for p in procs:
        targets.append(
            (f"Go, 8 goroutines / official Go SDK, GOMAXPROCS={p}", f"tcsms Go, GOMAXPROCS={p}", f"official Go SDK, GOMAXPROCS={p}", 8, 1.5)
        )
        targets.append(
            (f"(before) Go blocking cgo, 8 goroutines / official Go SDK, GOMAXPROCS={p}",
             f"tcsms Go, blocking cgo (before), GOMAXPROCS={p}", f"official Go SDK, GOMAXPROCS={p}", 8, 1.5)
        )
    lines += ["", "| issue 13 target | ratio | target | met |", "|---|---|---|---|"]
    for name, a, b, n, want in targets:
        got = ratio(rows, a, b, n)
        met = "n/a" if got is None else ("yes" if got >= want else "no")
        lines.append(f"| {name} | {fmt_ratio(got)} | >= {want}x | {met} |")
    lines += [""] + callgrind(cg, calls, cg_queued)
    report = "\n".join(lines) + "\n"
    print(report)
    if write:
        with open(write) as f:
            text = f.read()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        if begin not in text or end not in text:
            sys.exit(f"{write}: no {begin} ... {end} markers")
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        with open(write, "w") as f:
            f.write(head + begin + "\n" + report + end + tail)


if __name__ == "__main__":
    main()
