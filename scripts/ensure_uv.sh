#!/usr/bin/env bash
# ensure_uv.sh PYTHON TARGET: make TARGET a small executable that runs uv, installing uv with
# pip first when it is missing (Debian's externally-managed Python included).
set -euo pipefail
python=${1:-python3}
target=${2:?usage: ensure_uv.sh PYTHON TARGET}
sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi

find_uv() {
  if command -v uv >/dev/null 2>&1; then command -v uv; return 0; fi
  if [ -x "$HOME/.local/bin/uv" ]; then echo "$HOME/.local/bin/uv"; return 0; fi
  if "$python" -m uv --version >/dev/null 2>&1; then echo "$python -m uv"; return 0; fi
  return 1
}

if ! uv_cmd=$(find_uv); then
  echo "==> uv not found: installing it with pip"
  if ! "$python" -m pip --version >/dev/null 2>&1; then
    echo "==> $python has no pip: installing python3-pip with apt-get"
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-pip >/dev/null; } || {
      echo "cannot install pip: run 'apt-get install python3-pip' as root, or install uv" >&2
      exit 1
    }
  fi
  # --user first; Debian's Python refuses it without --break-system-packages (PEP 668), and a
  # virtual environment refuses --user: try each in turn.
  "$python" -m pip install --quiet --user uv 2>/dev/null ||
    "$python" -m pip install --quiet --user --break-system-packages uv 2>/dev/null ||
    "$python" -m pip install --quiet uv
  uv_cmd=$(find_uv) || { echo "uv was installed but cannot be run" >&2; exit 1; }
fi
mkdir -p "$(dirname "$target")"
printf '#!/bin/sh\nexec %s "$@"\n' "$uv_cmd" >"$target"
chmod +x "$target"
echo "==> uv: $("$target" --version)"
