#!/usr/bin/env python3
"""Re-derives every index of a `vkreel plan --json` output from the storyboard
with exact rational arithmetic (fractions.Fraction), independently of the C
code, and checks the rules of docs/timeline.md.

usage: plan_check.py BOARD.json PLAN.json     exit 0 when everything matches
"""
import json
import math
import sys
from fractions import Fraction

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def us(seconds):
    """round(seconds * 1e6), halves away from zero. The product is the same IEEE
    double the C code rounds; the rounding itself is exact here."""
    p = Fraction(float(seconds) * 1e6)
    return math.floor(p + Fraction(1, 2)) if p >= 0 else -math.floor(-p + Fraction(1, 2))


def index(t_us, rate):
    """round(t_us * rate / 1e6), halves up."""
    return math.floor(Fraction(t_us) * rate / 1000000 + Fraction(1, 2))


def main():
    board = json.load(open(sys.argv[1], encoding="utf-8-sig"))
    plan = json.load(open(sys.argv[2], encoding="utf-8"))
    check(plan["format"] == "vkreel-plan" and plan["version"] == 1, "bad header")
    keys = ["format", "version", "title", "output", "models", "audio_sampler", "totals", "shots",
            "cues", "music", "subtitles", "loudness"]
    check(list(plan) == keys, f"top-level keys {list(plan)}")

    out = plan["output"]
    fps = Fraction(out["fps_num"], out["fps_den"])
    rate = Fraction(out["sample_rate"])
    fps_written = board.get("output", {}).get("fps", 24)
    if isinstance(fps_written, str):
        n, d = fps_written.split("/")
        check(Fraction(int(n), int(d)) == fps, f"fps {fps} vs board {fps_written}")
    else:
        check(Fraction(fps_written) == fps, f"fps {fps} vs board {fps_written}")

    shots, tot = plan["shots"], plan["totals"]
    check(len(shots) == len(board["shots"]) == tot["n_shots"], "shot count")
    t = 0
    durs = []
    prev_half = 0
    for i, (s, b) in enumerate(zip(shots, board["shots"])):
        d = us(b["duration"])
        durs.append(d)
        where = f"shot {i}"
        check(s["index"] == i, f"{where}: index {s['index']}")
        check(s["start_us"] == t and s["end_us"] == t + d,
              f"{where}: [{s['start_us']}, {s['end_us']}) us, expected [{t}, {t + d})")
        for key, r in (("frame", fps), ("sample", rate)):
            exp = (index(t, r), index(t + d, r))
            got = (s[key + "_begin"], s[key + "_end"])
            check(got == exp, f"{where}: {key}s {got}, expected {exp}")
        check(s["prompt"].startswith(b["prompt"]), f"{where}: prompt does not start with the shot's")
        check(isinstance(s["seed"], int) and 0 <= s["seed"] < 2**64, f"{where}: seed {s['seed']}")

        tr = b.get("transition") or {"type": "cut"}
        half = 0
        if i > 0 and tr.get("type") == "crossfade":
            half = min(us(float(tr["duration"]) / 2), d, durs[i - 1] - prev_half)
        prev_half = half
        x = s["transition"]
        check(x["kind"] == ("crossfade" if i > 0 and tr.get("type") == "crossfade" else "cut"),
              f"{where}: transition kind {x['kind']}")
        check(x["duration_us"] == 2 * half, f"{where}: xfade {x['duration_us']} us, expected {2 * half}")
        for key, r in (("frame", fps), ("sample", rate)):
            exp = (index(t - half, r), index(t + half, r))
            got = (x[key + "_begin"], x[key + "_end"])
            check(got == exp, f"{where}: xfade {key}s {got}, expected {exp}")
        t += d

    check(tot["duration_us"] == t, f"duration_us {tot['duration_us']}, expected {t}")
    n_frames, n_samples = index(t, fps), index(t, rate)
    check(tot["n_frames"] == n_frames, f"n_frames {tot['n_frames']}, expected {n_frames}")
    check(tot["n_samples"] == n_samples, f"n_samples {tot['n_samples']}, expected {n_samples}")
    if shots:
        check(shots[-1]["frame_end"] == n_frames and shots[-1]["sample_end"] == n_samples,
              "last shot does not end the clip")

    cues = plan["cues"]
    check(len(cues) == tot["n_cues"] == len(board.get("sfx", [])), "cue count")
    check(sorted(c["index"] for c in cues) == list(range(len(cues))), "cue indexes")
    for k, c in enumerate(cues):
        where = f"cue {c['index']}"
        b0 = min(index(c["start_us"], rate), n_samples)
        b1 = min(index(c["end_us"], rate), n_samples)
        check((c["sample_begin"], c["sample_end"]) == (b0, b1),
              f"{where}: samples {(c['sample_begin'], c['sample_end'])}, expected {(b0, b1)}")
        frame = min(math.floor(Fraction(b0) * fps / rate), n_frames - 1)
        check(c["frame"] == frame, f"{where}: frame {c['frame']}, expected {frame}")
        if k:
            p = cues[k - 1]
            check((p["start_us"], p["index"]) < (c["start_us"], c["index"]), f"{where}: order")

    subs = plan["subtitles"]
    check(len(subs) == tot["n_subtitles"], "subtitle count")
    for k, s in enumerate(subs):
        check(0 <= s["start_us"] < s["end_us"] <= t, f"subtitle {k}: [{s['start_us']}, {s['end_us']})")
        if s["shot"] is not None:
            sh = shots[s["shot"]]
            check((s["start_us"], s["end_us"]) == (sh["start_us"], sh["end_us"]),
                  f"subtitle {k}: does not span shot {s['shot']}")
        if k:
            check(subs[k - 1]["start_us"] <= s["start_us"], f"subtitle {k}: order")

    for e in errors[:20]:
        print(f"{sys.argv[2]}: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
