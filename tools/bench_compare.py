#!/usr/bin/python3
"""Joins two benchmark outputs (JSON lines in the schema of tools/bench_torch.py
and `vkreel bench kernels --json`) into a markdown table of ratios.

  tools/bench_compare.py torch.jsonl vkreel.jsonl

Rows are matched on (op, shape, dtype). "speed" is baseline ms / candidate ms:
1.0 = as fast as the baseline, 0.25 = four times slower. Ops present in only one
file are listed with "-" on the other side. Lines that are not JSON objects
(e.g. warnings) are skipped; a file without any row is an error.
"""
import argparse
import json
import sys


def load(path):
    rows = {}
    order = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: invalid JSON: {e}")
            for key in ("op", "shape", "dtype", "ms"):
                if key not in r:
                    sys.exit(f"{path}:{n}: missing '{key}'")
            k = (r["op"], r["shape"], r["dtype"])
            if k not in rows:
                order.append(k)
            rows[k] = r
    if not rows:
        sys.exit(f"{path}: no benchmark rows")
    return rows, order


def fmt(v, unit=""):
    if v is None:
        return "-"
    return f"{v:.3f}{unit}" if v < 10 else f"{v:.1f}{unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("baseline", help="JSON lines, e.g. tools/bench_torch.py output")
    ap.add_argument("candidate", help="JSON lines, e.g. vkreel bench kernels --json output")
    args = ap.parse_args()
    base, border = load(args.baseline)
    cand, corder = load(args.candidate)
    keys = border + [k for k in corder if k not in base]
    bimpl = next(iter(base.values())).get("impl", args.baseline)
    cimpl = next(iter(cand.values())).get("impl", args.candidate)
    print(f"baseline: {bimpl}  \ncandidate: {cimpl}\n")
    print("| op | shape | dtype | baseline ms | candidate ms | baseline GFLOP/s | candidate GFLOP/s | speed |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for k in keys:
        b, c = base.get(k), cand.get(k)
        ratio = b["ms"] / c["ms"] if b and c and c["ms"] > 0 else None
        print(f"| {k[0]} | {k[1]} | {k[2]} | {fmt(b and b['ms'])} | {fmt(c and c['ms'])} | "
              f"{fmt(b and b.get('gflops'))} | {fmt(c and c.get('gflops'))} | "
              f"{'-' if ratio is None else f'{ratio:.2f}x'} |")


if __name__ == "__main__":
    main()
