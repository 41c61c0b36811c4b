#!/usr/bin/env bash
# Makes the stand-in for the Dockerfile's NODE_IMAGE (node:20-bookworm-slim) in buildah's local
# storage, since no image registry is reachable here: a minimal Debian bookworm from Debian's
# own mirror (debootstrap), this machine's Node 20 binary at /usr/local/bin/node (where the
# official image has it), and npm 10 from the npm registry. Slow to make (about a minute), so
# the result is kept in buildah's storage under a name that says what is in it, and reused.
#
#   bash test/image/base.sh        prints the image name, making it first if needed
set -euo pipefail

# buildah's storage: its configured default (overlay where the kernel allows, as here), or
# MODELSTACK_BUILDAH_STORAGE=vfs where overlay mounts are not permitted.
buildah() { command buildah ${MODELSTACK_BUILDAH_STORAGE:+--storage-driver "$MODELSTACK_BUILDAH_STORAGE"} "$@"; }
NPM_VERSION=10.8.2
NODE_BIN=$(command -v node)
NODE_VERSION=$("$NODE_BIN" --version)
case "$NODE_VERSION" in v20.*) ;; *) echo "base.sh: the image runs Node 20; this machine's node is $NODE_VERSION" >&2; exit 1 ;; esac
IMAGE="localhost/modelstack-node-base:${NODE_VERSION#v}-npm${NPM_VERSION}-bookworm"

if buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE"
  exit 0
fi

work=$(mktemp -d /tmp/modelstack-base-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "base.sh: making $IMAGE (debootstrap bookworm minbase + node $NODE_VERSION + npm $NPM_VERSION)" >&2
debootstrap --variant=minbase bookworm "$work/root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# Node and npm where node:20-bookworm-slim keeps them.
install -D -m 0755 "$NODE_BIN" "$work/root/usr/local/bin/node"
(cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/root/usr/local/lib/node_modules/npm"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/root/usr/local/bin/npx"
# Trim what no image layer reads: apt lists, docs, man pages, locales.
rm -rf "$work/root"/var/lib/apt/lists/* "$work/root"/var/cache/apt/*.bin "$work/root"/usr/share/doc/* \
  "$work/root"/usr/share/man/* "$work/root"/usr/share/locale/*
chroot "$work/root" /usr/local/bin/node --version >/dev/null
chroot "$work/root" /usr/local/bin/npm --version >/dev/null

container=$(buildah from scratch)
buildah copy --quiet "$container" "$work/root/" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="${NODE_VERSION#v}" --cmd node "$container"
buildah commit --quiet --rm "$container" "$IMAGE" >/dev/null
echo "$IMAGE"
