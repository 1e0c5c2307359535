#!/bin/bash
# Packs what tools/gpu/check.ts needs on a GPU machine with no Node.js and no network into .gpu/ (git-excluded, under
# the 64 MiB a device run carries beside the working tree): the node binary, the built tools, exactly the files of
# node_modules the check loads (found by running it once here with a require hook), ONNX Runtime's native library
# (dlopened by its binding, so the hook does not see it), the images decoded here, and Debian's Vulkan loader for the
# WebGPU provider (Dawn) to find the machine's driver.
#
#   npm run build && tools/gpu/bundle.sh
#   # on the machine, from the repository root: bash tools/gpu/on-device.sh OUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.gpu"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -qx '/.gpu/' "$root/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$root/.git/info/exclude"
rm -rf "$out"
mkdir -p "$out/debs" "$work/bundle/.gpu-run"

node "$root/dist/tools/gpu/check.js" prepare "$work/bundle/.gpu-run/inputs"

cat >"$work/hook.js" <<'HOOK'
const Module = require('module');
const fs = require('fs');
const resolve = Module._resolveFilename;
const loaded = new Set();
Module._resolveFilename = function (...args) {
  const file = resolve.apply(this, args);
  loaded.add(file);
  return file;
};
process.on('exit', () => fs.appendFileSync(process.env.BUNDLE_LIST, [...loaded].join('\n') + '\n'));
HOOK
# One quick pass on the CPU provider (and a try of WebGPU) loads every module a full run loads.
(cd "$root" && BUNDLE_LIST="$work/loaded" NODE_OPTIONS="-r $work/hook.js" GPU_CHECK_RUNS=1 GPU_CHECK_PYTHON=/nonexistent \
  GPU_CHECK_BACKENDS=onnx,onnx-webgpu node dist/tools/gpu/check.js run "$work/bundle/.gpu-run/inputs" >/dev/null)

cp "$(command -v node)" "$work/bundle/.gpu-run/node"
mkdir -p "$work/bundle/dist"
cp -r "$root/dist/src" "$root/dist/tools" "$work/bundle/dist/"
grep "^$root/node_modules/" "$work/loaded" | sort -u | while read -r file; do
  relative=${file#"$root/"}
  package=$(echo "$relative" | sed -E 's#^(node_modules/(@[^/]+/)?[^/]+)/.*#\1#')
  mkdir -p "$work/bundle/$(dirname "$relative")"
  cp "$file" "$work/bundle/$relative"
  # Every package.json from the file's folder up to its package's: a nested one (onnxruntime-common's dist/cjs)
  # says whether the files beside it are CommonJS.
  dir=$(dirname "$relative")
  while :; do
    [ -f "$root/$dir/package.json" ] && cp "$root/$dir/package.json" "$work/bundle/$dir/package.json"
    [ "$dir" = "$package" ] && break
    dir=$(dirname "$dir")
  done
done
if grep -q "node_modules/@napi-rs/canvas" "$work/loaded"; then
  echo "the check loaded @napi-rs/canvas: it would carry 35 MB; keep image decoding in 'prepare'" >&2
  exit 1
fi
binding=$(dirname "$(grep "onnxruntime_binding.node$" "$work/loaded" | head -1)")
cp "$binding"/libonnxruntime.so* "$work/bundle/${binding#"$root/"}/"
tar cf - -C "$work/bundle" . | xz -T0 -9 >"$out/bundle.tar.xz"

(cd "$out/debs" && apt-get download libvulkan1 >/dev/null 2>&1) ||
  (apt-get update >/dev/null && cd "$out/debs" && apt-get download libvulkan1 >/dev/null)
echo "$(du -sh "$out" | cut -f1) in $out: node $(node --version), $(grep -c "^$root/node_modules/" "$work/loaded" | tr -d '\n') module files, $(ls "$out/debs")"
