#!/usr/bin/env bash
# Packs a GPU check for a machine that has an NVIDIA driver but no Node, no npm and no network (the lent device
# machine): one of scripts/gpu-*.ts bundled by esbuild into a single .mjs, the Node binary, onnxruntime-node's
# linux-x64 files (CPU + WebGPU providers, as npm ships them) and Debian's Vulkan loader and glvnd libraries, which
# Dawn (the WebGPU provider) needs to reach the NVIDIA Vulkan driver. Output: .gpu/ (git-ignored), about 37 MB.
# On the device: SCRIPT=gpu-mixed-precision.mjs bash .gpu/run.sh webgpu
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> "$(git rev-parse --git-common-dir)/info/exclude"
rm -rf .gpu && mkdir -p .gpu/stage/node_modules/onnxruntime-node/bin/napi-v6/linux .gpu/stage/node_modules/onnxruntime-common
esbuild=$(ls -d node_modules/.pnpm/esbuild@*/node_modules/esbuild | head -1)
for script in scripts/gpu-check.ts scripts/gpu-mixed-precision.ts; do
  [ -f "$script" ] || continue
  "$esbuild/bin/esbuild" "$script" --bundle --platform=node --format=esm --target=node20 --external:onnxruntime-node \
    --banner:js="import { createRequire } from 'module'; const require = createRequire(import.meta.url);" \
    --outfile=".gpu/$(basename "$script" .ts).mjs" --log-level=warning
done
ort=$(ls -d node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node | head -1)
common=$(readlink -f "$ort/../onnxruntime-common")
cp -r "$ort/package.json" "$ort/dist" .gpu/stage/node_modules/onnxruntime-node/
cp -r "$ort/bin/napi-v6/linux/x64" .gpu/stage/node_modules/onnxruntime-node/bin/napi-v6/linux/
cp -r "$common/package.json" "$common/dist" .gpu/stage/node_modules/onnxruntime-common/
cp "$(readlink -f "$(command -v node)")" .gpu/stage/node
tar -C .gpu/stage -cJf .gpu/bundle.tar.xz node node_modules && rm -rf .gpu/stage
(cd .gpu && apt-get download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2 >/dev/null)
cat > .gpu/run.sh <<'RUN'
#!/usr/bin/env bash
set -uo pipefail
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
for f in *.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
tar -xJf bundle.tar.xz
timeout 200 ./node "${SCRIPT:-gpu-check.mjs}" "$@" 2>&1 | tee "${OUT:-/tmp}/gpu-check.log"
RUN
du -sh .gpu
