#!/usr/bin/env python3
"""Summarises bench/run.sh results (JSON lines) into a Markdown table of medians and ratios."""
import json
import statistics
import sys
from collections import defaultdict

FIGURES = [("handshakes", "full mTLS handshakes"),
           ("handshakes-rev", "full mTLS handshakes, 100k CRL + cached OCSP"), ("req-1k", "keep-alive POST 1 KiB"),
           ("req-100k", "keep-alive POST 100 KiB")]


def main(path):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            ops = r["ops"] + r.get("warmup_ops", 0)
            r["cpu_us_per_op"] = 1e6 * r["proxy_cpu_s"] / ops if ops else float("nan")
            r["core_util"] = r["proxy_cpu_s"] / r["wall_s"]
            runs[(r["figure"], r["peer"])].append(r)

    def med(fig, peer, key):
        vals = [r[key] for r in runs[(fig, peer)]]
        return statistics.median(vals) if vals else float("nan")

    rows = [("rate (/s)", "rate_per_s", "higher"), ("p50 (ms)", "p50_ms", "lower"),
            ("p99 (ms)", "p99_ms", "lower"), ("proxy CPU per op (µs)", "cpu_us_per_op", "lower"),
            ("proxy core busy", "core_util", "info")]
    print("| figure | metric | gateway | nginx | gateway/nginx | better is |")
    print("|---|---|---:|---:|---:|---|")
    for fig, title in FIGURES:
        if not runs[(fig, "gateway")] and not runs[(fig, "nginx")]:
            continue  # a figure this run did not measure (BENCH_FIGURES)
        for name, key, better in rows:
            g, n = med(fig, "gateway", key), med(fig, "nginx", key)
            ratio = g / n if n else float("nan")
            fmt = "{:.0%}" if key == "core_util" else ("{:.0f}" if g >= 100 else "{:.3g}")
            print(f"| {title} | {name} | {fmt.format(g)} | {fmt.format(n)} | {ratio:.2f} | {better} |")
    print()
    if runs[("handshakes-rev", "gateway")] and runs[("handshakes", "gateway")]:
        cost = {peer: med("handshakes-rev", peer, "cpu_us_per_op") - med("handshakes", peer, "cpu_us_per_op")
                for peer in ("gateway", "nginx")}
        print(f"Revocation cost per handshake (CPU µs, with minus without): gateway {cost['gateway']:.0f}, "
              f"nginx {cost['nginx']:.0f}, gateway/nginx {cost['gateway'] / cost['nginx']:.2f}")
        print()
    checks = []
    for (fig, peer), rs in sorted(runs.items()):
        if not rs:
            continue
        full = sum(r["full_handshakes"] for r in rs)
        resumed = sum(r["resumed_handshakes"] for r in rs)
        errors = sum(r["errors"] for r in rs)
        reconnects = sum(r.get("reconnects", 0) for r in rs)
        rates = ", ".join(f"{r['rate_per_s']:.0f}" for r in rs)
        checks.append(f"{fig:<10} {peer:<7} runs [{rates}] errors {errors} reconnects {reconnects}"
                      + (f" handshakes full {full} resumed {resumed}" if fig == "handshakes" else ""))
    print("Per run rates and sanity counters:")
    for c in checks:
        print("  " + c)


if __name__ == "__main__":
    main(sys.argv[1])
