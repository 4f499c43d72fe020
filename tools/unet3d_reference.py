#!/usr/bin/python3
"""Independent float64 torch reference of diffusers' UNet3DConditionModel (0.27),
written from the diffusers semantics (no diffusers import), used to check
vkreel's port on configurations the shipped golden case does not cover
(three levels, layers_per_block 2, odd / non-square sizes, other frame and
batch counts).

  unet3d_reference.py check <case_dir>        reproduce <case_dir>/io.safetensors out.sample
  unet3d_reference.py make <out_dir> [seed]   write a new case (config.json, weights.safetensors,
                                              io.safetensors) for tests/test_unet3d_golden.c

Run with Debian's /usr/bin/python3 (python3-torch, numpy)."""
import json, math, os, struct, sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    dt = {"F32": "<f4", "I64": "<i8"}
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dt[v["dtype"]]).reshape(v["shape"])
            for k, v in h.items()}


def write_st(path, tensors):
    header, off, blobs = {}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], dtype="<f4")
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


class Params:
    """Weights by name. In 'make' mode a missing name is created with the init
    recipe of the golden cases (norm weight 1 + 0.1 N, biases 0.05 N, weights N / sqrt(fan_in))."""

    def __init__(self, tensors=None, gen=None):
        self.t = {k: torch.tensor(v.astype(np.float64)) for k, v in (tensors or {}).items()}
        self.gen = gen
        self.used = set()

    def __call__(self, name, *shape):
        if name not in self.t:
            if self.gen is None:
                raise KeyError(name)
            n = torch.randn(*shape, generator=self.gen)
            if name.endswith(".bias"):
                v = 0.05 * n
            elif len(shape) == 1:
                v = 1 + 0.1 * n
            else:
                v = n / math.sqrt(np.prod(shape[1:]))
            self.t[name] = v.float().double()  # the stored f32 values are the weights
        assert tuple(self.t[name].shape) == tuple(shape), (name, self.t[name].shape, shape)
        self.used.add(name)
        return self.t[name]

    def has(self, name):
        return name in self.t or self.gen is not None


def linear(P, pre, x, i, o, bias=True):
    w = P(pre + ".weight", o, i) if pre + ".weight" not in P.t or P.t[pre + ".weight"].dim() == 2 \
        else P(pre + ".weight", o, i, 1, 1).reshape(o, i)
    return F.linear(x, w, P(pre + ".bias", o) if bias else None)


def gn(P, pre, x, groups, eps):
    c = x.shape[1]
    return F.group_norm(x, groups, P(pre + ".weight", c), P(pre + ".bias", c), eps)


def ln(P, pre, x):
    c = x.shape[-1]
    return F.layer_norm(x, (c,), P(pre + ".weight", c), P(pre + ".bias", c), 1e-5)


def attention(P, pre, x, ctx, heads, head_dim):
    inner = heads * head_dim
    q = linear(P, pre + ".to_q", x, x.shape[-1], inner, False)
    k = linear(P, pre + ".to_k", ctx, ctx.shape[-1], inner, False)
    v = linear(P, pre + ".to_v", ctx, ctx.shape[-1], inner, False)
    S, Lq, Lk = x.shape[0], x.shape[1], ctx.shape[1]
    q = q.reshape(S, Lq, heads, head_dim).transpose(1, 2)
    k = k.reshape(S, Lk, heads, head_dim).transpose(1, 2)
    v = v.reshape(S, Lk, heads, head_dim).transpose(1, 2)
    p = (q @ k.transpose(-1, -2) * head_dim ** -0.5).softmax(-1)
    o = (p @ v).transpose(1, 2).reshape(S, Lq, inner)
    return linear(P, pre + ".to_out.0", o, inner, x.shape[-1])


def basic_block(P, pre, x, ctx, heads, head_dim):
    d = x.shape[-1]
    n = ln(P, pre + ".norm1", x)
    x = attention(P, pre + ".attn1", n, n, heads, head_dim) + x
    n = ln(P, pre + ".norm2", x)
    x = attention(P, pre + ".attn2", n, n if ctx is None else ctx, heads, head_dim) + x
    n = ln(P, pre + ".norm3", x)
    a, g = linear(P, pre + ".ff.net.0.proj", n, d, 8 * d).chunk(2, dim=-1)
    return linear(P, pre + ".ff.net.2", a * F.gelu(g), 4 * d, d) + x


def transformer2d(P, pre, x, ctx, heads, head_dim, groups):
    bf, c, h, w = x.shape
    inner = heads * head_dim
    t = gn(P, pre + ".norm", x, groups, 1e-6).permute(0, 2, 3, 1).reshape(bf, h * w, c)
    t = linear(P, pre + ".proj_in", t, c, inner)
    t = basic_block(P, pre + ".transformer_blocks.0", t, ctx, heads, head_dim)
    t = linear(P, pre + ".proj_out", t, inner, c)
    return t.reshape(bf, h, w, c).permute(0, 3, 1, 2) + x


def transformer_temporal(P, pre, x, frames, heads, head_dim, groups):
    bf, c, h, w = x.shape
    b = bf // frames
    inner = heads * head_dim
    t = x.reshape(b, frames, c, h, w).permute(0, 2, 1, 3, 4)
    t = gn(P, pre + ".norm", t, groups, 1e-6)
    t = t.permute(0, 3, 4, 2, 1).reshape(b * h * w, frames, c)
    t = linear(P, pre + ".proj_in", t, c, inner)
    t = basic_block(P, pre + ".transformer_blocks.0", t, None, heads, head_dim)
    t = linear(P, pre + ".proj_out", t, inner, c)
    t = t.reshape(b, h, w, frames, c).permute(0, 3, 4, 1, 2).reshape(bf, c, h, w)
    return t + x


def temporal_conv(P, pre, x, frames, groups):
    bf, c, h, w = x.shape
    t = x.reshape(-1, frames, c, h, w).permute(0, 2, 1, 3, 4)
    ident = t
    for i, idx in ((1, 2), (2, 3), (3, 3), (4, 3)):
        t = F.silu(gn(P, "%s.conv%d.0" % (pre, i), t, groups, 1e-5))
        t = F.conv3d(t, P("%s.conv%d.%d.weight" % (pre, i, idx), c, c, 3, 1, 1), P("%s.conv%d.%d.bias" % (pre, i, idx), c),
                     padding=(1, 0, 0))
    return (ident + t).permute(0, 2, 1, 3, 4).reshape(bf, c, h, w)


def conv(P, pre, x, o, k, stride=1, padding=1):
    i = x.shape[1]
    return F.conv2d(x, P(pre + ".weight", o, i, k, k), P(pre + ".bias", o), stride=stride, padding=padding)


def resnet(P, pre, x, temb, out, groups, eps, osf=1.0):
    cin = x.shape[1]
    h = conv(P, pre + ".conv1", F.silu(gn(P, pre + ".norm1", x, groups, eps)), out, 3)
    h = h + linear(P, pre + ".time_emb_proj", F.silu(temb), temb.shape[1], out)[:, :, None, None]
    h = conv(P, pre + ".conv2", F.silu(gn(P, pre + ".norm2", h, groups, eps)), out, 3)
    if cin != out:
        x = conv(P, pre + ".conv_shortcut", x, out, 1, padding=0)
    return (x + h) / osf


def forward(P, cfg, sample, timestep, ehs):
    boc = cfg["block_out_channels"]
    nb = len(boc)
    ahd = cfg["attention_head_dim"]
    ahd = [ahd] * nb if isinstance(ahd, int) else ahd
    g, eps, lpb = cfg["norm_num_groups"], cfg["norm_eps"], cfg["layers_per_block"]
    B, C, Fr, H, W = sample.shape
    c0 = boc[0]
    half = c0 // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = timestep.float()[:, None] * freqs[None]
    tp = torch.cat([torch.cos(args), torch.sin(args)], -1).double()
    emb = linear(P, "time_embedding.linear_2", F.silu(linear(P, "time_embedding.linear_1", tp, c0, 4 * c0)), 4 * c0, 4 * c0)
    emb = emb.repeat_interleave(Fr, 0)
    ctx = ehs.repeat_interleave(Fr, 0)
    x = sample.permute(0, 2, 1, 3, 4).reshape(B * Fr, C, H, W)
    x = conv(P, "conv_in", x, c0, 3)
    x = transformer_temporal(P, "transformer_in", x, Fr, 8, ahd[0], g)
    skips = [x]
    out_ch = c0
    for i, t in enumerate(cfg["down_block_types"]):
        out_ch = boc[i]
        for l in range(lpb):
            pre = "down_blocks.%d" % i
            x = resnet(P, "%s.resnets.%d" % (pre, l), x, emb, out_ch, g, eps)
            x = temporal_conv(P, "%s.temp_convs.%d" % (pre, l), x, Fr, g)
            if t == "CrossAttnDownBlock3D":
                x = transformer2d(P, "%s.attentions.%d" % (pre, l), x, ctx, out_ch // ahd[i], ahd[i], g)
                x = transformer_temporal(P, "%s.temp_attentions.%d" % (pre, l), x, Fr, out_ch // ahd[i], ahd[i], g)
            skips.append(x)
        if i < nb - 1:
            x = conv(P, "down_blocks.%d.downsamplers.0.conv" % i, x, out_ch, 3, stride=2, padding=cfg.get("downsample_padding", 1))
            skips.append(x)
    cl, hl = boc[-1], ahd[-1]
    x = resnet(P, "mid_block.resnets.0", x, emb, cl, g, eps, cfg.get("mid_block_scale_factor", 1))
    x = temporal_conv(P, "mid_block.temp_convs.0", x, Fr, g)
    x = transformer2d(P, "mid_block.attentions.0", x, ctx, cl // hl, hl, g)
    x = transformer_temporal(P, "mid_block.temp_attentions.0", x, Fr, cl // hl, hl, g)
    x = resnet(P, "mid_block.resnets.1", x, emb, cl, g, eps, cfg.get("mid_block_scale_factor", 1))
    x = temporal_conv(P, "mid_block.temp_convs.1", x, Fr, g)
    rb, rh = boc[::-1], ahd[::-1]
    for i, t in enumerate(cfg["up_block_types"]):
        out_ch = rb[i]
        for l in range(lpb + 1):
            pre = "up_blocks.%d" % i
            x = torch.cat([x, skips.pop()], 1)
            x = resnet(P, "%s.resnets.%d" % (pre, l), x, emb, out_ch, g, eps)
            x = temporal_conv(P, "%s.temp_convs.%d" % (pre, l), x, Fr, g)
            if t == "CrossAttnUpBlock3D":
                x = transformer2d(P, "%s.attentions.%d" % (pre, l), x, ctx, out_ch // rh[i], rh[i], g)
                x = transformer_temporal(P, "%s.temp_attentions.%d" % (pre, l), x, Fr, out_ch // rh[i], rh[i], g)
        if i < nb - 1:
            x = F.interpolate(x, size=skips[-1].shape[2:], mode="nearest")
            x = conv(P, "up_blocks.%d.upsamplers.0.conv" % i, x, out_ch, 3)
    x = F.silu(gn(P, "conv_norm_out", x, g, eps))
    x = conv(P, "conv_out", x, cfg["out_channels"], 3)
    return x.reshape(B, Fr, -1, H, W).permute(0, 2, 1, 3, 4)


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "check":
        cfg = json.load(open(os.path.join(d, "config.json")))
        P = Params(read_st(os.path.join(d, "weights.safetensors")))
        io = read_st(os.path.join(d, "io.safetensors"))
        out = forward(P, cfg, torch.tensor(io["in.sample"].astype(np.float64)), torch.tensor(io["in.timestep"]),
                      torch.tensor(io["in.encoder_hidden_states"].astype(np.float64)))
        ref = io["out.sample"].astype(np.float64)
        err = np.abs(out.numpy() - ref)
        print("max_abs %.3g rel_l2 %.3g unused %s" % (err.max(), np.linalg.norm(out.numpy() - ref) / np.linalg.norm(ref),
                                                      sorted(set(P.t) - P.used)))
        return
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    cfg = {"_class_name": "UNet3DConditionModel", "act_fn": "silu", "attention_head_dim": 4,
           "block_out_channels": [8, 16, 24], "cross_attention_dim": 12,
           "down_block_types": ["CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"],
           "downsample_padding": 1, "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1,
           "norm_eps": 1e-05, "norm_num_groups": 4, "num_attention_heads": None, "out_channels": 3,
           "up_block_types": ["UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"]}
    gen = torch.Generator().manual_seed(seed)
    sample = torch.randn(1, 4, 3, 9, 7, generator=gen).float().double()
    timestep = torch.tensor([417.0], dtype=torch.float32)
    ehs = torch.randn(1, 5, 12, generator=gen).float().double()
    P = Params(gen=gen)
    out = forward(P, cfg, sample, timestep, ehs)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    write_st(os.path.join(d, "weights.safetensors"), {k: v.float().numpy() for k, v in P.t.items()})
    write_st(os.path.join(d, "io.safetensors"), {"in.sample": sample.numpy(), "in.timestep": timestep.numpy(),
                                                 "in.encoder_hidden_states": ehs.numpy(), "out.sample": out.numpy()})
    print("wrote %s: %d tensors, out max_abs %.3g" % (d, len(P.t), out.abs().max()))


if __name__ == "__main__":
    main()
