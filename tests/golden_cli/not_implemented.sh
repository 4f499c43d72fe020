#!/bin/sh
# `vkreel golden` on a case whose component is registered but not implemented
# must exit 70 and say so. The component is the first "not implemented" entry
# of `vkreel golden --list`; the case is a scheduler case relabelled to it.
#   not_implemented.sh VKREEL REPO_ROOT WORK_DIR
set -u
vkreel=$1 root=$2 work=$3
name=$("$vkreel" golden --list | awk '$2 == "not" { print $1; exit }')
if [ -z "$name" ]; then echo "SKIPPED: every registered component is implemented"; exit 0; fi
rm -rf "$work" && mkdir -p "$work/$name" || exit 1
cp "$root/tests/golden/schedulers/ddim_sd_eps_n10/io.safetensors" "$work/$name/" || exit 1
printf '{"case": "%s", "tolerance": {"recommended_max_abs": 1, "recommended_rel_l2": 1}}\n' "$name" >"$work/$name/case.json"
out=$("$vkreel" golden "$work/$name"); rc=$?
printf '%s\n' "$out"
[ $rc -eq 70 ] || { echo "expected exit 70, got $rc"; exit 1; }
printf '%s\n' "$out" | grep -q "component $name is not implemented in this build" || { echo "no message"; exit 1; }
rm -rf "$work"
