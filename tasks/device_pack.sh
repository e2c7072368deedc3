#!/usr/bin/env bash
# Packs the npm packages the device check imports into .device/node_modules.tar.xz (about 9 MB), since
# the full node_modules (about 180 MB: Dawn's binaries, playwright, every libvips build) is over the
# device tool's 64 MiB transfer limit. Run it here after `bash ../shared/device/prepare.sh` and after
# `deno install`; tasks/device_check.sh unpacks it on the GPU machine when node_modules is absent.
# Every package folder stays (Deno checks them against deno.lock); what is dropped is only the payload
# the device check never loads: Dawn's dist/, the musl and older libvips libraries, playwright's largest
# files. (`--gpu dawn` therefore does not work from this pack.)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/.deno ] || { echo "device_pack.sh: no node_modules here; run deno install first" >&2; exit 1; }
mkdir -p .device
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a node_modules "$work/"
(
  cd "$work/node_modules/.deno"
  rm -rf webgpu@*/node_modules/webgpu/dist
  for d in @img+sharp-libvips-linuxmusl-x64@* @img+sharp-libvips-linux-x64@1.2.*; do
    [ -d "$d" ] && find "$d" -name '*.so*' -delete
  done
  for d in playwright-core@*; do [ -d "$d" ] && find "$d" -type f -size +200k -delete; done
)
tar -C "$work" -cJf .device/node_modules.tar.xz.tmp node_modules
mv .device/node_modules.tar.xz.tmp .device/node_modules.tar.xz
ls -la .device/node_modules.tar.xz
