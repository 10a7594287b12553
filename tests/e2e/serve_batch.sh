#!/usr/bin/env bash
# serve_batch.sh: the service settles as the batch does: a generated
# province (gen --persons 2000 --seed 3) through the service in date order,
# exported and settled with `sanbao settle`, equal in every layer; and 8
# clients on the same persons at once equal serial settlement in commit
# order (tests/serve/test_batch.py). Usage: serve_batch.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Under ThreadSanitizer (make test runs it there too) a smaller province.
persons=${SB_SERVE_PERSONS:-2000}
case "${SB_SAN_FLAGS:-}" in *thread*) persons=${SB_SERVE_PERSONS:-500} ;; esac
# Twice: as the service runs by default, and with its 2207/2304 prepared
# in the HTTP threads (SB_SERVE_PREPARE=1: see src/serve/service.c).
mkdir "$tmp/a" "$tmp/p"
python3 "$2/tests/serve/test_batch.py" "$1" "$2" "$tmp/a" "$persons"
SB_SERVE_PREPARE=1 python3 "$2/tests/serve/test_batch.py" "$1" "$2" "$tmp/p" "$persons"
