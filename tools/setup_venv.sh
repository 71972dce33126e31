#!/usr/bin/env bash
# Creates ./.venv with the Python oracles the parity tests compare against
# (Pillow, tokenizers, transformers, torch). The environment itself lives in
# ~/.cache/dotsocr/venv-<hash of requirements> and is reused while the pinned
# versions stay the same; ./.venv is a link to it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
req="$here/tools/requirements-test.txt"
hash=$(sha256sum "$req" | cut -c1-12)
cache="${DOTS_VENV_CACHE:-$HOME/.cache/dotsocr}/venv-$hash"
if [ ! -x "$cache/bin/python" ] || [ ! -f "$cache/.complete" ]; then
  echo "setup_venv: creating $cache (torch is large; this takes a few minutes once)"
  rm -rf "$cache"
  mkdir -p "$(dirname "$cache")"
  python3 -m venv "$cache"
  "$cache/bin/pip" install -q --disable-pip-version-check -r "$req"
  touch "$cache/.complete"
fi
ln -sfn "$cache" "$here/.venv"
"$here/.venv/bin/python" -c "import torch, transformers, tokenizers, PIL, numpy, safetensors" 
echo "setup_venv: $here/.venv ready"
