#!/usr/bin/env python3
"""Compares the frames of a rendered MP4 (decoded with ffmpeg to 8-bit RGB) with
a golden out.frames tensor (float32 (1, F, H, W, 3) in [0, 1], safetensors).

usage: compare_frames.py OUT.mp4 io.safetensors MAX_MEAN_ABS

Passes when every frame's mean |luma(rgb) - luma(255 out.frames)| (BT.709) is
at most MAX_MEAN_ABS
(H.264 yuv420p is lossy: the exact check is in tests/test_video_source.c) and
each frame is closer to its own golden frame than to any other golden frame."""
import array
import json
import struct
import subprocess
import sys


def read_tensor(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        info = header[name]
        assert info["dtype"] == "F32", info["dtype"]
        begin, end = info["data_offsets"]
        f.seek(8 + n + begin)
        data = array.array("f", f.read(end - begin))
        if sys.byteorder != "little":
            data.byteswap()
        return data, info["shape"]


def luma(rgb):
    """BT.709 luma: yuv420p keeps it at full resolution, unlike the chroma."""
    return [0.2126 * rgb[k] + 0.7152 * rgb[k + 1] + 0.0722 * rgb[k + 2] for k in range(0, len(rgb), 3)]


def main():
    mp4, st, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    data, shape = read_tensor(st, "out.frames")  # (1, F, H, W, 3)
    F, n = shape[1], shape[2] * shape[3] * 3
    want = [[255.0 * v for v in data[g * n:(g + 1) * n]] for g in range(F)]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", mp4, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, stdout=subprocess.PIPE).stdout
    if len(raw) != F * n:
        print(f"FAIL: {len(raw) / n:g} frames decoded, golden has {F}")
        return 1
    got = [luma(raw[f * n:(f + 1) * n]) for f in range(F)]
    want = [luma(w) for w in want]
    n //= 3
    ok = True
    for f in range(F):
        errs = [sum(abs(a - b) for a, b in zip(got[f], want[g])) / n for g in range(F)]
        own = errs[f]
        print(f"frame {f}: mean |luma diff| vs golden frame {f}: {own:.2f} (others: "
              + ", ".join(f"{e:.2f}" for g, e in enumerate(errs) if g != f) + ")")
        if own > limit or any(e <= own for g, e in enumerate(errs) if g != f):
            ok = False
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
