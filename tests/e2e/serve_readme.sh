#!/usr/bin/env bash
# serve_readme.sh: the README's curl examples for `sanbao serve` run as
# written (tests/serve/test_readme.py). Usage: serve_readme.sh SANBAO_BINARY SOURCE_DIR
set -euo pipefail
command -v curl >/dev/null || { echo "serve_readme.sh: curl is missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$2/tests/serve/test_readme.py" "$1" "$2" "$tmp"
