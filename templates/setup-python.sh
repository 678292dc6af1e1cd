#!/usr/bin/env bash
# Creates .venv at the repository root with the pinned test environment of templates/
# (`npm run setup:python`). Re-installs only when the requirement files change; pip keeps its
# download cache in $HOME (~/.cache/pip), so a fresh CI clone on the same machine reuses it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
# pip's own download cache; a fresh clone on the same machine installs from it without downloads.
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "setup:python: $python is $("$python" --version 2>&1); templates/ needs Python >= 3.11" >&2
  exit 1
fi

stamp="$venv/.requirements.sha256"
want="$(cat "$root/templates/requirements-dev.txt" "$root/templates/runtime/requirements.txt" | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup:python: .venv is up to date"
  exit 0
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$root/templates/requirements-dev.txt"
echo "$want" >"$stamp"
echo "setup:python: .venv ready ($("$venv/bin/python" --version))"
