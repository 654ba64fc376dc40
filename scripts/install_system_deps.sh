#!/usr/bin/env bash
# Installs the Debian packages videohw builds and tests against.
# Idempotent and fast when everything is present: apt is only touched for what is missing.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config cmake python3-venv python3-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  libffmpeg-nvenc-dev
  libgtest-dev libbenchmark-dev libboost-dev
  ffmpeg
  clang libclang-rt-14-dev clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_system_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "install_system_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
