#!/bin/sh
# CLI tests of `vkreel validate` (registered by tests/storyboard.cmake).
#   run_cli.sh bad  VKREEL REPO TMPDIR   every tests/storyboards/bad file per bad/EXPECT.tsv
#   run_cli.sh good VKREEL REPO TMPDIR   tests/storyboards/good and storyboards/ are valid
#   run_cli.sh misc VKREEL REPO TMPDIR   exit codes: usage, missing file, over 4 MiB, mixes
set -u
mode=$1 vkreel=$2 repo=$3 tmp=$4
mkdir -p "$tmp"
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { checks=$((checks + 1)); }
# run FILE...: sets rc, writes $tmp/out and $tmp/err
run() { "$vkreel" validate "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

case $mode in
bad)
    dir=bad
    cd "$repo/tests/storyboards" || exit 1
    for f in $dir/*.json; do
        grep -q "^$(basename "$f")	" $dir/EXPECT.tsv || fail "$f is not listed in EXPECT.tsv"
    done
    while IFS='	' read -r file code ptr lc; do
        case $file in '#'* | '') continue ;; esac
        path=$dir/$file
        [ -f "$path" ] || { fail "$path listed in EXPECT.tsv does not exist"; continue; }
        if [ "$path" != "${last:-}" ]; then # several rows for one file: run it once
            run "$path"
            last=$path
            [ "$rc" -eq "$code" ] && pass || fail "$file: exit status $rc, expected $code"
            [ -s "$tmp/out" ] && fail "$file: wrote to stdout: $(head -c 200 "$tmp/out")" || pass
        fi
        if [ "$ptr" = "-" ]; then
            # A diagnostic about the document itself: no pointer after the position.
            if [ "$lc" = "-" ]; then prefix="$path:"; else prefix="$path:$lc: "; fi
            grep -F -- "$prefix" "$tmp/err" | grep -v -F -- "$prefix/" | grep -q . && pass ||
                fail "$file: no document-level diagnostic '$prefix...'; stderr: $(head -c 600 "$tmp/err")"
        else
            if [ "$lc" = "-" ]; then needle=": $ptr: "; else needle="$path:$lc: $ptr: "; fi
            grep -q -F -- "$needle" "$tmp/err" && pass ||
                fail "$file: no diagnostic '$needle'; stderr: $(head -c 600 "$tmp/err")"
        fi
    done <$dir/EXPECT.tsv
    ;;
good)
    cd "$repo" || exit 1
    for f in tests/storyboards/good/*.json storyboards/*.json; do
        run "$f"
        [ "$rc" -eq 0 ] && pass || fail "$f: exit status $rc, expected 0; stderr: $(head -c 600 "$tmp/err")"
        [ -s "$tmp/err" ] && fail "$f: wrote to stderr" || pass
        grep -q "^$f: ok (" "$tmp/out" && pass || fail "$f: no '$f: ok (...)' line"
    done
    run storyboards/otter-on-a-plane.json
    grep -q -F "storyboards/otter-on-a-plane.json: ok (5 shots, 20 s)" "$tmp/out" && pass ||
        fail "otter summary: $(cat "$tmp/out")"
    ;;
misc)
    cd "$repo" || exit 1
    good=storyboards/minimal.json bad=tests/storyboards/bad/shot-duration-zero.json
    run; [ "$rc" -eq 64 ] && pass || fail "no arguments: exit $rc, expected 64"
    run --frobnicate "$good"; [ "$rc" -eq 64 ] && pass || fail "unknown option: exit $rc, expected 64"
    run --help; [ "$rc" -eq 0 ] && grep -q Usage "$tmp/out" && pass || fail "--help: exit $rc"
    run "$tmp/no-such-board.json"; [ "$rc" -eq 66 ] && pass || fail "missing file: exit $rc, expected 66"
    grep -q "no-such-board.json" "$tmp/err" && pass || fail "missing file not named on stderr"
    run "$good" "$bad"; [ "$rc" -eq 65 ] && pass || fail "good + bad: exit $rc, expected 65"
    grep -q "^$good: ok" "$tmp/out" && pass || fail "good + bad: the good file is not reported ok"
    grep -q "^$bad: ok" "$tmp/out" && fail "good + bad: the bad file is reported ok" || pass
    run "$bad" "$tmp/no-such-board.json"; [ "$rc" -eq 66 ] && pass || fail "bad + missing: exit $rc, expected 66"
    run -- "$good"; [ "$rc" -eq 0 ] && pass || fail "-- FILE: exit $rc, expected 0"
    # Over the 4 MiB limit (generated: too big to keep in the repository).
    big=$tmp/too-big.json
    { printf '{"version": 1, "title": "'; head -c 4194304 /dev/zero | tr '\0' 'a'; printf '"}\n'; } >"$big"
    run "$big"; [ "$rc" -eq 65 ] && pass || fail "over 4 MiB: exit $rc, expected 65"
    grep -q "larger than" "$tmp/err" && pass || fail "over 4 MiB: no size diagnostic: $(head -c 300 "$tmp/err")"
    [ -s "$tmp/out" ] && fail "over 4 MiB: wrote to stdout" || pass
    rm -f "$big"
    ;;
*)
    echo "usage: run_cli.sh bad|good|misc VKREEL REPO TMPDIR" >&2
    exit 2
    ;;
esac
echo "validate $mode: $checks passed, $fails failed"
[ "$fails" -eq 0 ]
