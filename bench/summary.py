#!/usr/bin/env python3
"""Summarises bench/run.sh results (JSON lines) into one Markdown table: per figure and metric, the
median of each peer (gateway, nginx, haproxy) and the gateway's ratios to nginx and to haproxy.

Exits with status 3 when a peer resumed less than 90 % of its handshakes in handshakes-resumed.
"""
import json
import math
import statistics
import sys
from collections import defaultdict

PEERS = ("gateway", "nginx", "haproxy")
FIGURES = [("handshakes", "full mTLS handshakes"),
           ("handshakes-rev", "full mTLS handshakes, 100k CRL + cached OCSP (haproxy: CRL only)"),
           ("handshakes-resumed", "resumed mTLS handshakes, session cache, revocation on"),
           ("req-1k", "keep-alive POST 1 KiB"),
           ("req-100k", "keep-alive POST 100 KiB"),
           ("h2-1k", "HTTP/2 POST 1 KiB"),
           ("idle-h1", "idle mTLS connections, HTTP/1.1"),
           ("idle-h2", "idle mTLS connections, HTTP/2"),
           # bench/openssl_client.sh: the same kinds of load from an OpenSSL client (the title
           # gets the client's name from the results).
           ("handshakes-openssl", "OpenSSL client: full mTLS handshakes"),
           ("req-1k-openssl", "OpenSSL client: keep-alive POST 1 KiB")]
MIN_RESUMED = 0.9

# (label, key, better is, with ratios)
LOAD_ROWS = [("rate (/s)", "rate_per_s", "higher", True), ("p50 (ms)", "p50_ms", "lower", True),
             ("p99 (ms)", "p99_ms", "lower", True), ("proxy CPU per op (µs)", "cpu_us_per_op", "lower", True),
             ("proxy core busy", "core_util", "info", False)]
# The OpenSSL client's own CPU (s_time; ab, or wrk + its TLS client): near 100 % of the load core with the
# proxy core below ~90 % busy means the client, not the proxy, set the rate.
OPENSSL_ROWS = [("OpenSSL client CPU per op (µs)", "client_cpu_us_per_op", "info", False),
                ("OpenSSL client core busy", "client_util", "info", False)]
MIN_CORE_BUSY = 0.9
RESUMED_ROW = ("resumed handshakes (but each worker's first)", "resumed_frac", "≥ 90 %", False)
IDLE_ROWS = [("connections open", "ready", "info", False),
             ("RSS per connection (KiB)", "rss_per_conn_kib", "lower", True),
             ("PSS per connection (KiB)", "pss_per_conn_kib", "lower", True),
             ("RSS before (MiB)", "rss_base_mib", "info", False),
             ("RSS 3 s after close − before (MiB)", "rss_after_close_mib", "lower", False)]


def resumed_counts(r):
    """(resumed, full): loadgen --resume reports `resumed`/`full`, older builds `*_handshakes`."""
    return (r.get("resumed", r.get("resumed_handshakes", 0)),
            r.get("full", r.get("full_handshakes", 0)))


def resumable(r):
    """Handshakes that could have resumed: all but the first of each worker (it has no session)."""
    resumed, full = resumed_counts(r)
    return resumed + full - min(full, r.get("concurrency", 0))


def derive(r):
    if r["figure"] == "bound":  # bench/bound.sh: the crypto bound, no load
        return
    if r["figure"].startswith("idle-"):
        n = r.get("ready") or float("nan")
        base, opened, closed = r["mem_base"], r["mem_open"], r["mem_closed"]
        r["rss_per_conn_kib"] = (opened["rss_kib"] - base["rss_kib"]) / n
        if base.get("pss_kib") is not None and opened.get("pss_kib") is not None:
            r["pss_per_conn_kib"] = (opened["pss_kib"] - base["pss_kib"]) / n
        r["rss_base_mib"] = base["rss_kib"] / 1024
        r["rss_after_close_mib"] = (closed["rss_kib"] - base["rss_kib"]) / 1024
        return
    ops = r["ops"] + r.get("warmup_ops", 0)
    r["cpu_us_per_op"] = 1e6 * r["proxy_cpu_s"] / ops if ops else float("nan")
    r["core_util"] = r["proxy_cpu_s"] / r["wall_s"]
    if "client_cpu_s" in r:
        r["client_cpu_us_per_op"] = 1e6 * r["client_cpu_s"] / ops if ops else float("nan")
        r["client_util"] = r["client_cpu_s"] / r["wall_s"]
    r["resumed_frac"] = resumed_counts(r)[0] / resumable(r) if resumable(r) else float("nan")


def fmt(key, v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if key in ("core_util", "resumed_frac", "client_util"):
        return f"{v:.0%}"
    if key == "ready":
        return f"{v:.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def main(path):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            derive(r)
            runs[(r["figure"], r["peer"])].append(r)

    bounds = runs.pop(("bound", "-"), [])
    bound = statistics.median(b["bound_us"] for b in bounds) if bounds else None

    def med(fig, peer, key):
        vals = [r[key] for r in runs[(fig, peer)] if r.get(key) is not None]
        return statistics.median(vals) if vals else float("nan")

    def ratio(a, b):
        return f"{a / b:.2f}" if b and not (math.isnan(a) or math.isnan(b)) else "–"

    print("| figure | metric | gateway | nginx | haproxy | gateway/nginx | gateway/haproxy | better is |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for fig, title in FIGURES:
        if not any(runs[(fig, p)] for p in PEERS):
            continue  # a figure this run did not measure (BENCH_FIGURES)
        if fig.startswith("idle-"):
            n = max(r["connections"] for p in PEERS for r in runs[(fig, p)])
            title = f"{n} {title}"
            rows = IDLE_ROWS
        else:
            rows = LOAD_ROWS + ([RESUMED_ROW] if fig == "handshakes-resumed" else [])
            if fig.endswith("-openssl"):
                rows = rows + OPENSSL_ROWS
                clients = sorted({r.get("client", "?") for p in PEERS for r in runs[(fig, p)]})
                title = f"{title} ({', '.join(clients)})"
        for name, key, better, ratios in rows:
            g, n, h = (med(fig, p, key) for p in PEERS)
            rn, rh = (ratio(g, n), ratio(g, h)) if ratios else ("", "")
            print(f"| {title} | {name} | {fmt(key, g)} | {fmt(key, n)} | {fmt(key, h)} | {rn} | {rh} | {better} |")
        if fig == "handshakes" and bounds:
            # Each peer's median CPU per handshake against the bound measured in the same run.
            shares = [bound / med(fig, p, "cpu_us_per_op") for p in PEERS]
            print(f"| {title} | crypto bound, this run (µs) | {bound:.0f} | {bound:.0f} | {bound:.0f} |  |  | info |")
            print(f"| {title} | bound ÷ proxy CPU per op | " + " | ".join(f"{x:.0%}" for x in shares)
                  + " |  |  | higher |")
    print()
    if bounds:
        parts = {k: statistics.median(b["parts_us"][k] for b in bounds) for k in bounds[0]["parts_us"]}
        print(f"Crypto bound per full handshake (bench/bound.sh, on the proxies' core after each repetition of "
              f"`handshakes`): median {bound:.1f} µs, runs {[round(b['bound_us'], 1) for b in bounds]}; parts (medians): "
              + "; ".join(f"{k} {v:.1f}" for k, v in sorted(parts.items())))
        print()

    if runs[("handshakes-rev", "gateway")] and runs[("handshakes", "gateway")]:
        cost = {p: med("handshakes-rev", p, "cpu_us_per_op") - med("handshakes", p, "cpu_us_per_op") for p in PEERS}
        print(f"Revocation cost per full handshake (CPU µs, with minus without): gateway {cost['gateway']:.0f}, "
              f"nginx {cost['nginx']:.0f}, haproxy {cost['haproxy']:.0f} (CRL only); "
              f"gateway/nginx {ratio(cost['gateway'], cost['nginx'])}, "
              f"gateway/haproxy {ratio(cost['gateway'], cost['haproxy'])}")
        print()

    warnings = []
    checks = []
    for (fig, peer), rs in sorted(runs.items()):
        if not rs:
            continue
        errors = sum(r.get("errors", 0) for r in rs)
        if fig.startswith("idle-"):
            ready = [r.get("ready") for r in rs]
            closed = [r.get("closed") for r in rs]
            checks.append(f"{fig:<18} {peer:<7} connections {rs[0]['connections']}: ready {ready} closed {closed} "
                          f"closed by the proxy {[r.get('server_closed') for r in rs]} "
                          f"errors {errors}, proxy fds open {[r['mem_open']['fds'] for r in rs]}, "
                          f"opened in {[r.get('seconds') for r in rs]} s")
            if errors or any(x != r["connections"] for x, r in zip(ready, rs)):
                warnings.append(f"{fig} {peer}: not all {rs[0]['connections']} connections opened "
                                f"(ready {ready}, errors {errors}): per-connection figures are per ready one")
            if any(r.get("server_closed") for r in rs):
                warnings.append(f"{fig} {peer}: the proxy closed idle connections before the end of the hold "
                                f"({[r.get('server_closed') for r in rs]}): raise its idle timeout")
            continue
        resumed = sum(resumed_counts(r)[0] for r in rs)
        full = sum(resumed_counts(r)[1] for r in rs)
        reconnects = sum(r.get("reconnects", 0) for r in rs)
        rates = ", ".join(f"{r['rate_per_s']:.0f}" for r in rs)
        checks.append(f"{fig:<18} {peer:<7} runs [{rates}] errors {errors} reconnects {reconnects}"
                      + (f" handshakes full {full} resumed {resumed}" if fig.startswith("handshakes") else ""))
        if errors:
            warnings.append(f"{fig} {peer}: {errors} errors")
        could = sum(resumable(r) for r in rs)
        if fig == "handshakes-resumed" and not resumed >= MIN_RESUMED * could:
            warnings.append(f"RESUMPTION: {peer} resumed {resumed} of {could} handshakes that could "
                            f"(< {MIN_RESUMED:.0%}): its handshakes-resumed row does not measure resumption")
        elif fig in ("handshakes", "handshakes-rev", "handshakes-openssl") and resumed:
            warnings.append(f"{fig} {peer}: {resumed} resumed handshakes in a full-handshake figure")
        if fig.endswith("-openssl") and statistics.median(r["core_util"] for r in rs) < MIN_CORE_BUSY:
            warnings.append(f"{fig} {peer}: the proxy core was busy only "
                            f"{statistics.median(r['core_util'] for r in rs):.0%} (median), so it did not set the rate "
                            f"(load core: the OpenSSL client {rs[0].get('client', '?')} "
                            f"{statistics.median(r.get('client_util', math.nan) for r in rs):.0%}, plus the upstream and "
                            f"any other work); compare CPU per op, not rates")
        if fig == "handshakes-openssl":
            checks[-1] += (f" s_time processes failed {sum(r.get('failed_processes', 0) for r in rs)}"
                           f" access log 200 {[r.get('log_200') for r in rs]} other {[r.get('log_other') for r in rs]}"
                           f" bytes/conn {[round(r.get('bytes_per_conn', 0)) for r in rs]}")
        if any(r.get("tls") for r in rs):  # ab reports the protocol and suite it negotiated
            checks[-1] += f" TLS {sorted({r.get('tls') or '-' for r in rs})}"
    print("Per run rates and sanity counters:")
    for c in checks:
        print("  " + c)
    for w in warnings:
        print(f"\n**WARNING: {w}**")
    return 3 if any(w.startswith("RESUMPTION") for w in warnings) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
