#!/usr/bin/python3
"""Times the kernels of `vkreel bench kernels` with PyTorch, at the same shapes.

Run with Debian's python3-torch (CPU) -- install libopenblas0-pthread first, or
torch falls back to the reference BLAS and runs ~15x slower -- or with a CUDA
PyTorch on a GPU machine (--device cuda). Prints JSON lines in the same schema as
`vkreel bench kernels --json`:

  {"op": NAME, "shape": "...", "dtype": "f32", "ms": MEDIAN_MS, "gflops": G, "gbps": B}

tools/bench_compare.py joins the two outputs into a ratio table.

The shapes come from the real models (Zeroscope 576x320 -> latent 72x40, 24 frames).
They are duplicated, on purpose, in gpu/bench.c; keep the two lists in step.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F

LAT_H, LAT_W, FRAMES = 40, 72, 24  # Zeroscope 576x320 latent, 24 frames
TOKENS = LAT_H * LAT_W             # 2880 spatial tokens per frame


def cases(quick):
    """(name, shape string, flops, bytes, setup(device, dtype) -> thunk)."""
    f = 1 if not quick else 4  # --quick divides the frame/batch dims
    b = FRAMES // f

    def gemm(dev, dt):
        m, k, n = TOKENS * b, 1280, 5120
        a = torch.randn(m, k, device=dev, dtype=dt)
        w = torch.randn(n, k, device=dev, dtype=dt)
        return lambda: F.linear(a, w)
    m = TOKENS * b
    yield ("gemm", f"{m}x1280x5120", 2.0 * m * 1280 * 5120, 4.0 * (m * 1280 + 1280 * 5120 + m * 5120), gemm)

    def conv3x3(dev, dt):
        x = torch.randn(b, 320, LAT_H, LAT_W, device=dev, dtype=dt)
        w = torch.randn(320, 320, 3, 3, device=dev, dtype=dt)
        bias = torch.randn(320, device=dev, dtype=dt)
        return lambda: F.conv2d(x, w, bias, padding=1)
    yield ("conv2d_3x3", f"{b}x320x{LAT_H}x{LAT_W}->320", 2.0 * b * 320 * 320 * 9 * TOKENS, 0, conv3x3)

    def temporal_conv(dev, dt):
        x = torch.randn(1, 320, b, LAT_H, LAT_W, device=dev, dtype=dt)
        w = torch.randn(320, 320, 3, 1, 1, device=dev, dtype=dt)
        return lambda: F.conv3d(x, w, None, padding=(1, 0, 0))
    yield ("conv_temporal_3x1x1", f"1x320x{b}x{LAT_H}x{LAT_W}", 2.0 * b * 320 * 320 * 3 * TOKENS, 0, temporal_conv)

    def spatial_attn(dev, dt):
        q = torch.randn(b, 5, TOKENS, 64, device=dev, dtype=dt)
        k = torch.randn(b, 5, TOKENS, 64, device=dev, dtype=dt)
        v = torch.randn(b, 5, TOKENS, 64, device=dev, dtype=dt)
        if hasattr(F, "scaled_dot_product_attention"):
            return lambda: F.scaled_dot_product_attention(q, k, v)
        scale = 64 ** -0.5
        return lambda: torch.softmax(q @ k.transpose(-1, -2) * scale, -1) @ v
    yield ("attention_spatial", f"{b}x5x{TOKENS}x64", 4.0 * b * 5 * TOKENS * TOKENS * 64, 0, spatial_attn)

    def temporal_attn(dev, dt):
        q = torch.randn(TOKENS, 5, FRAMES, 64, device=dev, dtype=dt)
        k = torch.randn(TOKENS, 5, FRAMES, 64, device=dev, dtype=dt)
        v = torch.randn(TOKENS, 5, FRAMES, 64, device=dev, dtype=dt)
        if hasattr(F, "scaled_dot_product_attention"):
            return lambda: F.scaled_dot_product_attention(q, k, v)
        scale = 64 ** -0.5
        return lambda: torch.softmax(q @ k.transpose(-1, -2) * scale, -1) @ v
    yield ("attention_temporal", f"{TOKENS}x5x{FRAMES}x64", 4.0 * TOKENS * 5 * FRAMES * FRAMES * 64, 0, temporal_attn)

    def convt1d(dev, dt):
        # HiFi-GAN (AudioLDM) first upsampler: 1024 ch -> 512, kernel 16, stride 5, 10.24 s = 1024 mel frames.
        x = torch.randn(1, 1024, 1024, device=dev, dtype=dt)
        w = torch.randn(1024, 512, 16, device=dev, dtype=dt)
        return lambda: F.conv_transpose1d(x, w, None, stride=5, padding=(16 - 5) // 2)
    yield ("conv_transpose1d", "1x1024x1024->512,k16,s5", 2.0 * 1024 * 512 * 16 * 1024, 0, convt1d)

    def groupnorm(dev, dt):
        x = torch.randn(1, 320, b, LAT_H, LAT_W, device=dev, dtype=dt)
        w = torch.randn(320, device=dev, dtype=dt)
        return lambda: F.group_norm(x, 32, w, w, 1e-5)
    yield ("group_norm", f"1x320x{b}x{LAT_H}x{LAT_W},G32", 0, 2.0 * 4 * 320 * b * TOKENS, groupnorm)

    def layernorm(dev, dt):
        x = torch.randn(TOKENS * b, 320, device=dev, dtype=dt)
        w = torch.randn(320, device=dev, dtype=dt)
        return lambda: F.layer_norm(x, (320,), w, w, 1e-5)
    yield ("layer_norm", f"{TOKENS * b}x320", 0, 2.0 * 4 * 320 * b * TOKENS, layernorm)

    def softmax(dev, dt):
        x = torch.randn(TOKENS, TOKENS, device=dev, dtype=dt)
        return lambda: torch.softmax(x * 0.125, -1)
    yield ("softmax", f"{TOKENS}x{TOKENS}", 0, 2.0 * 4 * TOKENS * TOKENS, softmax)


def time_it(thunk, sync, min_runs=3, min_seconds=1.0):
    thunk()  # warm-up
    sync()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < min_seconds and len(times) < 50):
        t0 = time.perf_counter()
        thunk()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    ap.add_argument("--quick", action="store_true", help="divide frame counts by 4")
    ap.add_argument("--only", default="", help="comma-separated op names")
    args = ap.parse_args()
    if args.threads or args.device == "cpu":
        import os
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    sync = (lambda: torch.cuda.synchronize()) if args.device.startswith("cuda") else (lambda: None)
    only = set(filter(None, args.only.split(",")))
    with torch.no_grad():
        for name, shape, flops, nbytes, setup in cases(args.quick):
            if only and name not in only:
                continue
            ms = time_it(setup(args.device, dt), sync)
            print(json.dumps({
                "op": name, "shape": shape, "dtype": args.dtype, "impl": f"torch-{torch.__version__}-{args.device}",
                "threads": torch.get_num_threads(), "ms": round(ms, 3),
                "gflops": round(flops / ms / 1e6, 2) if flops else None,
                "gbps": round(nbytes / ms / 1e6, 2) if nbytes else None,
            }), flush=True)


if __name__ == "__main__":
    main()
