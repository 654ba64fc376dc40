#!/usr/bin/env bash
# Test vectors for the NVDEC checks: H.264 and HEVC streams made by libx264 / libx265, and
# for each, libavcodec's own decode as NV12 (ffmpeg's yuv420p -> nv12 is a plane
# interleave, no arithmetic) and as RGB24 through libswscale (what videohw's software
# CPU_RGB gives). Runs where FFmpeg is; the GPU machine only reads the results.
# Usage: make_vectors.sh OUTDIR
set -euo pipefail
out=${1:?usage: make_vectors.sh OUTDIR}
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# name codec size frames gop bframes
encode() {
  local name=$1 codec=$2 size=$3 frames=$4 gop=$5 bf=$6
  local src="testsrc2=size=${size}:rate=30"
  if [ "$codec" = h264 ]; then
    ff -f lavfi -i "$src" -frames:v "$frames" -c:v libx264 -preset veryfast -g "$gop" \
       -bf "$bf" -pix_fmt yuv420p -f h264 "$out/$name.part"
  else
    ff -f lavfi -i "$src" -frames:v "$frames" -c:v libx265 -preset veryfast \
       -x265-params "keyint=$gop:min-keyint=$gop:bframes=$bf:log-level=error" \
       -pix_fmt yuv420p -f hevc "$out/$name.part"
  fi
}

# The ffmpeg CLI scales every frame to the first frame's size, so a stream with a size
# change is decoded part by part (each part starts with an IDR and its own parameter sets,
# so this is what one decoder gives for the joined stream).
references() {
  local name=$1 codec=$2
  shift 2
  local parts=("$@")
  [ ${#parts[@]} -eq 0 ] && parts=("$out/$name.$codec")
  : > "$out/$name.nv12"
  : > "$out/$name.rgb"
  for part in "${parts[@]}"; do
    ff -f "$codec" -i "$part" -f rawvideo -pix_fmt nv12 - >> "$out/$name.nv12"
    ff -f "$codec" -i "$part" -f rawvideo -pix_fmt rgb24 - >> "$out/$name.rgb"
  done
  ffprobe -v error -f "$codec" -select_streams v -show_entries frame=width,height \
    -of csv=p=0 "$out/$name.$codec" | tr ',' ' ' | awk 'NF >= 2 {print $1, $2}' \
    > "$out/$name.sizes"
  gzip -f "$out/$name.nv12" "$out/$name.rgb"
  echo "$name $codec" >> "$out/manifest.txt"
}

vector() {  # name codec size frames gop bframes
  encode "$@"
  mv "$out/$1.part" "$out/$1.$2"
  references "$1" "$2"
}

size_change() {  # name codec: two sequences of different sizes, one Annex-B stream
  local name=$1 codec=$2
  encode a "$codec" 640x360 12 6 2 && mv "$out/a.part" "$out/a.bin"
  encode b "$codec" 352x288 12 6 2 && mv "$out/b.part" "$out/b.bin"
  cat "$out/a.bin" "$out/b.bin" > "$out/$name.$codec"
  references "$name" "$codec" "$out/a.bin" "$out/b.bin"
  rm "$out/a.bin" "$out/b.bin"
}

: > "$out/manifest.txt"
vector h264_320x240_ip h264 320x240 30 10 0
vector h264_640x360_b3 h264 640x360 30 10 3
vector h264_1280x720_b2 h264 1280x720 20 8 2
vector h264_1920x1080_ip h264 1920x1080 8 4 0
vector hevc_320x240_ip hevc 320x240 30 10 0
vector hevc_640x360_b3 hevc 640x360 30 10 3
vector hevc_1920x1080_b2 hevc 1920x1080 8 4 2
size_change h264_size_change h264
size_change hevc_size_change hevc
du -sh "$out"
