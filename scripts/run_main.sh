#!/usr/bin/env bash
# The main job: build and install videohw, then a real H.264 encode on the default backend
# ("auto": NVIDIA where usable, else software), verified by an independent decoder
# (ffprobe/ffmpeg): frame count, exact keyframe positions, size and PSNR.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

step "system packages"
bash scripts/install_system_deps.sh

step "build and install into .venv"
bash scripts/dev_install.sh

step "encode and verify"
mkdir -p out
.venv/bin/videohw encode --backend auto --codec h264 --size 1280x720 --fps 30 --frames 300 \
  --gop 60 --force-idr-at 45,200 --rc cbr:4M -o out/main.h264 --verify "$@"
