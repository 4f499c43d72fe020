#!/bin/sh
# Usage: sidecars.sh BASE
# The render wrote BASE.mp4 plus non-empty BASE.srt and BASE.vtt, and left no
# temporary files next to them.
base=$1
for ext in mp4 srt vtt; do
    [ -s "$base.$ext" ] || { echo "missing or empty: $base.$ext" >&2; exit 1; }
done
head -n 1 "$base.vtt" | grep -q '^WEBVTT' || { echo "$base.vtt: no WEBVTT header" >&2; exit 1; }
dir=$(dirname "$base")
if ls -a "$dir" | grep -q '\.tmp$'; then
    echo "temporary files left in $dir:" >&2
    ls -a "$dir" >&2
    exit 1
fi
exit 0
