#!/usr/bin/env bash
# GPU check for issue 9: a full-width FLUX double block at 1024x1024 tokens through CUDA, else WebGPU, else the CPU
# (scripts/gpu-check.ts). Self-contained, no network.
#
#   scripts/gpu-check.sh [cuda|webgpu|cpu ...]   run here (needs this checkout's node_modules)
#   scripts/gpu-check.sh --bundle                write .tmp/gpu/ (about 50 MB): the script bundled with esbuild, this
#                                                node binary (gzip) and onnxruntime-node's linux-x64 files, for a
#                                                machine without node or node_modules (carry .tmp/gpu there)
#   .tmp/gpu/run.sh [cuda|webgpu|cpu ...]        run the bundle on that machine (SCRIPT=gpu-mixed-precision for the
#                                                float16-products check, scripts/gpu-mixed-precision.ts)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ "${1:-}" == "--bundle" ]]; then
  out="$root/.tmp/gpu"
  rm -rf "$out" && mkdir -p "$out/node_modules/onnxruntime-node/bin/napi-v6/linux"
  esbuild="$(find "$root/node_modules/.pnpm" -path '*@esbuild/linux-x64/bin/esbuild' | head -1)"
  for script in gpu-check gpu-mixed-precision; do
    "$esbuild" "$root/scripts/$script.ts" --bundle --platform=node --format=esm --target=node18 --external:onnxruntime-node \
      --outfile="$out/$script.mjs" --log-level=warning \
      --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  done
  ort="$(dirname "$(readlink -f "$root/packages/runtime/node_modules/onnxruntime-node")")"
  cp -r "$ort/onnxruntime-node/package.json" "$ort/onnxruntime-node/dist" "$out/node_modules/onnxruntime-node/"
  cp -r "$ort/onnxruntime-node/bin/napi-v6/linux/x64" "$out/node_modules/onnxruntime-node/bin/napi-v6/linux/"
  cp -rL "$ort/onnxruntime-common" "$out/node_modules/"
  # The WebGPU provider (Dawn over Vulkan) needs the Vulkan loader and glvnd, which bare GPU machines lack; fetch
  # the Debian packages here (no network there). Verified on an H200: WebGPU then runs the block.
  mkdir -p "$out/gl" /tmp/gpu-check-apt/partial
  (cd "$out/gl" && apt-get -oAPT::Architecture=amd64 -oDir::State::Lists=/tmp/gpu-check-apt -qq update >/dev/null 2>&1 &&
    apt-get -oAPT::Architecture=amd64 -oDir::State::Lists=/tmp/gpu-check-apt -qq download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 2>/dev/null) ||
    echo "gpu-check: could not fetch the Vulkan loader packages; WebGPU will only work where libvulkan is installed"
  gzip -c "$(readlink -f "$(command -v node)")" > "$out/node.gz"
  gzip "$out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" # the carry limit is 64 MiB
  cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
[[ -x node ]] || { gzip -dc node.gz > node && chmod +x node; }
lib=node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
[[ -f "$lib" ]] || gzip -dk "$lib.gz"
if ! ldconfig -p | grep -q libvulkan.so.1 && ls gl/*.deb >/dev/null 2>&1; then
  for f in gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[[ -f "$icd" && -z "${VK_DRIVER_FILES:-}" ]] && export VK_DRIVER_FILES="$icd"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
exec timeout 180 ./node "${SCRIPT:-gpu-check}.mjs" "$@"
RUN
  chmod +x "$out/run.sh"
  du -sh "$out"
  exit 0
fi
cd "$root"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
exec timeout 180 node --import tsx scripts/gpu-check.ts "$@"
