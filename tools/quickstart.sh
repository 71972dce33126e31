#!/usr/bin/env bash
# The README's first command: installs the Debian packages, builds dotsocr,
# and parses the repo's own sample PDF into ./out.
# The model is $DOTSOCR_MODEL (a downloaded rednote-hilab/dots.ocr folder) or,
# when unset, the bundled tiny random test checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
model="${DOTSOCR_MODEL:-}"
extra=()
if [ -z "$model" ]; then
  model=tests/data/tiny-dots
  extra=(--max-tokens 200)
  echo
  echo "NOTE: DOTSOCR_MODEL is not set, so this runs the bundled TINY RANDOM test checkpoint."
  echo "      The pipeline runs end to end, but the text it writes is MEANINGLESS."
  echo "      For real results download rednote-hilab/dots.ocr (see README, 'Real model')"
  echo "      and run again with DOTSOCR_MODEL=/path/to/dots.ocr."
  echo
fi
./build/dotsocr parse samples/sample.pdf --model "$model" --out out "${extra[@]}"
echo
echo "quickstart: done. Per page in out/sample/: .json (layout), .md, _nohf.md, .png (layout picture);"
echo "            out/sample.jsonl has one record per page."
ls -1 out/sample/
