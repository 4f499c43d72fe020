#!/bin/sh
# Usage: expect_exit.sh CODE COMMAND [ARGS...]
# Runs COMMAND and succeeds only if it exits with exactly CODE.
expected=$1
shift
"$@"
rc=$?
if [ "$rc" -ne "$expected" ]; then
    echo "expect_exit: '$*' exited $rc, expected $expected" >&2
    exit 1
fi
exit 0
