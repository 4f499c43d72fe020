#!/bin/sh
# CLI tests of `vkreel plan` (registered by tests/timeline.cmake):
#   plan_cli.sh VKREEL REPO TMPDIR
# exit codes (help, usage, missing file, invalid board), then every example and
# good-corpus storyboard: table and --json succeed, the JSON is byte-identical
# across runs, and (when python3 is present) plan_check.py re-derives every
# index in it with exact rational arithmetic from the storyboard itself.
set -u
vkreel=$1 repo=$2 tmp=$3
mkdir -p "$tmp"
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { checks=$((checks + 1)); }
run() { "$vkreel" plan "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
cd "$repo" || exit 1

run --help
[ "$rc" -eq 0 ] && grep -q "Usage: vkreel plan" "$tmp/out" && pass || fail "--help: exit $rc"
run; [ "$rc" -eq 64 ] && pass || fail "no arguments: exit $rc, expected 64"
run --frobnicate storyboards/minimal.json
[ "$rc" -eq 64 ] && pass || fail "unknown option: exit $rc, expected 64"
run storyboards/minimal.json storyboards/minimal.json
[ "$rc" -eq 64 ] && pass || fail "two files: exit $rc, expected 64"
run "$tmp/no-such-board.json"
[ "$rc" -eq 66 ] && pass || fail "missing file: exit $rc, expected 66"
grep -q "no-such-board.json" "$tmp/err" && pass || fail "missing file not named on stderr"
printf '{\n  "version": 1,\n  "shots": [ { "duration": 0, "prompt": "x" } ]\n}\n' >"$tmp/bad.json"
run --json "$tmp/bad.json"
[ "$rc" -eq 65 ] && pass || fail "invalid board: exit $rc, expected 65"
grep -q "bad.json:[0-9]*:[0-9]*: /shots/0/duration: " "$tmp/err" && pass ||
    fail "invalid board: no located diagnostic; stderr: $(head -c 400 "$tmp/err")"
[ -s "$tmp/out" ] && fail "invalid board: wrote to stdout" || pass

have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1
for f in storyboards/*.json tests/storyboards/good/*.json; do
    run "$f"
    [ "$rc" -eq 0 ] && pass || fail "$f: table: exit $rc; stderr: $(head -c 400 "$tmp/err")"
    grep -q "^total " "$tmp/out" && pass || fail "$f: table has no total line"
    run "$f" --json
    [ "$rc" -eq 0 ] && pass || fail "$f: --json: exit $rc; stderr: $(head -c 400 "$tmp/err")"
    mv "$tmp/out" "$tmp/a.json"
    run --json "$f"
    cmp -s "$tmp/out" "$tmp/a.json" && pass || fail "$f: two runs of --json differ"
    if [ "$have_python" -eq 1 ]; then
        python3 "$repo/tests/timeline/plan_check.py" "$f" "$tmp/a.json" && pass ||
            fail "$f: plan_check.py"
    fi
done
[ "$have_python" -eq 1 ] || echo "note: python3 not found, plan_check.py skipped"
echo "plan CLI: $checks passed, $fails failed"
[ "$fails" -eq 0 ]
