#!/usr/bin/env bash
# serve_api.sh: `sanbao serve` over real HTTP on 127.0.0.1 (a free port):
# every transaction and error of docs/service-api.md, roles, replays,
# cancels and reversals, REST calls, bad input, reload, SIGTERM, and
# tampering found by verify-log (tests/serve/test_api.py).
# Usage: serve_api.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Twice: as the service runs by default, and with its 2207/2304 prepared
# in the HTTP threads (SB_SERVE_PREPARE=1: see src/serve/service.c).
mkdir "$tmp/a" "$tmp/p"
python3 "$2/tests/serve/test_api.py" "$1" "$2" "$tmp/a"
SB_SERVE_PREPARE=1 python3 "$2/tests/serve/test_api.py" "$1" "$2" "$tmp/p"
