#!/usr/bin/env bash
# serve_crash.sh: the service SIGKILLed at random moments under load and
# restarted, the clients retrying with the same msgid: every answered
# settlement stored exactly once, none answered twice differently, chain and
# accumulators verify, equal to the batch (tests/serve/test_crash.py).
# SB_SERVE_KILLS kills (default 20; `make soak` runs 100).
# Usage: serve_crash.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$2/tests/serve/test_crash.py" "$1" "$2" "$tmp" "${SB_SERVE_KILLS:-20}" \
	"${SB_SERVE_CRASH_PERSONS:-2000}"
