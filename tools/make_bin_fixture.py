#!/usr/bin/python3
"""Generates the PyTorch .bin test fixtures in tests/model/ (committed; rerun
only to change them). Needs Debian's python3-torch (run with /usr/bin/python3).

  torch_small.bin            torch.save of a small state dict: every dtype, a
                             transposed view, slices of one shared storage, a
                             strided slice, an expanded (stride 0) view, a
                             Parameter, a scalar, an empty tensor, _metadata
  torch_small.json           what the C reader must find: name, dtype, shape and
                             the values (as Python floats/ints), from torch itself
  torch_small_p4.bin         the same with pickle protocol 4 (SHORT_BINUNICODE,
                             STACK_GLOBAL, MEMOIZE, FRAME)
  torch_small_zip64.bin      the same archive rewritten with zip64 records (all
                             sizes and offsets in zip64 extra fields, zip64 end
                             of central directory), as torch writes files > 4 GiB
  torch_nested.bin           {"state_dict": {...}} (training-checkpoint wrapper)
  clap_text.fp16.bin         tests/golden/clap_text/weights.safetensors (read with numpy,
                             not with vkreel) converted by torch to float16 (I64 buffers
                             kept): a real state dict, and torch's own f32->f16 rounding
  bad/*.bin + bad/expected.json   files the reader must reject with VKR_E_DATA,
                             each with a substring the error message must contain
"""
import io
import json
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "model")
DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
      torch.uint8: "U8", torch.bool: "BOOL"}


def state_dict():
    g = torch.Generator().manual_seed(1234)
    sd = OrderedDict()
    sd["conv.weight"] = torch.randn(3, 2, 3, 3, generator=g)
    sd["conv.bias"] = torch.tensor([0.5, -1.25, 3.0])
    sd["half"] = torch.tensor([1.0, -2.5, 65504.0, 6.1e-5, 0.0], dtype=torch.float16)
    sd["bfloat"] = torch.tensor([1.0, -3.140625, 1e30], dtype=torch.bfloat16)
    sd["double"] = torch.tensor([0.1, -7.0], dtype=torch.float64)
    sd["position_ids"] = torch.arange(7, dtype=torch.int64).unsqueeze(0)
    sd["big_ids"] = torch.tensor([-5, 0, 2**40], dtype=torch.int64)
    sd["i32"] = torch.tensor([-70000, 3], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-5, 7], dtype=torch.int8)
    sd["u8"] = torch.tensor([250, 1], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    base = torch.arange(12, dtype=torch.float32) * 0.25 - 1.0
    sd["shared.a"] = base[2:6]                 # storage offset 2, contiguous
    sd["shared.b"] = base[6:].view(2, 3)       # same storage, offset 6
    sd["shared.strided"] = base[1::3]          # stride 3
    m = torch.randn(4, 5, generator=g)
    sd["matrix"] = m
    sd["matrix_t"] = m.t()                     # same storage, strides (1, 5)
    sd["expanded"] = torch.tensor([1.0, 2.0, 3.0]).expand(2, 3)  # stride (0, 1)
    sd["param"] = torch.nn.Parameter(torch.tensor([[0.75, -0.5]]))  # _rebuild_parameter
    sd["scalar"] = torch.tensor(42.0)
    sd["empty"] = torch.zeros(0, 3)
    sd._metadata = OrderedDict({"": {"version": 1}, "conv": {"version": 1}})  # BUILD
    return sd


def read_safetensors(path):
    import numpy as np
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    dt = {"F32": "<f4", "I64": "<i8"}
    return OrderedDict((k, np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                         dt[v["dtype"]]).reshape(v["shape"]).copy())
                       for k, v in sorted(h.items()))


def describe(sd):
    out = OrderedDict()
    for k, v in sd.items():
        v = v.detach()
        vals = v.reshape(-1).tolist() if v.dtype != torch.bool else [int(x) for x in v.reshape(-1).tolist()]
        if v.dtype in (torch.float16, torch.bfloat16):
            vals = v.float().reshape(-1).tolist()
        out[k] = {"dtype": DT[v.dtype], "shape": list(v.shape), "values": vals}
    return out


def zip64_rewrite(src, dst):
    """Rewrites a stored zip so every central-directory size/offset lives in a
    zip64 extra field, with a zip64 end-of-central-directory record."""
    data = open(src, "rb").read()
    zf = zipfile.ZipFile(io.BytesIO(data))
    out = bytearray()
    central = bytearray()
    for info in zf.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        payload = zf.read(info.filename)
        name = info.filename.encode()
        off = len(out)
        # Local header: sizes as zip64 markers with a zip64 extra (as miniz does for big entries).
        lextra = struct.pack("<HHQQ", 1, 16, len(payload), len(payload))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, info.CRC, 0xFFFFFFFF,
                           0xFFFFFFFF, len(name), len(lextra)) + name + lextra + payload
        cextra = struct.pack("<HHQQQ", 1, 24, len(payload), len(payload), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, info.CRC,
                               0xFFFFFFFF, 0xFFFFFFFF, len(name), len(cextra), 0, 0, 0, 0,
                               0xFFFFFFFF) + name + cextra
    cd_off = len(out)
    out += central
    z64 = len(out)
    n = len(zf.infolist())
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    open(dst, "wb").write(out)
    # Python's zipfile must read it back identically.
    back = zipfile.ZipFile(dst)
    for info in zf.infolist():
        assert back.read(info.filename) == zf.read(info.filename)


def archive(pkl, storages, path, compress=zipfile.ZIP_STORED):
    """A torch-style archive from hand-made pickle bytes and storage blobs."""
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr("archive/data.pkl", pkl)
        for key, blob in storages.items():
            z.writestr("archive/data/" + key, blob)
        z.writestr("archive/version", "3\n")


# --- hand-assembled pickles for the hostile corpus -------------------------
def u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def G(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def tensor(key, numel, offset, size, stride, storage="FloatStorage"):
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    pid = b"(" + u("storage") + G("torch", storage) + u(key) + u("cpu") + b"J" + struct.pack("<i", numel) + b"tQ"
    return (G("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"J" + struct.pack("<i", offset) +
            tup(size) + tup(stride) + b"\x89" + G("collections", "OrderedDict") + b")Rt" + b"R")


def sd_pickle(items):
    return b"\x80\x02" + G("collections", "OrderedDict") + b")R(" + b"".join(u(k) + v for k, v in items) + b"u."


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    os.makedirs(os.path.join(OUT, "bad"), exist_ok=True)
    sd = state_dict()
    torch.save(sd, os.path.join(OUT, "torch_small.bin"))
    torch.save(sd, os.path.join(OUT, "torch_small_p4.bin"), pickle_protocol=4)
    zip64_rewrite(os.path.join(OUT, "torch_small.bin"), os.path.join(OUT, "torch_small_zip64.bin"))
    torch.save({"state_dict": OrderedDict(w=torch.tensor([1.0, 2.0]))}, os.path.join(OUT, "torch_nested.bin"))
    golden = read_safetensors(os.path.join(OUT, "..", "golden", "clap_text", "weights.safetensors"))
    half = OrderedDict((k, torch.from_numpy(v).half() if v.dtype.kind == "f" else torch.from_numpy(v))
                       for k, v in golden.items())
    torch.save(half, os.path.join(OUT, "clap_text.fp16.bin"))
    with open(os.path.join(OUT, "torch_small.json"), "w") as f:
        json.dump(describe(sd), f, indent=1)
        f.write("\n")
    # The reader must agree with torch.load on every file it accepts.
    for name in ("torch_small.bin", "torch_small_p4.bin", "torch_small_zip64.bin"):
        back = torch.load(os.path.join(OUT, name))
        assert all(torch.equal(back[k], sd[k]) for k in sd), name

    bad = OrderedDict()
    d = os.path.join(OUT, "bad")
    f4 = struct.pack("<4f", 1, 2, 3, 4)

    def put(name, expect, pkl=None, storages=None, raw=None, compress=zipfile.ZIP_STORED):
        p = os.path.join(d, name)
        if raw is not None:
            open(p, "wb").write(raw)
        else:
            archive(pkl, storages or {}, p, compress)
        bad[name] = expect

    # A real torch.save of an object whose __reduce__ calls os.system.
    torch.save({"w": torch.ones(2), "evil": Evil()}, os.path.join(d, "evil_os_system.bin"))
    bad["evil_os_system.bin"] = "global 'posix.system' is not allowed"
    put("evil_eval.bin", "global 'builtins.eval' is not allowed",
        b"\x80\x04" + b"\x8c\x08builtins\x8c\x04eval\x93" + b"\x8c\x041+1\x85R.")
    put("inst_opcode.bin", "opcode 0x69 (INST)", b"\x80\x02(ios\nsystem\n.")
    put("newobj.bin", "NEWOBJ", b"\x80\x02" + G("collections", "OrderedDict") + b")\x81.")
    put("view_past_storage.bin", "'w': view",
        sd_pickle([("w", tensor("0", 4, 2, [3], [1]))]), {"0": f4})
    put("storage_missing.bin", "'w': storage record 'archive/data/7' is missing",
        sd_pickle([("w", tensor("7", 4, 0, [4], [1]))]), {"0": f4})
    put("storage_size.bin", "'w': storage 'archive/data/0' holds 16 bytes",
        sd_pickle([("w", tensor("0", 8, 0, [8], [1]))]), {"0": f4})
    put("memo_unset.bin", "memo index 5 was never stored", b"\x80\x02h\x05.")
    put("not_a_tensor.bin", "entry 'n' is a int, not a tensor", sd_pickle([("n", b"K\x05")]))
    put("no_stop.bin", "pickle ends without STOP", b"\x80\x02" + G("collections", "OrderedDict") + b")R")
    put("stack_underflow.bin", "stack underflow", b"\x80\x02R.")
    put("list_root.bin", "holds a list, not a state dict", b"\x80\x02].")
    put("storage_reduce.bin", "REDUCE on a storage type", b"\x80\x02" + G("torch", "FloatStorage") + b")R.")
    put("compressed.bin", "is compressed (method 8)",
        sd_pickle([("w", tensor("0", 4, 0, [4], [1]))]), {"0": f4}, compress=zipfile.ZIP_DEFLATED)
    put("duplicate_key.bin", "'w' appears twice",
        sd_pickle([("w", tensor("0", 4, 0, [4], [1])), ("w", tensor("0", 4, 0, [2], [1]))]), {"0": f4})
    put("huge_stride.bin", "'w': strides overflow",
        b"\x80\x02" + G("collections", "OrderedDict") + b")R(" + u("w") +
        G("torch._utils", "_rebuild_tensor_v2") + b"((" + u("storage") + G("torch", "FloatStorage") +
        u("0") + u("cpu") + b"K\x04tQK\x00(K\x03K\x03t(\x8a\x08" + struct.pack("<q", 2**62) +
        b"K\x01t\x89" + G("collections", "OrderedDict") + b")RtRu.", {"0": f4})
    legacy = io.BytesIO()
    torch.save(OrderedDict(w=torch.ones(2)), legacy, _use_new_zipfile_serialization=False)
    put("legacy_format.bin", "legacy (pre-1.6) torch.save format", raw=legacy.getvalue())
    put("not_zip.bin", "not a PyTorch checkpoint", raw=b"hello, this is not a checkpoint at all\n")
    small = open(os.path.join(OUT, "torch_small.bin"), "rb").read()
    put("truncated.bin", "not a zip archive", raw=small[: len(small) // 2])
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(bad, f, indent=1)
        f.write("\n")
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
