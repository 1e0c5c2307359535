#!/bin/bash
# The GPU machine's half of tools/gpu/bundle.sh, run from the repository root with .gpu carried:
#   bash tools/gpu/on-device.sh "$OUT"
# Unpacks node, the built tools and their modules here, installs the Vulkan loader, and runs the check.
set -uo pipefail
tar xJf .gpu/bundle.tar.xz || exit 1
for deb in .gpu/debs/*.deb; do dpkg -x "$deb" /; done
ldconfig
# Containers mount NVIDIA's Vulkan driver outside the loader's search path.
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$icd" ] && export VK_DRIVER_FILES="$icd" && break
done
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "Vulkan driver: ${VK_DRIVER_FILES:-none found}"
.gpu-run/node dist/tools/gpu/check.js run .gpu-run/inputs "${1:-.gpu-run/out}"
