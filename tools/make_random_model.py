#!/usr/bin/python3
"""Writes a diffusers model directory with the REAL configs of a checkpoint and
random weights of exactly the shapes diffusers / transformers create for them.

  make_random_model.py OUT_DIR --from /work/shared/real-configs/<owner__repo>
                       [--dtype f16|f32] [--format safetensors|bin] [--seed N]
                            [--configs-from DIR]... [--tokenizer-from DIR]
  make_random_model.py --selftest     enumerations vs the golden checkpoints (names, shapes)
  make_random_model.py --list CONFIG  print the tensors a component config implies

Why: the real checkpoints (GBs) are not reachable from here, but their configs
are (/work/shared/real-configs, see SOURCES.md there). A directory with real
configs and right-shaped weights proves that vkreel's loaders accept a real
checkpoint's layout (every loader reports a missing, mis-shaped or unused
tensor by name, so a successful load is the proof) and lets `vkreel bench
model` measure load time, resident bytes, speed and memory at real size.

The tensor names and shapes are enumerated here from the architectures as
diffusers 0.15-0.27 / transformers 4.27-4.38 build them (UNet3DConditionModel,
UNet2DConditionModel, AutoencoderKL, CLIPTextModel, ClapTextModelWithProjection,
SpeechT5HifiGan), written from those libraries' semantics, independently of
vkreel's C loaders. `--selftest` checks the enumeration against the golden
checkpoints in tests/golden/ (saved by the real libraries) on their small
configs; the C loaders check it again at real size.

Init: weights N(0, std) with std = min(0.02, 1/sqrt(fan_in)) (so no layer
amplifies its input: activations stay finite in f16 through many steps),
biases 0, norm weights 1, embeddings N(0, 0.02). Values are meaningless; only
names, shapes and dtypes are real. Buffers that the real checkpoints carry are
written too (CLIP/CLAP position_ids, CLAP token_type_ids, HiFi-GAN mean/scale).

Config files: `*.reconstructed.json` in the source folder become their real
names (config.json, model_index.json, scheduler_config.json). Components
whose config the source folder lacks come from --configs-from (Zeroscope 576w:
only model_index.json is known; see docs/memory.md). Tokenizer files missing
from the source (vocab.json, merges.txt: the standard CLIP / RoBERTa BPE files)
are copied from the golden pipelines' tokenizers.

Formats: safetensors (streamed, one tensor in memory at a time) or a torch
zip `.bin` state dict written by torch.save (what zeroscope_v2_576w ships).

Run with Debian's /usr/bin/python3 (numpy; torch only for --format bin)."""
import argparse
import json
import math
import os
import shutil
import struct
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(REPO, "tests", "golden")


# ---------------------------------------------------------------- enumeration
# Each enumerator yields (name, shape, kind) with kind in
#   "w"    weight of a linear / conv (fan_in = prod(shape[1:]))
#   "wt"   weight of a ConvTranspose (in, out, k): fan_in = in * k / stride ~ use shape[0] * k
#   "b"    bias
#   "nw"   norm weight (1), "nb" norm bias (0)
#   "emb"  embedding table
#   "i64"  integer buffer: ("i64", values) as kind tuple


def linear(p, i, o, bias=True):
    yield p + ".weight", (o, i), "w"
    if bias:
        yield p + ".bias", (o,), "b"


def conv2d(p, i, o, k):
    yield p + ".weight", (o, i, k, k), "w"
    yield p + ".bias", (o,), "b"


def norm(p, c):
    yield p + ".weight", (c,), "nw"
    yield p + ".bias", (c,), "nb"


def attention(p, q_dim, heads, head_dim, ctx_dim=None, out_bias=True, qkv_bias=False):
    """diffusers Attention (attention_processor.Attention): to_q/k/v (no bias), to_out.0."""
    inner = heads * head_dim
    ctx_dim = ctx_dim or q_dim
    yield from linear(p + ".to_q", q_dim, inner, qkv_bias)
    yield from linear(p + ".to_k", ctx_dim, inner, qkv_bias)
    yield from linear(p + ".to_v", ctx_dim, inner, qkv_bias)
    yield from linear(p + ".to_out.0", inner, q_dim, out_bias)


def basic_transformer_block(p, dim, heads, head_dim, cross_dim):
    """BasicTransformerBlock: norm1, attn1 (self), norm2, attn2 (cross, or self
    when cross_dim is None), norm3, GEGLU feed-forward (inner 4 * dim)."""
    yield from norm(p + ".norm1", dim)
    yield from attention(p + ".attn1", dim, heads, head_dim)
    yield from norm(p + ".norm2", dim)
    yield from attention(p + ".attn2", dim, heads, head_dim, cross_dim)
    yield from norm(p + ".norm3", dim)
    yield from linear(p + ".ff.net.0.proj", dim, 8 * dim)
    yield from linear(p + ".ff.net.2", 4 * dim, dim)


def transformer_2d(p, c, heads, head_dim, cross_dim, use_linear_projection=False):
    """Transformer2DModel (continuous input, 1 layer): GroupNorm, proj_in (1x1
    conv unless use_linear_projection), block, proj_out."""
    inner = heads * head_dim
    yield from norm(p + ".norm", c)
    if use_linear_projection:
        yield from linear(p + ".proj_in", c, inner)
    else:
        yield from conv2d(p + ".proj_in", c, inner, 1)
    yield from basic_transformer_block(p + ".transformer_blocks.0", inner, heads, head_dim, cross_dim)
    if use_linear_projection:
        yield from linear(p + ".proj_out", inner, c)
    else:
        yield from conv2d(p + ".proj_out", inner, c, 1)


def transformer_temporal(p, c, heads, head_dim):
    """TransformerTemporalModel: GroupNorm, Linear proj_in, one block whose
    attn2 is a second self-attention (double_self_attention), Linear proj_out."""
    inner = heads * head_dim
    yield from norm(p + ".norm", c)
    yield from linear(p + ".proj_in", c, inner)
    yield from basic_transformer_block(p + ".transformer_blocks.0", inner, heads, head_dim, None)
    yield from linear(p + ".proj_out", inner, c)


def resnet(p, i, o, temb):
    """ResnetBlock2D: norm1, conv1, time_emb_proj (when temb), norm2, conv2,
    1x1 conv_shortcut when the channel count changes."""
    yield from norm(p + ".norm1", i)
    yield from conv2d(p + ".conv1", i, o, 3)
    if temb:
        yield from linear(p + ".time_emb_proj", temb, o)
    yield from norm(p + ".norm2", o)
    yield from conv2d(p + ".conv2", o, o, 3)
    if i != o:
        yield from conv2d(p + ".conv_shortcut", i, o, 1)


def temporal_conv(p, c):
    """TemporalConvLayer: conv1 = (GroupNorm, SiLU, Conv3d), conv2..4 = (GroupNorm,
    SiLU, Dropout, Conv3d) with kernel (3, 1, 1)."""
    for i, idx in ((1, 2), (2, 3), (3, 3), (4, 3)):
        yield from norm("%s.conv%d.0" % (p, i), c)
        yield "%s.conv%d.%d.weight" % (p, i, idx), (c, c, 3, 1, 1), "w"
        yield "%s.conv%d.%d.bias" % (p, i, idx), (c,), "b"


def per_block(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def up_channels(boc, i, lpb, l):
    """(resnet in = previous + skip, out) of up block i, layer l (diffusers get_up_block)."""
    rb = boc[::-1]
    nb = len(boc)
    prev = rb[max(i - 1, 0)]
    out = rb[i]
    inp = rb[min(i + 1, nb - 1)]
    skip = inp if l == lpb else out
    res_in = prev if l == 0 else out
    return res_in + skip, out


def unet3d(cfg):
    """diffusers UNet3DConditionModel. Heads: num_attention_heads or
    attention_head_dim (the historical naming mix-up): blocks use
    Transformer2DModel(C // head_dim heads, head_dim), transformer_in has 8 heads.
    unet_3d_blocks.get_down_block / get_up_block default use_linear_projection
    to True, so the spatial transformers' proj_in / proj_out are Linear (2-D
    weights), unlike UNet2DConditionModel's 1x1 convs."""
    boc = cfg.get("block_out_channels", [320, 640, 1280, 1280])
    nb = len(boc)
    lpb = cfg.get("layers_per_block", 2)
    ahd = per_block(cfg.get("num_attention_heads") or cfg.get("attention_head_dim", 64), nb)
    cross = cfg.get("cross_attention_dim", 1024)
    c0 = boc[0]
    temb = 4 * c0
    yield from conv2d("conv_in", cfg.get("in_channels", 4), c0, 3)
    yield from linear("time_embedding.linear_1", c0, temb)
    yield from linear("time_embedding.linear_2", temb, temb)
    yield from transformer_temporal("transformer_in", c0, 8, ahd[0])
    prev = c0
    for i, t in enumerate(cfg["down_block_types"]):
        out = boc[i]
        for l in range(lpb):
            p = "down_blocks.%d" % i
            yield from resnet("%s.resnets.%d" % (p, l), prev if l == 0 else out, out, temb)
            yield from temporal_conv("%s.temp_convs.%d" % (p, l), out)
            if t == "CrossAttnDownBlock3D":
                yield from transformer_2d("%s.attentions.%d" % (p, l), out, out // ahd[i], ahd[i], cross, True)
                yield from transformer_temporal("%s.temp_attentions.%d" % (p, l), out, out // ahd[i], ahd[i])
        if i < nb - 1:
            yield from conv2d("down_blocks.%d.downsamplers.0.conv" % i, out, out, 3)
        prev = out
    cl, hl = boc[-1], ahd[-1]
    for r in range(2):
        yield from resnet("mid_block.resnets.%d" % r, cl, cl, temb)
        yield from temporal_conv("mid_block.temp_convs.%d" % r, cl)
    yield from transformer_2d("mid_block.attentions.0", cl, cl // hl, hl, cross, True)
    yield from transformer_temporal("mid_block.temp_attentions.0", cl, cl // hl, hl)
    rh = ahd[::-1]
    for i, t in enumerate(cfg["up_block_types"]):
        for l in range(lpb + 1):
            p = "up_blocks.%d" % i
            cin, out = up_channels(boc, i, lpb, l)
            yield from resnet("%s.resnets.%d" % (p, l), cin, out, temb)
            yield from temporal_conv("%s.temp_convs.%d" % (p, l), out)
            if t == "CrossAttnUpBlock3D":
                yield from transformer_2d("%s.attentions.%d" % (p, l), out, out // rh[i], rh[i], cross, True)
                yield from transformer_temporal("%s.temp_attentions.%d" % (p, l), out, out // rh[i], rh[i])
        if i < nb - 1:
            out = boc[::-1][i]
            yield from conv2d("up_blocks.%d.upsamplers.0.conv" % i, out, out, 3)
    yield from norm("conv_norm_out", c0)
    yield from conv2d("conv_out", c0, cfg.get("out_channels", 4), 3)


def unet2d(cfg):
    """diffusers UNet2DConditionModel as AudioLDM configures it (0.15-0.27):
    attention_head_dim is the HEAD COUNT per block (heads of C // n channels);
    per-block cross_attention_dim; simple_projection class embedding, concatenated
    to the time embedding when class_embeddings_concat (resnets then see 2x temb)."""
    boc = cfg["block_out_channels"]
    nb = len(boc)
    lpb = cfg.get("layers_per_block", 2)
    heads = per_block(cfg.get("attention_head_dim", 8), nb)
    cross = per_block(cfg.get("cross_attention_dim", 1280), nb)
    ulp = cfg.get("use_linear_projection", False)
    c0 = boc[0]
    temb = 4 * c0
    k_in, k_out = cfg.get("conv_in_kernel", 3), cfg.get("conv_out_kernel", 3)
    yield from conv2d("conv_in", cfg.get("in_channels", 4), c0, k_in)
    yield from linear("time_embedding.linear_1", c0, temb)
    yield from linear("time_embedding.linear_2", temb, temb)
    cet = cfg.get("class_embed_type")
    if cet == "simple_projection":
        yield from linear("class_embedding", cfg["projection_class_embeddings_input_dim"], temb)
    elif cet is not None:
        raise SystemExit("unet2d: class_embed_type %r not enumerated" % cet)
    rtemb = 2 * temb if cfg.get("class_embeddings_concat") else temb
    prev = c0
    for i, t in enumerate(cfg["down_block_types"]):
        out = boc[i]
        for l in range(lpb):
            p = "down_blocks.%d" % i
            yield from resnet("%s.resnets.%d" % (p, l), prev if l == 0 else out, out, rtemb)
            if t == "CrossAttnDownBlock2D":
                yield from transformer_2d("%s.attentions.%d" % (p, l), out, heads[i], out // heads[i], cross[i], ulp)
            elif t != "DownBlock2D":
                raise SystemExit("unet2d: down block %r not enumerated" % t)
        if i < nb - 1:
            yield from conv2d("down_blocks.%d.downsamplers.0.conv" % i, out, out, 3)
        prev = out
    cl = boc[-1]
    yield from resnet("mid_block.resnets.0", cl, cl, rtemb)
    yield from transformer_2d("mid_block.attentions.0", cl, heads[-1], cl // heads[-1], cross[-1], ulp)
    yield from resnet("mid_block.resnets.1", cl, cl, rtemb)
    rheads, rcross = heads[::-1], cross[::-1]
    for i, t in enumerate(cfg["up_block_types"]):
        for l in range(lpb + 1):
            p = "up_blocks.%d" % i
            cin, out = up_channels(boc, i, lpb, l)
            yield from resnet("%s.resnets.%d" % (p, l), cin, out, rtemb)
            if t == "CrossAttnUpBlock2D":
                yield from transformer_2d("%s.attentions.%d" % (p, l), out, rheads[i], out // rheads[i], rcross[i], ulp)
            elif t != "UpBlock2D":
                raise SystemExit("unet2d: up block %r not enumerated" % t)
        if i < nb - 1:
            out = boc[::-1][i]
            yield from conv2d("up_blocks.%d.upsamplers.0.conv" % i, out, out, 3)
    yield from norm("conv_norm_out", c0)
    yield from conv2d("conv_out", c0, cfg.get("out_channels", 4), k_out)


def vae_attention(p, c, legacy):
    """The VAE mid-block attention (1 head over c channels, biased projections).
    legacy: the pre-0.14 AttentionBlock names (query/key/value/proj_attn) that
    older checkpoints still carry."""
    yield from norm(p + ".group_norm", c)
    names = ("query", "key", "value", "proj_attn") if legacy else ("to_q", "to_k", "to_v", "to_out.0")
    for n in names:
        yield from linear(p + "." + n, c, c)


def autoencoder_kl(cfg, legacy_attention=False):
    """diffusers AutoencoderKL: encoder, quant_conv, post_quant_conv, decoder."""
    boc = cfg["block_out_channels"]
    nb = len(boc)
    lpb = cfg.get("layers_per_block", 1)
    lat = cfg.get("latent_channels", 4)
    yield from conv2d("encoder.conv_in", cfg.get("in_channels", 3), boc[0], 3)
    prev = boc[0]
    for i in range(nb):
        out = boc[i]
        for l in range(lpb):
            yield from resnet("encoder.down_blocks.%d.resnets.%d" % (i, l), prev if l == 0 else out, out, 0)
        if i < nb - 1:
            yield from conv2d("encoder.down_blocks.%d.downsamplers.0.conv" % i, out, out, 3)
        prev = out
    for coder in ("encoder", "decoder"):
        if coder == "decoder":
            yield from conv2d("decoder.conv_in", lat, boc[-1], 3)
        yield from resnet(coder + ".mid_block.resnets.0", boc[-1], boc[-1], 0)
        if cfg.get("mid_block_add_attention", True):
            yield from vae_attention(coder + ".mid_block.attentions.0", boc[-1], legacy_attention)
        yield from resnet(coder + ".mid_block.resnets.1", boc[-1], boc[-1], 0)
        if coder == "encoder":
            yield from norm("encoder.conv_norm_out", boc[-1])
            yield from conv2d("encoder.conv_out", boc[-1], 2 * lat, 3)
    rb = boc[::-1]
    prev = rb[0]
    for i in range(nb):
        out = rb[i]
        for l in range(lpb + 1):
            yield from resnet("decoder.up_blocks.%d.resnets.%d" % (i, l), prev if l == 0 else out, out, 0)
        if i < nb - 1:
            yield from conv2d("decoder.up_blocks.%d.upsamplers.0.conv" % i, out, out, 3)
        prev = out
    yield from norm("decoder.conv_norm_out", boc[0])
    yield from conv2d("decoder.conv_out", boc[0], cfg.get("out_channels", 3), 3)
    if cfg.get("use_quant_conv", True):
        yield from conv2d("quant_conv", 2 * lat, 2 * lat, 1)
    if cfg.get("use_post_quant_conv", True):
        yield from conv2d("post_quant_conv", lat, lat, 1)


def clip_text(cfg, position_ids=True):
    """transformers CLIPTextModel. position_ids: the persistent buffer that
    checkpoints saved by transformers < 4.31 carry (ms-1.7b: 4.27)."""
    d, ff = cfg.get("hidden_size", 512), cfg.get("intermediate_size", 2048)
    yield "text_model.embeddings.token_embedding.weight", (cfg.get("vocab_size", 49408), d), "emb"
    npos = cfg.get("max_position_embeddings", 77)
    yield "text_model.embeddings.position_embedding.weight", (npos, d), "emb"
    if position_ids:
        yield "text_model.embeddings.position_ids", (1, npos), ("i64", "arange")
    for i in range(cfg.get("num_hidden_layers", 12)):
        p = "text_model.encoder.layers.%d" % i
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            yield from linear("%s.self_attn.%s" % (p, n), d, d)
        yield from norm(p + ".layer_norm1", d)
        yield from linear(p + ".mlp.fc1", d, ff)
        yield from linear(p + ".mlp.fc2", ff, d)
        yield from norm(p + ".layer_norm2", d)
    yield from norm("text_model.final_layer_norm", d)


def clap_text(cfg):
    """transformers ClapTextModelWithProjection (RoBERTa body + pooler +
    2-layer projection) with its persistent position_ids / token_type_ids buffers."""
    d, ff = cfg.get("hidden_size", 768), cfg.get("intermediate_size", 3072)
    npos = cfg.get("max_position_embeddings", 514)
    proj = cfg.get("projection_dim", 512)
    e = "text_model.embeddings"
    yield e + ".word_embeddings.weight", (cfg.get("vocab_size", 50265), d), "emb"
    yield e + ".position_embeddings.weight", (npos, d), "emb"
    yield e + ".token_type_embeddings.weight", (cfg.get("type_vocab_size", 1), d), "emb"
    yield from norm(e + ".LayerNorm", d)
    yield e + ".position_ids", (1, npos), ("i64", "arange")
    yield e + ".token_type_ids", (1, npos), ("i64", "zeros")
    for i in range(cfg.get("num_hidden_layers", 12)):
        p = "text_model.encoder.layer.%d" % i
        for n in ("query", "key", "value"):
            yield from linear("%s.attention.self.%s" % (p, n), d, d)
        yield from linear(p + ".attention.output.dense", d, d)
        yield from norm(p + ".attention.output.LayerNorm", d)
        yield from linear(p + ".intermediate.dense", d, ff)
        yield from linear(p + ".output.dense", ff, d)
        yield from norm(p + ".output.LayerNorm", d)
    yield from linear("text_model.pooler.dense", d, d)
    yield from linear("text_projection.linear1", d, proj)
    yield from linear("text_projection.linear2", proj, proj)


def hifigan(cfg):
    """transformers SpeechT5HifiGan: conv_pre, ConvTranspose1d upsamplers
    (in, out, k), resblocks (3 dilated convs1 + 3 convs2 each), conv_post,
    mean / scale buffers."""
    ch = cfg.get("upsample_initial_channel", 512)
    mels = cfg.get("model_in_dim", 80)
    rks = cfg.get("resblock_kernel_sizes", [3, 7, 11])
    dil = cfg.get("resblock_dilation_sizes", [[1, 3, 5]] * 3)
    yield "conv_pre.weight", (ch, mels, 7), "w"
    yield "conv_pre.bias", (ch,), "b"
    for i, k in enumerate(cfg.get("upsample_kernel_sizes", [16, 16, 8, 8])):
        o = ch // 2 ** (i + 1)
        yield "upsampler.%d.weight" % i, (ch // 2 ** i, o, k), "wt"
        yield "upsampler.%d.bias" % i, (o,), "b"
    n_up = len(cfg.get("upsample_kernel_sizes", [16, 16, 8, 8]))
    r = 0
    for i in range(n_up):
        c = ch // 2 ** (i + 1)
        for k, dl in zip(rks, dil):
            for s in ("convs1", "convs2"):
                for j in range(len(dl)):
                    yield "resblocks.%d.%s.%d.weight" % (r, s, j), (c, c, k), "w"
                    yield "resblocks.%d.%s.%d.bias" % (r, s, j), (c,), "b"
            r += 1
    last = ch // 2 ** n_up
    yield "conv_post.weight", (1, last, 7), "w"
    yield "conv_post.bias", (1,), "b"
    yield "mean", (mels,), "nb"
    yield "scale", (mels,), "nw"


ENUMERATORS = {
    "UNet3DConditionModel": unet3d,
    "UNet2DConditionModel": unet2d,
    "AutoencoderKL": autoencoder_kl,
    "CLIPTextModel": clip_text,
    "ClapTextModelWithProjection": clap_text,
    "SpeechT5HifiGan": hifigan,
}


def class_of(cfg):
    return cfg.get("_class_name") or (cfg.get("architectures") or [None])[0]


# ---------------------------------------------------------------- values


def values(rng, shape, kind, dtype):
    if isinstance(kind, tuple):  # integer buffer
        n = int(np.prod(shape))
        v = np.arange(n, dtype="<i8") if kind[1] == "arange" else np.zeros(n, dtype="<i8")
        return v.reshape(shape)
    if kind in ("b", "nb"):
        return np.zeros(shape, dtype)
    if kind == "nw":
        return np.ones(shape, dtype)
    if kind == "emb":
        std = 0.02
    else:
        fan_in = shape[0] * shape[2] if kind == "wt" else int(np.prod(shape[1:]))
        std = min(0.02, 1.0 / math.sqrt(fan_in))
    out = np.empty(shape, dtype)
    flat = out.reshape(-1)
    step = 1 << 24  # bounded temporaries for the 50 M-element embedding-sized tensors
    for s in range(0, flat.size, step):
        n = min(step, flat.size - s)
        flat[s:s + n] = rng.standard_normal(n, dtype=np.float32) * np.float32(std)
    return out


ST_DTYPE = {np.dtype("<f2"): "F16", np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}


def tensor_dtype(kind, dtype):
    return np.dtype("<i8") if isinstance(kind, tuple) else dtype


def write_safetensors(path, entries, dtype, rng):
    """Streams: header from the shapes, then one tensor at a time."""
    header, off = {}, 0
    for name, shape, kind in entries:
        dt = tensor_dtype(kind, dtype)
        n = int(np.prod(shape)) * dt.itemsize
        header[name] = {"dtype": ST_DTYPE[dt], "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb)
        for name, shape, kind in entries:
            f.write(values(rng, shape, kind, tensor_dtype(kind, dtype)).tobytes())
    os.replace(tmp, path)
    return off


def write_bin(path, entries, dtype, rng):
    import torch  # only here: the safetensors path needs numpy alone
    sd = {}
    total = 0
    for name, shape, kind in entries:
        a = values(rng, shape, kind, tensor_dtype(kind, dtype))
        sd[name] = torch.from_numpy(a)
        total += a.nbytes
    tmp = path + ".tmp"
    torch.save(sd, tmp)  # zip format (torch >= 1.6), stored entries: what model/torch_bin.c reads
    os.replace(tmp, path)
    return total


# ---------------------------------------------------------------- directory

CONFIG_NAMES = {"config.reconstructed.json": "config.json",
                "model_index.reconstructed.json": "model_index.json",
                "scheduler_config.reconstructed.json": "scheduler_config.json"}
GOLDEN_TOKENIZER = {"CLIPTokenizer": "pipeline_t2v", "RobertaTokenizerFast": "pipeline_audioldm",
                    "RobertaTokenizer": "pipeline_audioldm"}
# Weight file names as the hub repos use them.
WEIGHT_STEM = {"diffusers": "diffusion_pytorch_model", "transformers": None}


def copy_configs(src, dst, notes):
    """Copies every JSON of src/<component>/ (renaming *.reconstructed.json)."""
    if not os.path.isdir(src):
        return
    for fn in sorted(os.listdir(src)):
        if fn.endswith(".json"):
            shutil.copyfile(os.path.join(src, fn), os.path.join(dst, CONFIG_NAMES.get(fn, fn)))
            if fn in CONFIG_NAMES:
                notes.append("%s/%s: RECONSTRUCTED (renamed)" % (os.path.basename(dst), fn))


def find_config(src, comp):
    d = os.path.join(src, comp)
    for fn in ("config.json", "config.reconstructed.json", "scheduler_config.json",
               "scheduler_config.reconstructed.json"):
        if os.path.exists(os.path.join(d, fn)):
            return d
    return None


def make(args):
    src = args.src
    mi_path = next((os.path.join(src, f) for f in ("model_index.json", "model_index.reconstructed.json")
                    if os.path.exists(os.path.join(src, f))), None)
    if not mi_path:
        raise SystemExit("%s: no model_index.json" % src)
    mi = json.load(open(mi_path))
    dtype = np.dtype("<f2") if args.dtype == "f16" else np.dtype("<f4")
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    shutil.copyfile(mi_path, os.path.join(args.out, "model_index.json"))
    notes = ["model_index.json: from %s" % mi_path]
    report = {}
    for comp, spec in mi.items():
        if comp.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        lib, cls = spec
        dst = os.path.join(args.out, comp)
        os.makedirs(dst, exist_ok=True)
        csrc = next(filter(None, (find_config(d, comp) for d in [src] + args.configs_from)), None)
        if comp == "tokenizer":
            tdir = next((os.path.join(d, comp) for d in [src] + args.configs_from
                         if os.path.isdir(os.path.join(d, comp))), None)
            if tdir:
                copy_configs(tdir, dst, notes)
                if tdir != os.path.join(src, comp):
                    notes.append("tokenizer/*.json: from %s" % tdir)
            gdir = args.tokenizer_from or os.path.join(GOLDEN, GOLDEN_TOKENIZER.get(cls, ""), "tokenizer")
            for fn in sorted(os.listdir(gdir)):
                if not os.path.exists(os.path.join(dst, fn)):
                    shutil.copyfile(os.path.join(gdir, fn), os.path.join(dst, fn))
                    notes.append("tokenizer/%s: from %s" % (fn, gdir))
            continue
        if not csrc:
            raise SystemExit("%s: no config for component %r (pass --configs-from)" % (src, comp))
        if csrc != os.path.join(src, comp):
            notes.append("%s/: configs from %s" % (comp, csrc))
        copy_configs(csrc, dst, notes)
        if comp == "scheduler":
            continue
        cfg = json.load(open(os.path.join(dst, "config.json")))
        enum = ENUMERATORS.get(cls) or ENUMERATORS.get(class_of(cfg))
        if not enum:
            raise SystemExit("component %s: class %s has no enumerator" % (comp, cls))
        kw = {"legacy_attention": True} if enum is autoencoder_kl and args.legacy_vae_attention else {}
        entries = list(enum(cfg, **kw))
        names = [e[0] for e in entries]
        assert len(set(names)) == len(names), "duplicate tensor names in %s" % comp
        stem = "diffusion_pytorch_model" if lib == "diffusers" else ("model" if args.format == "safetensors"
                                                                      else "pytorch_model")
        ext = ".safetensors" if args.format == "safetensors" else ".bin"
        path = os.path.join(dst, stem + ext)
        writer = write_safetensors if args.format == "safetensors" else write_bin
        nbytes = writer(path, entries, dtype, rng)
        params = sum(int(np.prod(s)) for _, s, k in entries if not isinstance(k, tuple))
        report[comp] = {"class": cls, "tensors": len(entries), "params": params, "bytes": nbytes,
                        "file": os.path.relpath(path, args.out)}
        print("%-13s %-28s %5d tensors %13d params  %6.2f GB  %s" % (comp, cls, len(entries), params, nbytes / 1e9,
                                                                      report[comp]["file"]), flush=True)
    with open(os.path.join(args.out, "RANDOM_WEIGHTS.json"), "w") as f:
        json.dump({"from": os.path.abspath(src), "configs_from": args.configs_from, "dtype": args.dtype,
                   "format": args.format, "seed": args.seed, "components": report, "notes": notes}, f, indent=2)
    for n in notes:
        print("note:", n)


# ---------------------------------------------------------------- self-test


def st_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return {k: tuple(v["shape"]) for k, v in h.items()}


def selftest():
    """The enumerations on the golden configs must give exactly the golden
    checkpoints' tensor names and shapes (those files were saved by diffusers /
    transformers). Buffers the golden files lack (CLIP position_ids: saved by
    transformers < 4.31 only) are the only allowed difference."""
    cases = [("pipeline_t2v/unet", "diffusion_pytorch_model.safetensors", unet3d, {}),
             ("pipeline_t2v/vae", "diffusion_pytorch_model.safetensors", autoencoder_kl, {}),
             ("pipeline_t2v/text_encoder", "model.safetensors", clip_text, {"position_ids": False}),
             ("pipeline_audioldm/unet", "diffusion_pytorch_model.safetensors", unet2d, {}),
             ("pipeline_audioldm/vae", "diffusion_pytorch_model.safetensors", autoencoder_kl, {}),
             ("pipeline_audioldm/text_encoder", "model.safetensors", clap_text, {}),
             ("pipeline_audioldm/vocoder", "model.safetensors", hifigan, {})]
    bad = 0
    for d, fn, enum, kw in cases:
        cfg = json.load(open(os.path.join(GOLDEN, d, "config.json")))
        want = st_header(os.path.join(GOLDEN, d, fn))
        got = {n: tuple(s) for n, s, _ in enum(cfg, **kw)}
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        shape = sorted(n for n in set(want) & set(got) if want[n] != got[n])
        ok = not (missing or extra or shape)
        bad += not ok
        print("%-32s %4d tensors  %s" % (d, len(want), "ok" if ok else "MISMATCH"))
        for n in missing[:10]:
            print("   not enumerated:", n, want[n])
        for n in extra[:10]:
            print("   not in golden:", n, got[n])
        for n in shape[:10]:
            print("   shape:", n, "golden", want[n], "enumerated", got[n])
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--from", dest="src")
    ap.add_argument("--configs-from", action="append", default=[],
                    help="configs for components the --from folder lacks (repeat: searched in order)")
    ap.add_argument("--tokenizer-from", help="folder with vocab.json / merges.txt (default: golden)")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    ap.add_argument("--format", choices=["safetensors", "bin"], default="safetensors")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--legacy-vae-attention", action="store_true",
                    help="VAE attention as query/key/value/proj_attn (pre-0.14 AttentionBlock names)")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--list", metavar="CONFIG")
    args = ap.parse_args()
    if args.selftest:
        return selftest()
    if args.list:
        cfg = json.load(open(args.list))
        total = 0
        for n, s, k in ENUMERATORS[class_of(cfg)](cfg):
            print(n, list(s))
            total += 0 if isinstance(k, tuple) else int(np.prod(s))
        print("# %d parameters" % total)
        return 0
    if not args.out or not args.src:
        ap.error("OUT_DIR and --from are required")
    make(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
