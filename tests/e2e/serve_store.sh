#!/usr/bin/env bash
# serve_store.sh: 503 while the store is unavailable (a full tmpfs), then the
# retry with the same msgid settles once (tests/serve/test_store.py).
# Usage: serve_store.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
tmp=$(mktemp -d)
trap 'umount "$tmp/mnt" 2>/dev/null || true; rm -rf "$tmp"' EXIT
python3 "$2/tests/serve/test_store.py" "$1" "$2" "$tmp"
