"""Formats the results of bench/run.sh: a table with ratios against the peers measured
in the same run, the issue-13 targets, and instructions per call from callgrind.

    python3 bench/report.py RESULTS.tsv CALLGRIND.txt CALLS CORES [CALLGRIND_QUEUE.txt] [--rounds R] [--write README.md]
    python3 bench/report.py --tls RESULTS.tsv CORES [--rounds R] [--cold-instructions N] [--write README.md]

RESULTS.tsv has lines `label<TAB>callers<TAB>calls_per_s<TAB>cpu_us_per_call`. With
--write, the report replaces the text between the `<!-- bench:begin -->` and
`<!-- bench:end -->` markers of README.md.

With --tls (bench/run.sh --tls) the lines are
`label<TAB>mode<TAB>calls_per_s<TAB>cpu_us_per_call<TAB>handshakes<TAB>resumed` with mode
one of ka1, ka8, cold, reconnect, and the report goes between the `<!-- bench-tls:begin -->`
and `<!-- bench-tls:end -->` markers.
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


SHARED_LIMITER = "tcsms C, shared limiter (Redis)"
IN_PROCESS_LIMITER = "tcsms C, in-process limiter"


def peer_of(label: str) -> Optional[str]:
    if label == SHARED_LIMITER:
        return IN_PROCESS_LIMITER
    if label.startswith("plain C"):
        return "wrk (event loop)"
    if label.startswith(("tcsms C", "what-if")):
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
        IN_PROCESS_LIMITER: "in-process limiter",
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


def callgrind(path: str, calls: int, queued_path: Optional[str] = None, generic_path: Optional[str] = None) -> List[str]:
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
    generic = program_total(generic_path) if generic_path else None
    if generic:
        out.append(
            f"| the same calls with `tcsms_call` and the request's JSON (the generic call, as the queue takes it) "
            f"| {generic / calls:,.0f} ({(generic - total) / calls:+,.0f}) |"
        )
    if queued:
        against = f", {(queued - generic) / calls:+,.0f} against `tcsms_call`" if generic else ""
        out.append(
            f"| the same calls through the completion queue (submit, poll, take; 1 worker) "
            f"| {queued / calls:,.0f} ({(queued - total) / calls:+,.0f}{against}) |"
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


def limiter_lines(rows: Dict[str, Row], counts: Optional[Tuple[str, str]], calls: int) -> List[str]:
    """What the shared limiter adds to a call, against the in-process one of the same run:
    wall-clock µs per call (1e6 / calls per second), client CPU µs per call, and the
    client's instructions per call under callgrind (`counts`: the two annotated files)."""
    if SHARED_LIMITER not in rows or IN_PROCESS_LIMITER not in rows:
        return []
    out = [
        "",
        "The rate limiter (rates so high that no call waits): what the limiter shared through "
        "a local redis-server (`rate_limit_store`, one `EVALSHA` round trip) adds to a call, "
        "against the in-process buckets; µs per call = 1e6 / calls per second:",
        "",
        "| callers | in-process µs/call | shared (Redis) µs/call | added µs/call | ratio | CPU µs/call, in-process / shared |",
        "|---|---|---|---|---|---|",
    ]
    for n in (1, 8):
        (ri, ci), (rs, cs) = rows[IN_PROCESS_LIMITER].get(n, (None, None)), rows[SHARED_LIMITER].get(n, (None, None))
        if not ri or not rs:
            continue
        a, b = 1e6 / ri, 1e6 / rs
        out.append(f"| {n} | {a:.1f} | {b:.1f} | {b - a:+.1f} | {b / a:.2f}x | {fmt_cpu(ci)} / {fmt_cpu(cs)} |")
    totals = [program_total(path) for path in counts] if counts else [None, None]
    if totals[0] and totals[1]:
        a, b = totals[0] / calls, totals[1] / calls
        out += [
            "",
            f"Instructions per call in the client (callgrind, {calls} sequential calls, the Redis server's "
            f"not counted): in-process limiter {a:,.0f}, shared limiter {b:,.0f} ({b - a:+,.0f}, {b / a:.2f}x).",
        ]
    return out


TLS_MODES = [
    ("ka1", "keep-alive, 1 caller"),
    ("ka8", "keep-alive, 8 callers"),
    ("cold", "new client per call (cold)"),
    ("reconnect", "one client, server closes after each answer"),
    ("process", "new process per call"),
]


def tls_load(path: str) -> Tuple[List[str], Dict[Tuple[str, str], Dict[str, object]]]:
    """Per (label, mode): median rate and CPU over the rounds, handshakes and resumed
    handshakes summed over the rounds."""
    order: List[str] = []
    cells: Dict[Tuple[str, str], Dict[str, object]] = {}
    with open(path) as f:
        for line in f:
            label, mode, rate, cpu, hs, resumed = (line.rstrip("\n").split("\t") + [""] * 6)[:6]
            if label not in order:
                order.append(label)
            c = cells.setdefault((label, mode), {"rates": [], "cpus": [], "hs": 0, "resumed": 0})
            if rate:
                c["rates"].append(float(rate))  # type: ignore[union-attr]
            if cpu:
                c["cpus"].append(float(cpu))  # type: ignore[union-attr]
            c["hs"] += int(hs or 0)  # type: ignore[operator]
            c["resumed"] += int(resumed or 0)  # type: ignore[operator]
    for c in cells.values():
        c["rate"] = median(c["rates"])  # type: ignore[arg-type]
        c["cpu"] = median(c["cpus"])  # type: ignore[arg-type]
    return order, cells


# The plain blocking TLS peer (bench/c/tls_plain.c).
PLAIN_TLS = "plain C (OpenSSL), blocking"
# tcsms C's completion queue over TLS: N calls in flight from one thread (bench/tls.sh).
QUEUE_TLS = "tcsms C, completion queue"


def tls_report(argv: List[str]) -> str:
    rounds, cold_instr = 1, None
    if "--rounds" in argv:
        i = argv.index("--rounds")
        rounds = int(argv[i + 1])
        del argv[i : i + 2]
    if "--cold-instructions" in argv:
        i = argv.index("--cold-instructions")
        cold_instr = int(argv[i + 1]) if argv[i + 1] else None
        del argv[i : i + 2]
    results, cores = argv[0], argv[1]
    order, cells = tls_load(results)

    def get(label: str, mode: str, key: str) -> Optional[float]:
        v = cells.get((label, mode), {}).get(key)
        return v if isinstance(v, float) else None

    def cell(label: str, mode: str) -> str:
        if (label, mode) not in cells:
            return "n/a"
        rate, cpu = get(label, mode, "rate"), get(label, mode, "cpu")
        text = fmt_rate(rate) + ("" if cpu is None else f" / {cpu:,.0f} µs")
        c = cells[(label, mode)]
        hs, resumed = int(c["hs"]), int(c["resumed"])  # type: ignore[call-overload]
        if mode in ("cold", "reconnect", "process") and hs:
            text += f" (resumed {100 * resumed / hs:.1f} % of {hs:,})"
        elif hs:
            text += f" ({hs:,} conn.)"
        return text

    lines = [
        f"Run of {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC over TLS 1.3, {cores} cores "
        "(nginx on core 0, every client pinned to the others, Go at GOMAXPROCS=1); "
        f"medians of {rounds} rounds. Each cell: calls/s / client CPU µs per call; for cold, reconnect and process "
        "also the share of the peer's TLS handshakes that nginx reports resumed (`$ssl_session_reused`, "
        "all rounds and warm-up calls included); for keep-alive the connections (handshakes) the peer "
        "opened, all rounds and warm-up included.",
        "",
        "| client | " + " | ".join(name for _, name in TLS_MODES) + " |",
        "|---|" + "---|" * len(TLS_MODES),
    ]
    for label in order:
        lines.append(f"| {label} | " + " | ".join(cell(label, m) for m, _ in TLS_MODES) + " |")

    def rate_ratio(a: str, b: str, mode: str, mode_b: Optional[str] = None) -> Optional[float]:
        ra, rb = get(a, mode, "rate"), get(b, mode_b or mode, "rate")
        return ra / rb if ra and rb else None

    def cpu_ratio(a: str, b: str, mode: str) -> Optional[float]:
        ca, cb = get(a, mode, "cpu"), get(b, mode, "cpu")
        return ca / cb if ca and cb else None

    def verdict(got: Optional[float], want: float, at_most: bool = False) -> str:
        if got is None:
            return "n/a"
        return "yes" if (got <= want if at_most else got >= want) else "no"

    c_cold, go_cold = rate_ratio("tcsms C", "official Go SDK", "cold"), cpu_ratio("tcsms C", "official Go SDK", "cold")
    ka8 = rate_ratio("tcsms C", "wrk (event loop)", "ka8")
    plain_ka8 = rate_ratio(PLAIN_TLS, "wrk (event loop)", "ka8")
    queue_ka8 = rate_ratio(QUEUE_TLS, "wrk (event loop)", "ka8")
    lines += [
        "",
        "| issue 21 target | ratio | target | met |",
        "|---|---|---|---|",
        f"| tcsms C cold / official Go SDK cold, calls/s | {fmt_ratio(c_cold)} | >= 2.0x | {verdict(c_cold, 2.0)} |",
        f"| tcsms C cold / official Go SDK cold, client CPU per call | {fmt_ratio(go_cold)} | <= 0.5x "
        f"| {verdict(go_cold, 0.5, at_most=True)} |",
        f"| tcsms C keep-alive, 8 callers / wrk -c8 | {fmt_ratio(ka8)} | >= 0.85x | {verdict(ka8, 0.85)} |",
        f"| tcsms C keep-alive, 8 calls in flight through the completion queue (one thread, as wrk) / wrk -c8 "
        f"| {fmt_ratio(queue_ka8)} | >= 0.85x | {verdict(queue_ka8, 0.85)} |",
        f"| (what-if) a blocking client with no library work ({PLAIN_TLS}), 8 threads / wrk -c8 "
        f"| {fmt_ratio(plain_ka8)} | >= 0.85x | {verdict(plain_ka8, 0.85)} |",
        "",
        "Other ratios of the same run (calls/s; CPU per call in brackets):",
        "",
        "| | keep-alive, 1 | keep-alive, 8 | cold | reconnect | process |",
        "|---|---|---|---|---|---|",
    ]
    pairs = [
        ("tcsms C", "wrk (event loop)"),
        (PLAIN_TLS, "wrk (event loop)"),
        ("tcsms C", PLAIN_TLS),
        (QUEUE_TLS, "wrk (event loop)"),
        (QUEUE_TLS, PLAIN_TLS),
        ("tcsms C", "official Go SDK"),
        ("tcsms Go", "official Go SDK"),
        ("tcsms Python", "official Python SDK"),
    ]
    for a, b in pairs:
        row = []
        for m, _ in TLS_MODES:
            r = rate_ratio(a, b, m)
            c = cpu_ratio(a, b, m)
            row.append(fmt_ratio(r) + (f" ({c:.2f}x)" if c else ""))
        lines.append(f"| {a} / {short(b)} | " + " | ".join(row) + " |")
    for label in ("tcsms C", "tcsms Python", "tcsms Go", "official Go SDK"):
        r = rate_ratio(label, label, "cold", "ka1")
        if r:
            lines.append(f"| {label}: cold / its own keep-alive, 1 caller | | | {fmt_ratio(r)} | | |")
    if cold_instr:
        lines += [
            "",
            f"Instructions per tcsms C cold iteration (bench/c/cold.c under callgrind: new client, one "
            f"ReportConversion over TLS, free; 21 iterations minus 1, / 20): {cold_instr:,}.",
        ]
    return "\n".join(lines) + "\n"


def write_between(path: str, begin: str, end: str, report: str) -> None:
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text:
        sys.exit(f"{path}: no {begin} ... {end} markers")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + begin + "\n" + report + end + tail)


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--tls":
        argv = argv[1:]
        write = None
        if "--write" in argv:
            i = argv.index("--write")
            write = argv[i + 1]
            del argv[i : i + 2]
        report = tls_report(argv)
        print(report)
        if write:
            write_between(write, "<!-- bench-tls:begin -->", "<!-- bench-tls:end -->", report)
        return
    write = None
    rounds = 1
    if "--rounds" in argv:
        i = argv.index("--rounds")
        rounds = int(argv[i + 1])
        del argv[i : i + 2]
    limiter_counts: Optional[Tuple[str, str]] = None
    if "--limiter-callgrind" in argv:
        i = argv.index("--limiter-callgrind")
        limiter_counts = (argv[i + 1], argv[i + 2])
        del argv[i : i + 3]
    cg_generic = None
    if "--generic-callgrind" in argv:
        i = argv.index("--generic-callgrind")
        cg_generic = argv[i + 1]
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
        ("(what-if) the same work, one epoll loop / plain blocking C: an event-loop queue's ceiling",
         "what-if: the same, one epoll loop", "plain C, blocking, prebuilt request", 8, 0.75),
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
    lines += limiter_lines(rows, limiter_counts, calls)
    lines += [""] + callgrind(cg, calls, cg_queued, cg_generic)
    report = "\n".join(lines) + "\n"
    print(report)
    if write:
        write_between(write, "<!-- bench:begin -->", "<!-- bench:end -->", report)


if __name__ == "__main__":
    main()
