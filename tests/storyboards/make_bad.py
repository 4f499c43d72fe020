#!/usr/bin/env python3
"""Writes tests/storyboards/bad/*.json and bad/EXPECT.tsv.

Each bad storyboard breaks exactly one rule of docs/storyboard.md (except the
multi-* files, which break several and expect every one to be reported). The
manifest lists, per file: the expected exit code, a JSON pointer that must
appear in a diagnostic ("-" for the document root), and optionally the
LINE:COL that diagnostic must carry. A file with several rows must produce all
of them. Re-run after editing: python3 tests/storyboards/make_bad.py
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad")

BASE = {
    "version": 1,
    "title": "base",
    "shots": [
        {"id": "one", "duration": 4.0, "prompt": "an otter on a plane"},
        {"id": "two", "duration": 4.0, "prompt": "an otter using wifi",
         "transition": {"type": "crossfade", "duration": 1.0}},
    ],
    "sfx": [{"id": "ding", "at": 1.0, "duration": 1.0, "prompt": "a chime"}],
    "music": {"prompt": "ukulele"},
    "subtitles": [{"start": 1.0, "end": 2.0, "text": "hello"}],
}

cases = []  # (name, bytes, [(pointer, linecol or None)])


def board(mutate):
    b = copy.deepcopy(BASE)
    mutate(b)
    return (json.dumps(b, indent=2, ensure_ascii=False) + "\n").encode()


def raw(text):
    return text.encode() if isinstance(text, str) else text


def add(name, data, *expect):
    cases.append((name, data, list(expect)))


def setp(path, value):
    def f(b):
        node = b
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return f


def delp(path):
    def f(b):
        node = b
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
    return f


# --- syntax (one diagnostic, then the reader stops) -------------------------
add("syntax-empty", b"", ("-", "1:1"))
add("syntax-whitespace-only", b"  \n\t\n", ("-", "3:1"))
add("syntax-trailing-comma-object", raw('{\n  "version": 1,\n}\n'), ("-", "2:15"))
add("syntax-trailing-comma-array", raw('{"version": 1, "shots": [1, 2,]}'), ("/shots", "1:30"))
add("syntax-missing-colon", raw('{"version" 1}'), ("/version", "1:12"))
add("syntax-missing-comma", raw('{"version": 1\n "title": "x"}'), ("-", "2:2"))
add("syntax-unterminated-string", raw('{"version": 1, "title": "abc}'), ("/title", "1:25"))
add("syntax-unterminated-object", raw('{"version": 1, "shots": [\n'), ("/shots/0", "2:1"))
add("syntax-single-quotes", raw("{'version': 1}"), ("-", "1:2"))
add("syntax-comment", raw('{\n  // a comment\n  "version": 1\n}'), ("-", "2:3"))
add("syntax-trailing-garbage", raw('{"version": 1} x'), ("-", "1:16"))
add("syntax-two-documents", raw('{"version": 1}\n{"version": 1}\n'), ("-", "2:1"))
add("syntax-leading-zero", raw('{"version": 01}'), ("/version", "1:13"))
add("syntax-nan", raw('{"version": 1, "seed": NaN}'), ("/seed", "1:24"))
add("syntax-infinity", raw('{"version": 1, "seed": -Infinity}'), ("/seed", "1:25"))
add("syntax-bad-escape", raw('{"version": 1, "title": "a\\xb"}'), ("/title", "1:27"))
add("syntax-control-char", raw('{"version": 1, "title": "a\tb"}'), ("/title", "1:27"))
add("syntax-lone-surrogate", raw('{"version": 1, "title": "\\ud800x"}'), ("/title", "1:26"))
add("syntax-u0000", raw('{"version": 1, "title": "a\\u0000"}'), ("/title", "1:27"))
add("syntax-unquoted-key", raw('{version: 1}'), ("-", "1:2"))
add("syntax-bad-literal", raw('{"version": 1, "title": tru}'), ("/title", "1:25"))
add("syntax-exponent", raw('{"version": 1e}'), ("/version", "1:15"))
add("number-out-of-range", board(lambda b: None).replace(b'"duration": 4.0', b'"duration": 1e400', 1),
    ("/shots/0/duration", None))
add("utf8-invalid-byte", b'{"version": 1,\n "title": "caf\xff"}', ("/title", "2:15"))
add("utf8-overlong", b'{"version": 1, "title": "\xc0\xaf"}', ("/title", "1:26"))
add("utf8-truncated", b'{"version": 1, "title": "\xe2\x82"}', ("/title", None))
add("utf8-encoded-surrogate", b'{"version": 1, "title": "\xed\xa0\x80"}', ("/title", None))
add("depth-65", raw('{"version": 1, "title": ' + "[" * 64 + "]" * 64 + "}"),
    ("/title/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0", "1:88"))

# --- duplicate keys (reported, the reader carries on) ------------------------
add("duplicate-key-root", raw('{\n  "version": 1,\n  "seed": 1,\n  "seed": 2,\n'
                              '  "shots": [{"id": "a", "duration": 1, "prompt": "p"}]\n}\n'),
    ("/seed", "4:3"))
add("duplicate-key-shot", raw('{"version": 1, "shots": [\n'
                              '  {"id": "a", "duration": 1, "duration": 2, "prompt": "p"}]}\n'),
    ("/shots/0/duration", "2:30"))

# --- structure and types ------------------------------------------------------
add("root-not-object", raw('[{"version": 1}]'), ("-", "1:1"))
add("version-missing", board(delp(["version"])), ("/version", "1:1"))
add("version-2", board(setp(["version"], 2)), ("/version", "2:14"))
add("version-string", board(setp(["version"], "1")), ("/version", None))
add("unknown-key-root", board(lambda b: b.update(titel="x")), ("/titel", None))
add("unknown-key-shot", board(lambda b: b["shots"][0].update(durration=1)), ("/shots/0/durration", None))
add("unknown-key-output", board(lambda b: b.update(output={"framerate": 24})), ("/output/framerate", None))
add("title-not-string", board(setp(["title"], 5)), ("/title", None))
add("shots-missing", board(delp(["shots"])), ("/shots", None))
add("shots-empty", board(setp(["shots"], [])), ("/shots", None))
add("shots-not-array", board(setp(["shots"], {"id": "a"})), ("/shots", None))
add("shots-too-many", board(setp(["shots"], [{"id": "s%d" % i, "duration": 0.5, "prompt": "p"}
                                             for i in range(1001)])), ("/shots", None))
add("shot-not-object", board(lambda b: b["shots"].append("a shot")), ("/shots/2", None))
add("shot-id-missing", board(delp(["shots", 0, "id"])), ("/shots/0/id", None))
add("shot-id-bad-chars", board(setp(["shots", 0, "id"], "shot one")), ("/shots/0/id", None))
add("shot-id-too-long", board(setp(["shots", 0, "id"], "x" * 65)), ("/shots/0/id", None))
add("shot-id-empty", board(setp(["shots", 0, "id"], "")), ("/shots/0/id", None))
add("shot-duration-negative", board(setp(["shots", 1, "duration"], -1)), ("/shots/1/duration", "12:19"))
add("shot-duration-zero", board(setp(["shots", 0, "duration"], 0)), ("/shots/0/duration", None))
add("shot-duration-sub-ms", board(setp(["shots", 0, "duration"], 0.0004)), ("/shots/0/duration", None))
add("shot-duration-string", board(setp(["shots", 0, "duration"], "4s")), ("/shots/0/duration", None))
add("shot-duration-missing", board(delp(["shots", 0, "duration"])), ("/shots/0/duration", None))
add("shot-prompt-empty", board(setp(["shots", 0, "prompt"], "")), ("/shots/0/prompt", None))
add("shot-prompt-blank", board(setp(["shots", 0, "prompt"], "   ")), ("/shots/0/prompt", None))
add("shot-prompt-missing", board(delp(["shots", 0, "prompt"])), ("/shots/0/prompt", None))
add("shot-prompt-too-long", board(setp(["shots", 0, "prompt"], "o" * 4097)), ("/shots/0/prompt", None))
add("shot-negative-prompt-null", board(setp(["shots", 0, "negative_prompt"], None)),
    ("/shots/0/negative_prompt", None))
add("shot-seed-negative", board(setp(["shots", 0, "seed"], -1)), ("/shots/0/seed", None))
add("shot-seed-fraction", board(setp(["shots", 0, "seed"], 1.5)), ("/shots/0/seed", None))
add("shot-seed-too-large", board(lambda b: None).replace(b'"id": "one",', b'"id": "one", "seed": 9007199254740992,', 1),
    ("/shots/0/seed", None))
add("shot-sampler-name", board(setp(["shots", 0, "sampler"], {"name": "ddm"})), ("/shots/0/sampler/name", None))
add("shot-sampler-steps-zero", board(setp(["shots", 0, "sampler"], {"steps": 0})), ("/shots/0/sampler/steps", None))
add("shot-sampler-unknown-key", board(setp(["shots", 0, "sampler"], {"step": 10})), ("/shots/0/sampler/step", None))
add("sampler-steps-too-many", board(setp(["sampler"], {"steps": 1001})), ("/sampler/steps", None))
add("sampler-guidance-too-high", board(setp(["sampler"], {"guidance": 50.5})), ("/sampler/guidance", None))
add("sampler-not-object", board(setp(["sampler"], "ddim")), ("/sampler", None))
add("audio-sampler-name", board(setp(["audio_sampler"], {"name": "dpm"})), ("/audio_sampler/name", None))
add("output-width-odd", board(setp(["output"], {"width": 1281})), ("/output/width", None))
add("output-height-too-small", board(setp(["output"], {"height": 62})), ("/output/height", None))
add("output-width-too-large", board(setp(["output"], {"width": 4098})), ("/output/width", None))
add("output-fps-zero", board(setp(["output"], {"fps": 0})), ("/output/fps", None))
add("output-fps-121", board(setp(["output"], {"fps": 121})), ("/output/fps", None))
add("output-fps-fraction-number", board(setp(["output"], {"fps": 23.976})), ("/output/fps", None))
add("output-fps-zero-denominator", board(setp(["output"], {"fps": "30/0"})), ("/output/fps", None))
add("output-fps-rational-too-high", board(setp(["output"], {"fps": "121000/1000"})), ("/output/fps", None))
add("output-fps-garbage", board(setp(["output"], {"fps": "fast"})), ("/output/fps", None))
add("output-sample-rate", board(setp(["output"], {"sample_rate": 44000})), ("/output/sample_rate", None))
add("output-channels-3", board(setp(["output"], {"channels": 3})), ("/output/channels", None))
add("output-crf-52", board(setp(["output"], {"crf": 52})), ("/output/crf", None))
add("output-crf-0", board(setp(["output"], {"crf": 0})), ("/output/crf", None))
add("seed-negative", board(setp(["seed"], -5)), ("/seed", None))
add("models-not-string", board(setp(["models"], {"video": 3})), ("/models/video", None))
add("style-prompt-empty", board(setp(["style"], {"prompt": ""})), ("/style/prompt", None))
add("loudness-lufs-out", board(setp(["loudness"], {"integrated_lufs": -4})), ("/loudness/integrated_lufs", None))
add("loudness-peak-out", board(setp(["loudness"], {"true_peak_dbtp": 0.5})), ("/loudness/true_peak_dbtp", None))

# --- transitions -----------------------------------------------------------------
add("transition-first-crossfade", board(setp(["shots", 0, "transition"], {"type": "crossfade", "duration": 1})),
    ("/shots/0/transition/type", None))
add("transition-crossfade-no-duration", board(setp(["shots", 1, "transition"], {"type": "crossfade"})),
    ("/shots/1/transition/duration", None))
add("transition-crossfade-zero", board(setp(["shots", 1, "transition"], {"type": "crossfade", "duration": 0})),
    ("/shots/1/transition/duration", None))
add("transition-cut-with-duration", board(setp(["shots", 1, "transition"], {"type": "cut", "duration": 1})),
    ("/shots/1/transition/duration", None))
add("transition-unknown-type", board(setp(["shots", 1, "transition"], {"type": "dissolve"})),
    ("/shots/1/transition/type", None))
add("transition-missing-type", board(setp(["shots", 1, "transition"], {"duration": 1})),
    ("/shots/1/transition/type", None))
add("transition-longer-than-previous", board(lambda b: (b["shots"][0].update(duration=1.0),
                                                        b["shots"][1]["transition"].update(duration=3.0))),
    ("/shots/1/transition/duration", None))
add("transition-longer-than-shot", board(lambda b: (b["shots"][1].update(duration=1.0),
                                                    b["shots"][1]["transition"].update(duration=3.0))),
    ("/shots/1/transition/duration", None))
add("transition-halves-overlap", board(lambda b: (
    b["shots"][1].update(duration=1.0),
    b["shots"].append({"id": "three", "duration": 4.0, "prompt": "p",
                       "transition": {"type": "crossfade", "duration": 1.6}}))),
    ("/shots/1/duration", None))

# --- ambience, subtitles on shots, totals, ids -----------------------------------
add("ambience-gain-out", board(setp(["shots", 0, "ambience"], {"prompt": "hum", "gain_db": -61})),
    ("/shots/0/ambience/gain_db", None))
add("ambience-prompt-missing", board(setp(["shots", 0, "ambience"], {"gain_db": -20})),
    ("/shots/0/ambience/prompt", None))
add("shot-subtitle-empty", board(setp(["shots", 0, "subtitle"], "")), ("/shots/0/subtitle", None))
add("total-over-600", board(setp(["shots", 0, "duration"], 597.0)), ("/shots", None))
add("duplicate-id-shots", board(setp(["shots", 1, "id"], "one")), ("/shots/1/id", None))
add("duplicate-id-shot-sfx", board(setp(["sfx", 0, "id"], "two")), ("/sfx/0/id", None))

# --- sfx, music, free subtitles ------------------------------------------------
add("sfx-unknown-shot", board(setp(["sfx", 0, "shot"], "tow")), ("/sfx/0/shot", None))
add("sfx-shot-not-string", board(setp(["sfx", 0, "shot"], 1)), ("/sfx/0/shot", None))
add("sfx-at-negative", board(setp(["sfx", 0, "at"], -0.5)), ("/sfx/0/at", None))
add("sfx-past-end", board(setp(["sfx", 0, "at"], 7.5)), ("/sfx/0/at", None))
add("sfx-relative-past-end", board(lambda b: b["sfx"][0].update(shot="two", at=3.5)), ("/sfx/0/at", None))
add("sfx-relative-before-start", board(lambda b: b["sfx"][0].update(shot="one", at=-0.5)), ("/sfx/0/at", None))
add("sfx-duration-over-30", board(setp(["sfx", 0, "duration"], 31)), ("/sfx/0/duration", None))
add("sfx-duration-zero", board(setp(["sfx", 0, "duration"], 0)), ("/sfx/0/duration", None))
add("sfx-pan-out", board(setp(["sfx", 0, "pan"], -1.5)), ("/sfx/0/pan", None))
add("sfx-gain-out", board(setp(["sfx", 0, "gain_db"], 13)), ("/sfx/0/gain_db", None))
add("sfx-prompt-missing", board(delp(["sfx", 0, "prompt"])), ("/sfx/0/prompt", None))
add("sfx-at-missing", board(delp(["sfx", 0, "at"])), ("/sfx/0/at", None))
add("sfx-not-array", board(setp(["sfx"], {"id": "x"})), ("/sfx", None))
add("sfx-seed-string", board(setp(["sfx", 0, "seed"], "7")), ("/sfx/0/seed", None))
add("music-prompt-missing", board(setp(["music"], {"gain_db": -20})), ("/music/prompt", None))
add("music-gain-out", board(setp(["music", "gain_db"], 20)), ("/music/gain_db", None))
add("music-seed-too-large", board(setp(["music", "seed"], 2**60)), ("/music/seed", None))
add("subtitles-end-before-start", board(setp(["subtitles", 0, "end"], 0.5)), ("/subtitles/0/end", None))
add("subtitles-end-past-total", board(setp(["subtitles", 0, "end"], 8.5)), ("/subtitles/0/end", None))
add("subtitles-start-negative", board(setp(["subtitles", 0, "start"], -1)), ("/subtitles/0/start", None))
add("subtitles-text-empty", board(setp(["subtitles", 0, "text"], "")), ("/subtitles/0/text", None))
add("subtitles-unknown-key", board(setp(["subtitles", 0, "txt"], "hi")), ("/subtitles/0/txt", None))

# --- several problems at once: every one must be reported ----------------------
add("multi-schema", raw('''{
  "version": 2,
  "output": { "width": 1281, "fps": "24/0" },
  "shots": [
    { "id": "a", "duration": -1, "prompt": "p" },
    { "id": "a", "duratoin": 2, "prompt": "" },
    { "id": "b", "duration": 2, "prompt": "p", "transition": { "type": "fade" } }
  ],
  "sfx": [ { "id": "s", "at": 1, "shot": "c", "duration": 40, "prompt": "x", "pan": 2 } ],
  "music": { "gain_db": 0 },
  "subtitles": [ { "start": 3, "end": 1, "text": "t" } ]
}
'''),
    ("/version", "2:14"), ("/output/width", "3:24"), ("/output/fps", "3:37"),
    ("/shots/0/duration", "5:30"), ("/shots/1/id", "6:13"), ("/shots/1/duratoin", "6:18"),
    ("/shots/1/duration", "6:5"), ("/shots/1/prompt", "6:43"), ("/shots/2/transition/type", "7:72"),
    ("/sfx/0/shot", "9:42"), ("/sfx/0/duration", "9:59"), ("/sfx/0/pan", "9:85"),
    ("/music/prompt", "10:12"), ("/subtitles/0/end", "11:39"))
add("multi-duplicates-and-types", raw('''{
  "version": 1,
  "title": "x",
  "title": "y",
  "shots": [
    { "id": "a", "duration": 2, "prompt": "p", "prompt": "q", "seed": -3 },
    { "id": "b", "duration": 2, "prompt": "p", "subtitle": 5 }
  ],
  "sfx": [ { "id": "b", "at": 0, "duration": 1, "prompt": "x" } ],
  "loudness": { "integrated_lufs": "loud" }
}
'''),
    ("/title", "4:3"), ("/shots/0/prompt", "6:48"), ("/shots/0/seed", "6:71"),
    ("/shots/1/subtitle", "7:60"), ("/sfx/0/id", "9:20"), ("/loudness/integrated_lufs", "10:36"))
add("multi-timeline", board(lambda b: (
    b["shots"][0].update(duration=0.4),
    b["sfx"].append({"id": "late", "at": 100, "duration": 1, "prompt": "x"}),
    b["subtitles"].append({"start": 0, "end": 50, "text": "long"}))),
    ("/shots/1/transition/duration", None), ("/sfx/1/at", None), ("/subtitles/1/end", None))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".json"):
            os.remove(os.path.join(OUT, f))
    rows = ["# file\texit\tpointer (- = document root)\tLINE:COL (- = not checked)"]
    for name, data, expect in cases:
        with open(os.path.join(OUT, name + ".json"), "wb") as f:
            f.write(data)
        for ptr, lc in expect:
            rows.append("%s.json\t65\t%s\t%s" % (name, ptr, lc or "-"))
    with open(os.path.join(OUT, "EXPECT.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("%d bad storyboards, %d expectations" % (len(cases), len(rows) - 1))


main()
