#!/bin/bash
# Packs what `dashseg synth stills` needs on a machine with no Node.js and no network, such as a GPU box rented for
# training: the node binary, the built CLI, and exactly the files of node_modules the generator loads (found by
# running it once with a require hook, its worker processes included), so the archive holds nothing it does not use.
#
#   npm run build && tools/train/offline_bundle.sh bundle.tar.xz
#   # there: mkdir b && tar xJf bundle.tar.xz -C b && b/node b/bin/dashseg.js synth stills --out ... --seed ...
#
# The node binary runs wherever this machine's does (same processor, a glibc at least as new).
set -euo pipefail
out=$(realpath -m "${1:?usage: offline_bundle.sh OUT.tar.xz}")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/hook.js" <<'EOF'
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
EOF
(cd "$root" && BUNDLE_LIST="$work/loaded" NODE_OPTIONS="-r $work/hook.js" \
  node bin/dashseg.js synth stills --out "$work/probe" --count 4 --seed 1 --workers 2 -q)

mkdir "$work/bundle"
cp "$(command -v node)" "$work/bundle/node"
cp -r "$root/bin" "$root/dist" "$root/config" "$root/package.json" "$work/bundle/"
rm -rf "$work/bundle/dist/test"
# Each loaded file under node_modules, with its package's package.json (which names the file `require` resolves).
grep "^$root/node_modules/" "$work/loaded" | sort -u | while read -r file; do
  relative=${file#"$root/"}
  package=$(echo "$relative" | sed -E 's#^(node_modules/(@[^/]+/)?[^/]+)/.*#\1#')
  mkdir -p "$work/bundle/$(dirname "$relative")"
  cp "$file" "$work/bundle/$relative"
  cp "$root/$package/package.json" "$work/bundle/$package/package.json"
done
tar cf - -C "$work/bundle" . | xz -T0 -9 > "$out"
echo "$(du -h "$out" | cut -f1) $out: node $(node --version), $(grep -c "^$root/node_modules/" "$work/loaded" | tr -d '\n') module files"
