# Building and running against a carried FFmpeg (an extracted Debian root, see docs/nvdec.md),
# for the GPU machine's scripts (gpu_run.sh, gpu_media_run.sh). Sourced, not run.
#
# use_deps_root DEPS SCRATCH: exposes only FFmpeg's own headers and link names to the
# compiler and linker, through folders of links under SCRATCH (a carried root may hold libc /
# kernel headers and libstdc++ that must never shadow the machine's own), points pkg-config
# at rewritten copies of its .pc files (PKG_CONFIG_LIBDIR, nothing of the machine's), and at
# run time adds only the libraries the machine lacks (LD_LIBRARY_PATH): torch and the driver
# need the machine's libc and libstdc++. Sets PKG_CONFIG when the machine has no pkg-config
# and the root carries pkgconf. Needs ROOT (the repository) and MULTIARCH.
use_deps_root() {
  local deps="$1" scratch="$2"
  local inc="$scratch/videohw-deps-include" link="$scratch/videohw-deps-link"
  local pcdir="$scratch/videohw-deps-pkgconfig" libdir="$scratch/videohw-deps-lib"
  rm -rf "$inc" "$link" "$pcdir" "$libdir" && mkdir -p "$inc" "$link" "$pcdir" "$libdir"
  local d h l pc lib name candidate linked=0
  for d in "$deps/usr/include/$MULTIARCH" "$deps/usr/include"; do
    for h in "$d"/libav* "$d"/libsw* "$d"/libpostproc "$d"/ffnvcodec; do
      [ -d "$h" ] && [ ! -e "$inc/$(basename "$h")" ] && ln -s "$h" "$inc/"
    done
  done
  # ffnvcodec headers: the carried libffmpeg-nvenc-dev, else the copy in gpu-vectors/.
  if [ ! -e "$inc/ffnvcodec" ] && [ -d "$ROOT/gpu-vectors/include/ffnvcodec" ]; then
    ln -s "$ROOT/gpu-vectors/include/ffnvcodec" "$inc/"
  fi
  for l in "$deps/usr/lib/$MULTIARCH"/lib{avcodec,avutil,swscale,swresample,avformat,avfilter,avdevice,postproc}.so; do
    [ -e "$l" ] && ln -s "$l" "$link/"
  done
  # .pc files name absolute /usr paths: point them at those folders and the carried root.
  for d in "$deps/usr/lib/$MULTIARCH/pkgconfig" "$deps/usr/lib/pkgconfig" "$deps/usr/share/pkgconfig"; do
    [ -d "$d" ] || continue
    for pc in "$d"/*.pc; do
      [ -e "$pc" ] && sed -E -e "s#^includedir=.*#includedir=$inc#" -e "s#^libdir=.*#libdir=$link#" \
        -e "s#^([A-Za-z_]+)=/usr#\1=$deps/usr#" "$pc" > "$pcdir/$(basename "$pc")"
    done
  done
  export PKG_CONFIG_LIBDIR="$pcdir"
  unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
  export CPATH="$inc${CPATH:+:$CPATH}"  # the NVDEC sources include <ffnvcodec/...>
  local system_libs
  system_libs="$(ldconfig -p 2>/dev/null | awk '{print $1}')"
  for lib in "$deps/usr/lib/$MULTIARCH"/*.so.* "$deps/lib/$MULTIARCH"/*.so.*; do
    [ -e "$lib" ] || continue
    name="$(basename "$lib")"
    if ! grep -qxF "$name" <<<"$system_libs"; then
      ln -sf "$lib" "$libdir/$name" && linked=$((linked + 1))
    fi
  done
  export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # The FFmpeg CLI, when carried; after the machine's own.
  [ -d "$deps/usr/bin" ] && export PATH="$PATH:$deps/usr/bin"
  if ! command -v pkg-config >/dev/null; then
    for candidate in "$deps/usr/bin/pkgconf" "$deps/usr/bin/pkg-config" "$deps/usr/bin/x86_64-linux-gnu-pkg-config"; do
      if [ -x "$candidate" ]; then export PKG_CONFIG="$candidate"; break; fi
    done
  fi
  echo "deps root $deps: $(ls "$pcdir" | wc -l) .pc files; headers: $(ls "$inc" | paste -sd' ');" \
       "$linked runtime libraries the machine lacks linked into $libdir"
  [ -e "$inc/ffnvcodec" ] || echo "warning: no ffnvcodec headers under $deps/usr/include or gpu-vectors/include"
}
