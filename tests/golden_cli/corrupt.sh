#!/bin/sh
# Negative tests for `vkreel golden`: a copy of a shipped case with one thing
# broken must FAIL with the right exit code and name the broken output.
#   corrupt.sh VKREEL SRC_CASE_DIR WORK_DIR MODE
# MODE: value  - one out.samples element moved by 1.0 (far beyond tolerance): exit 65
#       nan    - one expected out.samples element set to NaN (a bad reference): exit 65
#       shape  - out.timesteps one element shorter: exit 65
#       notol  - case.json without tolerance: exit 65 (malformed)
#       noio   - io.safetensors removed: exit 66
#       tokid  - one expected.json id changed (tokenizer case): exit 65
#       copy   - an unmodified copy under another directory name: exit 0 (identity from the files)
set -u
vkreel=$1 src=$2 work=$3 mode=$4
rm -rf "$work" && mkdir -p "$work" || exit 1
cp -r "$src"/. "$work"/ || exit 1
python3 - "$work" "$mode" <<'PY' || exit 1
import json, struct, sys, os
work, mode = sys.argv[1], sys.argv[2]

def rewrite_io(edit):
    p = os.path.join(work, "io.safetensors")
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    data = bytearray(b[8 + n:])
    h, data = edit(h, data)
    hj = json.dumps(h).encode()
    hj += b" " * (-len(hj) % 8)
    open(p, "wb").write(struct.pack("<Q", len(hj)) + hj + bytes(data))

def set_f32(h, data, name, k, v):
    off = h[name]["data_offsets"][0] + 4 * k
    data[off:off + 4] = struct.pack("<f", v)

if mode in ("value", "nan"):
    def edit(h, data):
        k = 5
        off = h["out.samples"]["data_offsets"][0] + 4 * k
        old = struct.unpack("<f", data[off:off + 4])[0]
        set_f32(h, data, "out.samples", k, old + 1.0 if mode == "value" else float("nan"))
        return h, data
    rewrite_io(edit)
elif mode == "shape":
    def edit(h, data):
        t = h["out.timesteps"]
        t["shape"][0] -= 1
        t["data_offsets"][1] -= 8 if t["dtype"] == "I64" else 4
        return h, data  # the dropped bytes stay as unreferenced padding
    rewrite_io(edit)
elif mode == "notol":
    p = os.path.join(work, "case.json")
    c = json.load(open(p)); del c["tolerance"]; json.dump(c, open(p, "w"))
elif mode == "noio":
    os.remove(os.path.join(work, "io.safetensors"))
elif mode == "copy":
    pass
elif mode == "tokid":
    p = os.path.join(work, "expected.json")
    e = json.load(open(p)); ids = e["cases"][3]["input_ids"]; ids[2] += 1; json.dump(e, open(p, "w"))
else:
    sys.exit("unknown mode " + mode)
PY
out=$("$vkreel" golden --verbose "$work"); rc=$?
printf '%s\n' "$out"
want=65
[ "$mode" = noio ] && want=66
if [ "$mode" = copy ]; then
    [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q ": PASS" || { echo "copy: expected PASS, exit $rc"; exit 1; }
    rm -rf "$work"
    exit 0
fi
[ $rc -eq $want ] || { echo "expected exit $want, got $rc"; exit 1; }
printf '%s\n' "$out" | grep -q ": FAIL" || { echo "no FAIL summary"; exit 1; }
case $mode in
value|nan) printf '%s\n' "$out" | grep -q "out.samples .* FAIL" || { echo "out.samples not flagged"; exit 1; } ;;
shape) printf '%s\n' "$out" | grep -q "out.timesteps .*shape mismatch" || { echo "shape mismatch not flagged"; exit 1; } ;;
tokid) printf '%s\n' "$out" | grep -q "out.input_ids .* FAIL" || { echo "input_ids not flagged"; exit 1; } ;;
esac
rm -rf "$work"
exit 0
