#!/usr/bin/python3
"""Independent float64 torch reference of diffusers' UNet2DConditionModel (0.27),
written from the diffusers semantics (no diffusers import), used to check
vkreel's audio/unet2d on configurations the shipped golden case does not cover.

  unet2d_reference.py check <case_dir>               reproduce <case_dir>/io.safetensors out.sample
  unet2d_reference.py make <variant> <out_dir> [seed]  write a new golden case directory (config.json,
                                                     weights.safetensors, io.safetensors, case.json)

Variants:
  audioldm3   AudioLDM configuration with 3 levels: layers_per_block 2, attention_head_dim a
              per-block list (= head counts), transformer_layers_per_block [1, 2, 1], 4 groups,
              batch 2 with different timesteps, latent 7 x 10 (odd: 7 -> 4 -> 2 and 10 -> 5 -> 3)
  sd          a Stable-Diffusion-style UNet2D: no class embedding, encoder_hidden_states given
              (cross_attention_dim 12 != the block widths), use_linear_projection (2-D proj
              weights), first level with attention, freq_shift 1, batch 1, latent 9 x 6
  wide        160-wide attention heads (audioldm-l-full's lowest level); 20 MB of weights: a one-off
              check (make it under /tmp and run `vkreel golden` on it), not shipped

The model is evaluated in float64; the case tolerance is 10x the float32-vs-float64 error of
the same reference run in float32 (as the shipped cases do), rounded up to one digit.
Run with Debian's /usr/bin/python3 (python3-torch, numpy)."""
import json, math, os, struct, sys

import numpy as np
import torch
import torch.nn.functional as F


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
    """Weights by name, held in self.dtype. In 'make' mode a missing name is created with the
    init recipe of the golden cases (norm weight 1 + 0.1 N, biases 0.05 N, weights N / sqrt(fan_in))."""

    def __init__(self, tensors=None, gen=None, dtype=torch.float64):
        self.t = {k: torch.tensor(v.astype(np.float64)) for k, v in (tensors or {}).items()}
        self.gen = gen
        self.dtype = dtype
        self.used = set()

    def __call__(self, name, *shape):
        if name not in self.t:
            if self.gen is None:
                raise KeyError(name)
            n = torch.randn(*shape, generator=self.gen, dtype=torch.float64)
            if name.endswith(".bias"):
                v = 0.05 * n
            elif len(shape) == 1:
                v = 1 + 0.1 * n
            else:
                v = n / math.sqrt(np.prod(shape[1:]))
            self.t[name] = v.float().double()  # the stored f32 values are the weights
        assert tuple(self.t[name].shape) == tuple(shape), (name, self.t[name].shape, shape)
        self.used.add(name)
        return self.t[name].to(self.dtype)


def linear(P, pre, x, i, o, bias=True, conv1x1=False):
    w = P(pre + ".weight", o, i, 1, 1).reshape(o, i) if conv1x1 else P(pre + ".weight", o, i)
    return F.linear(x, w, P(pre + ".bias", o) if bias else None)


def gn(P, pre, x, groups, eps):
    c = x.shape[1]
    return F.group_norm(x, groups, P(pre + ".weight", c), P(pre + ".bias", c), eps)


def ln(P, pre, x):
    c = x.shape[-1]
    return F.layer_norm(x, (c,), P(pre + ".weight", c), P(pre + ".bias", c), 1e-5)


def attention(P, pre, x, ctx, heads):
    inner = x.shape[-1]
    hd = inner // heads
    q = linear(P, pre + ".to_q", x, inner, inner, False)
    k = linear(P, pre + ".to_k", ctx, ctx.shape[-1], inner, False)
    v = linear(P, pre + ".to_v", ctx, ctx.shape[-1], inner, False)
    S, Lq, Lk = x.shape[0], x.shape[1], ctx.shape[1]
    q = q.reshape(S, Lq, heads, hd).transpose(1, 2)
    k = k.reshape(S, Lk, heads, hd).transpose(1, 2)
    v = v.reshape(S, Lk, heads, hd).transpose(1, 2)
    p = (q @ k.transpose(-1, -2) * hd ** -0.5).softmax(-1)
    o = (p @ v).transpose(1, 2).reshape(S, Lq, inner)
    return linear(P, pre + ".to_out.0", o, inner, inner)


def basic_block(P, pre, x, ctx, heads):
    """BasicTransformerBlock (layer_norm): attn1 self, attn2 over ctx (its own normed tokens when
    encoder_hidden_states is None), GEGLU feed-forward."""
    d = x.shape[-1]
    n = ln(P, pre + ".norm1", x)
    x = attention(P, pre + ".attn1", n, n, heads) + x
    n = ln(P, pre + ".norm2", x)
    x = attention(P, pre + ".attn2", n, n if ctx is None else ctx, heads) + x
    n = ln(P, pre + ".norm3", x)
    a, g = linear(P, pre + ".ff.net.0.proj", n, d, 8 * d).chunk(2, dim=-1)
    return linear(P, pre + ".ff.net.2", a * F.gelu(g), 4 * d, d) + x


def transformer2d(P, pre, x, ctx, heads, groups, n_layers, linear_proj):
    b, c, h, w = x.shape
    t = gn(P, pre + ".norm", x, groups, 1e-6).permute(0, 2, 3, 1).reshape(b, h * w, c)
    t = linear(P, pre + ".proj_in", t, c, c, conv1x1=not linear_proj)
    for i in range(n_layers):
        t = basic_block(P, "%s.transformer_blocks.%d" % (pre, i), t, ctx, heads)
    t = linear(P, pre + ".proj_out", t, c, c, conv1x1=not linear_proj)
    return t.reshape(b, h, w, c).permute(0, 3, 1, 2) + x


def conv(P, pre, x, o, k, stride=1, padding=None):
    i = x.shape[1]
    return F.conv2d(x, P(pre + ".weight", o, i, k, k), P(pre + ".bias", o), stride=stride,
                    padding=(k - 1) // 2 if padding is None else padding)


def resnet(P, pre, x, temb, out, groups, eps, osf=1.0):
    cin = x.shape[1]
    h = conv(P, pre + ".conv1", F.silu(gn(P, pre + ".norm1", x, groups, eps)), out, 3)
    h = h + linear(P, pre + ".time_emb_proj", F.silu(temb), temb.shape[1], out)[:, :, None, None]
    h = conv(P, pre + ".conv2", F.silu(gn(P, pre + ".norm2", h, groups, eps)), out, 3)
    if cin != out:
        x = conv(P, pre + ".conv_shortcut", x, out, 1, padding=0)
    return (x + h) / osf


def per_block(v, n):
    return [v] * n if isinstance(v, int) else list(v)


def forward(P, cfg, sample, timestep, class_labels, ehs):
    boc = cfg["block_out_channels"]
    nb = len(boc)
    heads = per_block(cfg.get("attention_head_dim", 8), nb)  # attention_head_dim = number of heads
    lpb = per_block(cfg.get("layers_per_block", 2), nb)
    tlp = per_block(cfg.get("transformer_layers_per_block", 1), nb)
    g, eps = cfg.get("norm_num_groups", 32), cfg.get("norm_eps", 1e-5)
    lin = cfg.get("use_linear_projection", False)
    c0 = boc[0]
    ted = cfg.get("time_embedding_dim") or 4 * c0
    # Timesteps(c0, flip_sin_to_cos, freq_shift) in float32, then cast to the model dtype
    half = c0 // 2
    exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32)
    exponent = exponent / (half - cfg.get("freq_shift", 0))
    args = timestep.float()[:, None] * torch.exp(exponent)[None]
    tp = torch.cat([torch.sin(args), torch.cos(args)], -1)
    if cfg.get("flip_sin_to_cos", True):
        tp = torch.cat([tp[:, half:], tp[:, :half]], -1)
    tp = tp.to(sample.dtype)
    emb = linear(P, "time_embedding.linear_2", F.silu(linear(P, "time_embedding.linear_1", tp, c0, ted)), ted, ted)
    dbg = {"time_proj": tp, "time_embedding": emb}
    if cfg.get("class_embed_type") == "simple_projection":
        ce = linear(P, "class_embedding", class_labels, class_labels.shape[1], ted)
        dbg["class_embedding"] = ce
        emb = torch.cat([emb, ce], -1) if cfg.get("class_embeddings_concat", False) else emb + ce
    x = 2 * sample - 1.0 if cfg.get("center_input_sample", False) else sample
    x = conv(P, "conv_in", x, c0, cfg.get("conv_in_kernel", 3))
    dbg["conv_in"] = x
    skips = [x]
    cad = per_block(cfg.get("cross_attention_dim", 1280), nb)
    for i, t in enumerate(cfg["down_block_types"]):
        out_ch, pre = boc[i], "down_blocks.%d" % i
        for l in range(lpb[i]):
            x = resnet(P, "%s.resnets.%d" % (pre, l), x, emb, out_ch, g, eps)
            if t == "CrossAttnDownBlock2D":
                assert ehs is not None or cad[i] == out_ch
                x = transformer2d(P, "%s.attentions.%d" % (pre, l), x, ehs, heads[i], g, tlp[i], lin)
            skips.append(x)
        if i < nb - 1:
            x = conv(P, pre + ".downsamplers.0.conv", x, out_ch, 3, stride=2, padding=cfg.get("downsample_padding", 1))
            skips.append(x)
        dbg["down_blocks.%d" % i] = x
    cl, msf = boc[-1], cfg.get("mid_block_scale_factor", 1)
    x = resnet(P, "mid_block.resnets.0", x, emb, cl, g, eps, msf)
    x = transformer2d(P, "mid_block.attentions.0", x, ehs, heads[-1], g, tlp[-1], lin)
    x = resnet(P, "mid_block.resnets.1", x, emb, cl, g, eps, msf)
    dbg["mid_block"] = x
    for i, t in enumerate(cfg["up_block_types"]):
        r = nb - 1 - i
        out_ch, pre = boc[r], "up_blocks.%d" % i
        for l in range(lpb[r] + 1):
            x = torch.cat([x, skips.pop()], 1)
            x = resnet(P, "%s.resnets.%d" % (pre, l), x, emb, out_ch, g, eps)
            if t == "CrossAttnUpBlock2D":
                x = transformer2d(P, "%s.attentions.%d" % (pre, l), x, ehs, heads[r], g, tlp[r], lin)
        if i < nb - 1:
            # upsample_size = the next skip's size (diffusers when H or W is not divisible; else 2x = the same)
            x = F.interpolate(x, size=skips[-1].shape[2:], mode="nearest")
            x = conv(P, pre + ".upsamplers.0.conv", x, out_ch, 3)
        dbg["up_blocks.%d" % i] = x
    x = gn(P, "conv_norm_out", x, g, eps)
    dbg["conv_norm_out"] = x
    x = conv(P, "conv_out", F.silu(x), cfg["out_channels"], cfg.get("conv_out_kernel", 3))
    return x, dbg


def run(cfg, weights, io, dtype):
    P = Params(weights, dtype=dtype)
    cast = lambda k: torch.tensor(io[k].astype(np.float64)).to(dtype) if k in io else None
    out, dbg = forward(P, cfg, cast("in.sample"), torch.tensor(io["in.timestep"]), cast("in.class_labels"),
                       cast("in.encoder_hidden_states"))
    return out.double().numpy(), dbg, sorted(set(P.t) - P.used)


def errors(got, ref):
    return float(np.abs(got - ref).max()), float(np.linalg.norm(got - ref) / np.linalg.norm(ref))


def round_up_1digit(x):
    e = math.floor(math.log10(x))
    m = math.ceil(x / 10 ** e - 1e-9)
    return float("%de%d" % (m, e)) if m < 10 else float("1e%d" % (e + 1))


VARIANTS = {
    "audioldm3": dict(
        config={"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.15.0.dev0", "act_fn": "silu",
                "attention_head_dim": [2, 3, 4], "block_out_channels": [8, 12, 20],
                "center_input_sample": False, "class_embed_type": "simple_projection",
                "class_embeddings_concat": True, "conv_in_kernel": 3, "conv_out_kernel": 3,
                "cross_attention_dim": [8, 12, 20],
                "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                "downsample_padding": 1, "dual_cross_attention": False, "flip_sin_to_cos": True, "freq_shift": 0,
                "in_channels": 8, "layers_per_block": 2, "mid_block_scale_factor": 1,
                "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 4,
                "num_class_embeds": None, "only_cross_attention": False, "out_channels": 8,
                "projection_class_embeddings_input_dim": 20, "resnet_time_scale_shift": "default",
                "sample_size": 8, "time_cond_proj_dim": None, "time_embedding_type": "positional",
                "timestep_post_act": None, "transformer_layers_per_block": [1, 2, 1],
                "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                "upcast_attention": False, "use_linear_projection": False},
        sample=(2, 8, 7, 10), timestep=[803.0, 41.0], class_dim=20, ehs=None,
        description="UNet2DConditionModel in AudioLDM's configuration (class_embed_type simple_projection, "
                    "class_embeddings_concat, cross_attention_dim = block_out_channels, encoder_hidden_states=None) "
                    "with 3 levels, layers_per_block 2, attention_head_dim [2, 3, 4] (head counts), "
                    "transformer_layers_per_block [1, 2, 1], 4 groups, batch 2, latent 7 x 10 (7 -> 4 -> 2, "
                    "10 -> 5 -> 3: the up blocks interpolate to the skip sizes)."),
    "sd": dict(
        config={"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.27.2", "act_fn": "silu",
                "attention_head_dim": 2, "block_out_channels": [8, 16],
                "cross_attention_dim": 12, "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
                "freq_shift": 1, "in_channels": 4, "layers_per_block": 1, "norm_num_groups": 4,
                "out_channels": 3, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
                "upcast_attention": True, "use_linear_projection": True},
        sample=(1, 4, 9, 6), timestep=[517.0], class_dim=0, ehs=(1, 5, 12),
        description="A Stable-Diffusion-style UNet2DConditionModel (sparse config, diffusers defaults): no class "
                    "embedding, encoder_hidden_states (1, 5, 12) as cross-attention context, "
                    "use_linear_projection (2-D proj_in/proj_out), upcast_attention, freq_shift 1, first level with "
                    "attention, batch 1, latent 9 x 6 (9 -> 5 -> 9)."),
    "wide": dict(
        config={"_class_name": "UNet2DConditionModel", "attention_head_dim": [2, 1], "block_out_channels": [16, 160],
                "class_embed_type": "simple_projection", "class_embeddings_concat": True,
                "cross_attention_dim": [16, 160], "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
                "in_channels": 8, "layers_per_block": 1, "norm_num_groups": 8, "out_channels": 8,
                "projection_class_embeddings_input_dim": 8, "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"]},
        sample=(1, 8, 5, 6), timestep=[250.0], class_dim=8, ehs=None,
        description="AudioLDM configuration with 160-wide attention heads (as audioldm-l-full's 1280 channels / 8 "
                    "heads at its lowest level): not shipped (20 MB), for a one-off check of the unfused attention."),
}


def make(variant, d, seed):
    v = VARIANTS[variant]
    cfg = v["config"]
    gen = torch.Generator().manual_seed(seed)
    io = {"in.sample": torch.randn(*v["sample"], generator=gen).float().numpy(),
          "in.timestep": np.array(v["timestep"], dtype=np.float32)}
    if v["class_dim"]:
        c = torch.randn(v["sample"][0], v["class_dim"], generator=gen).float().double()
        io["in.class_labels"] = (c / c.norm(dim=-1, keepdim=True)).float().numpy()  # unit rows, as AudioLDM's CLAP
    if v["ehs"]:
        io["in.encoder_hidden_states"] = torch.randn(*v["ehs"], generator=gen).float().numpy()
    P = Params(gen=gen)
    cast = lambda k: torch.tensor(io[k].astype(np.float64)) if k in io else None
    out, dbg = forward(P, cfg, cast("in.sample"), torch.tensor(io["in.timestep"]), cast("in.class_labels"),
                       cast("in.encoder_hidden_states"))
    weights = {k: t.float().numpy() for k, t in P.t.items()}
    out64 = out.numpy()
    out32, _, _ = run(cfg, weights, io, torch.float32)
    ea, er = errors(out32, out64)
    tol_abs = max(round_up_1digit(10 * ea), round_up_1digit(1e-6 * float(np.abs(out64).max())))
    tol_rel = round_up_1digit(10 * er)
    io["out.sample"] = out64.astype(np.float32)
    o = io["out.sample"].astype(np.float64)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    write_st(os.path.join(d, "weights.safetensors"), weights)
    write_st(os.path.join(d, "io.safetensors"), io)
    case = {
        "case": "unet2d_audioldm",
        "description": v["description"],
        "call": {"out.sample": "model(sample, timestep, encoder_hidden_states=%s, class_labels=%s).sample"
                               % ("encoder_hidden_states" if v["ehs"] else "None",
                                  "class_labels" if v["class_dim"] else "None")},
        "notes": "Generated by tools/unet2d_reference.py (make %s %s %d): an independent float64 re-implementation "
                 "of diffusers 0.27 UNet2DConditionModel semantics (no diffusers import); not a diffusers output. "
                 "The same script's 'check' mode reproduces the shipped unet2d_audioldm case." % (variant, d, seed),
        "seed": {"torch.Generator": seed},
        "holdout": False,
        "inputs": {k[3:]: {"shape": list(io[k].shape), "dtype": "float32"} for k in sorted(io) if k.startswith("in.")},
        "outputs": {"sample": {"shape": list(o.shape), "mean": float(o.mean()), "std": float(o.std(ddof=1)),
                               "max_abs": float(np.abs(o).max())}},
        "tolerance": {
            "recommended_max_abs": {"sample": tol_abs},
            "recommended_rel_l2": {"sample": tol_rel},
            "how": "the same reference run in float32 vs float64; recommended = 10x the measured error rounded up "
                   "to 1 significant digit (max_abs at least 1e-6*max|out|)",
            "measured": {"sample": {"max_abs_err_f32_vs_f64": ea, "rel_l2_err_f32_vs_f64": er}},
        },
        "param_count": int(sum(w.size for w in weights.values())),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }
    json.dump(case, open(os.path.join(d, "case.json"), "w"), indent=2)
    print("wrote %s: %d tensors (%d params), out max_abs %.3g std %.3g, f32-vs-f64 %.3g / %.3g -> tol %g / %g"
          % (d, len(weights), case["param_count"], np.abs(o).max(), o.std(), ea, er, tol_abs, tol_rel))


def main():
    mode = sys.argv[1]
    if mode == "check":
        d = sys.argv[2]
        cfg = json.load(open(os.path.join(d, "config.json")))
        out, dbg, unused = run(cfg, read_st(os.path.join(d, "weights.safetensors")), read_st(os.path.join(d, "io.safetensors")),
                               torch.float64)
        ref = read_st(os.path.join(d, "io.safetensors"))["out.sample"].astype(np.float64)
        ea, er = errors(out, ref)
        print("out.sample max_abs %.3g rel_l2 %.3g unused %s" % (ea, er, unused))
        dpath = os.path.join(d, "debug.safetensors")
        if os.path.exists(dpath):
            for k, want in read_st(dpath).items():
                name = k[4:]
                if name in dbg:
                    ea, er = errors(dbg[name].double().numpy(), want.astype(np.float64))
                    print("  %-16s max_abs %.3g rel_l2 %.3g" % (name, ea, er))
        return
    make(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 11)


if __name__ == "__main__":
    main()
