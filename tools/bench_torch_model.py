#!/usr/bin/python3
"""PyTorch CPU timing of one UNet forward on a model directory, the same-run
reference for `vkreel bench model --video-model DIR --torch` (UNet3DConditionModel)
and `--audio-model DIR --torch` (AudioLDM's UNet2DConditionModel).

  bench_torch_model.py MODEL_DIR [--size WxH] [--frames N] [--audio-frames N]
                       [--batch N] [--steps N] [--threads N] [--json]
  bench_torch_model.py MODEL_DIR --check DUMP   vkreel's UNet3D output vs this reference
                       (DUMP from `vkreel bench model --video-model MODEL_DIR --dump-unet DUMP`)

UNet2D: tools/unet2d_reference.py in float32, latents (batch, in_channels,
audio_frames / 4, 64 / 4), random 512-wide class labels (the CLAP embedding),
no encoder states, as vkreel's audio bench.

The network is tools/unet3d_reference.py (an independent torch implementation
of diffusers' UNet3DConditionModel, float64 by default), run here in float32:
the weights (safetensors or torch .bin, f16 or f32) are loaded as float32, and
the reference's one float64 cast (the timestep sinusoid) is made a float32 one
while timing. The input is the same shape as vkreel's bench: (batch, 4,
frames, H/8, W/8) latents, batch rows of 77 x cross_attention_dim text states,
timestep 981. One warm-up forward, then --steps timed forwards; prints seconds
per forward (JSON with --json: {"stage": "unet", "impl", "threads", "seconds"}).

Install libopenblas0-pthread (Debian) first: without it torch uses the
reference BLAS and is ~15x slower (see docs/performance.md)."""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet3d_reference as ref  # noqa: E402  (sets the default dtype to float64)

torch.set_default_dtype(torch.float32)

ST_NP = {"F32": "<f4", "F16": "<f2", "BF16": None, "F64": "<f8", "I64": "<i8"}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for k, v in h.items():
        a, b = v["data_offsets"]
        dt = ST_NP[v["dtype"]]
        if dt is None:
            raise SystemExit("%s: %s is %s (not supported here)" % (path, k, v["dtype"]))
        arr = np.frombuffer(mm[a:b], dtype=dt).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.astype(np.float32))
    return out


def load_weights(unet_dir):
    for fn in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"):
        p = os.path.join(unet_dir, fn)
        if os.path.exists(p):
            return load_safetensors(p)
    for fn in ("diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"):
        p = os.path.join(unet_dir, fn)
        if os.path.exists(p):
            sd = torch.load(p, map_location="cpu")
            return {k: v.float() for k, v in sd.items()}
    raise SystemExit("%s: no diffusion_pytorch_model.{safetensors,bin}" % unet_dir)


def unet2d_forward(cfg, tensors, args):
    """One timed UNet2D setup: returns a thunk running the forward in float32."""
    import unet2d_reference as ref2
    P = ref2.Params(dtype=torch.float32)
    P.t = tensors
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(args.batch, cfg.get("in_channels", 4), args.audio_frames // 4, 64 // 4, generator=g)
    labels = None
    if cfg.get("class_embed_type"):
        labels = torch.randn(args.batch, cfg["projection_class_embeddings_input_dim"], generator=g)
    ts = torch.full((args.batch,), 981.0)
    return P, tuple(sample.shape), lambda: ref2.forward(P, cfg, sample, ts, labels, None)[0]


class Float32Params(ref.Params):
    """unet3d_reference.Params over already-converted float32 tensors."""

    def __init__(self, tensors):
        super().__init__()
        self.t = tensors


class float32_casts:
    """unet3d_reference.forward casts the timestep sinusoid with .double();
    make that a float32 cast while timing so the whole network runs in float32."""

    def __enter__(self):
        self.saved = torch.Tensor.double
        torch.Tensor.double = lambda t: t.float()

    def __exit__(self, *a):
        torch.Tensor.double = self.saved


def check(unet_dir, cfg, dump):
    """Runs the reference (float32) on the dumped inputs; prints max_abs / rel_l2
    against vkreel's output; exit 1 above rel_l2 1e-2 or on non-finite values."""
    io = load_safetensors(dump)
    P = Float32Params(load_weights(unet_dir))
    with torch.no_grad(), float32_casts():
        out = ref.forward(P, cfg, io["in.sample"], io["in.timestep"], io["in.encoder_hidden_states"])
    got = io["out.sample"]
    err = (out - got).abs()
    rel = float((out - got).norm() / out.norm())
    ok = bool(torch.isfinite(got).all()) and rel < 1e-2
    print("unet check %s: max_abs %.3g rel_l2 %.3g (|ref| max %.3g, std %.3g) %s" % (
        "x".join(str(v) for v in got.shape), float(err.max()), rel, float(out.abs().max()), float(out.std()),
        "ok" if ok else "MISMATCH"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--size", default="64x64")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--audio-frames", type=int, default=64)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", metavar="DUMP", help="compare a vkreel --dump-unet file with this reference")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    unet_dir = os.path.join(args.model, "unet") if os.path.isdir(os.path.join(args.model, "unet")) else args.model
    cfg = json.load(open(os.path.join(unet_dir, "config.json")))
    W, H = (int(v) for v in args.size.split("x"))
    if args.check:
        return check(unet_dir, cfg, args.check)
    t0 = time.perf_counter()
    tensors = load_weights(unet_dir)
    load_s = time.perf_counter() - t0
    if cfg.get("_class_name") == "UNet2DConditionModel":
        P, shape, fwd = unet2d_forward(cfg, tensors, args)
    else:
        P = Float32Params(tensors)
        g = torch.Generator().manual_seed(0)
        sample = torch.randn(args.batch, cfg.get("in_channels", 4), args.frames, H // 8, W // 8, generator=g)
        ehs = torch.randn(args.batch, 77, cfg.get("cross_attention_dim", 1024), generator=g)
        ts = torch.full((args.batch,), 981.0)
        shape = tuple(sample.shape)
        fwd = lambda: ref.forward(P, cfg, sample, ts, ehs)  # noqa: E731
    times = []
    with torch.no_grad(), float32_casts():
        out = fwd()  # warm-up
        assert out.dtype == torch.float32 and torch.isfinite(out).all(), (out.dtype, "non-finite output")
        unused = sorted(set(P.t) - P.used)
        if unused:
            raise SystemExit("unused tensors: %s" % unused[:5])
        for _ in range(args.steps):
            t0 = time.perf_counter()
            fwd()
            times.append(time.perf_counter() - t0)
    sec = sum(times) / len(times)
    row = {"stage": "unet", "impl": "torch-%s-cpu-f32" % torch.__version__, "threads": torch.get_num_threads(),
           "shape": "x".join(str(v) for v in shape), "load_seconds": round(load_s, 3), "seconds": round(sec, 3)}
    if args.json:
        print(json.dumps(row), flush=True)
    else:
        print("torch UNet forward %s f32, %d threads: %.3f s (weights loaded in %.1f s)" % (
            row["shape"], row["threads"], sec, load_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
