#!/bin/sh
# Usage: stems.sh VKREEL BOARD DIR FILE...
# Runs `vkreel sfx BOARD --stems DIR` into a fresh DIR and checks that DIR then
# holds exactly FILE... (nothing missing, nothing extra, no temporary files).
vkreel=$1 board=$2 dir=$3
shift 3
rm -rf "$dir" || exit 1
"$vkreel" sfx "$board" --stems "$dir" || { echo "stems.sh: vkreel sfx exited $?" >&2; exit 1; }
expected=$(printf '%s\n' "$@" | LC_ALL=C sort)
found=$(ls -A "$dir" | LC_ALL=C sort)
if [ "$expected" != "$found" ]; then
    echo "stems.sh: $dir holds:" >&2; echo "$found" >&2
    echo "stems.sh: expected:" >&2; echo "$expected" >&2
    exit 1
fi
echo "stems.sh: $dir: $(echo "$found" | tr '\n' ' ')"
