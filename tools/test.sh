#!/usr/bin/env bash
# The whole test suite: installs what is needed (Debian packages, the Python
# oracles), builds, and runs every CTest test. Expects ../shared beside the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/setup_venv.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOTS_REQUIRE_ORACLES=ON >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
