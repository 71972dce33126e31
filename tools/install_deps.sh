#!/usr/bin/env bash
# Installs the Debian packages dotsocr builds with (and the arm64 cross tools
# its tests use; clang + compiler-rt for the libFuzzer harnesses). Run as root or with sudo.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
pkgs="build-essential cmake ninja-build pkg-config python3 python3-venv
  libpng-dev libjpeg62-turbo-dev libpcre2-dev libutf8proc-dev libjson-c-dev libmupdf-dev libmicrohttpd-dev
  libharfbuzz-dev libmujs-dev libgumbo-dev libopenjp2-7-dev libjbig2dec0-dev
  gcc-aarch64-linux-gnu qemu-user-static
  clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq $missing
fi
echo "install_deps: all Debian packages present"
