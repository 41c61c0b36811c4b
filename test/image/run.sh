#!/usr/bin/env bash
# `npm run test:image`: builds the runtime image's cpu target without a Docker daemon and runs
# train and serve inside it (test/image/check-image.ts), as SageMaker would run the container.
#
# buildah builds from the Dockerfile as it is (chroot isolation; no daemon, no registry): the
# node base is stood in by test/image/base.sh. The machine's CA bundle (NODE_EXTRA_CA_CERTS),
# when set, reaches the build's npm as a build secret, never as a layer. Prints the image's
# size and its cold start.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  echo "test:image: installing buildah and debootstrap from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah debootstrap >/dev/null
fi
buildah() { command buildah ${MODELSTACK_BUILDAH_STORAGE:+--storage-driver "$MODELSTACK_BUILDAH_STORAGE"} "$@"; }

base=$(bash test/image/base.sh)
image=localhost/modelstack-runtime:cpu
ca=${NODE_EXTRA_CA_CERTS:-}
empty_ca=$(mktemp)
[ -n "$ca" ] && [ -r "$ca" ] || ca=$empty_ca

started=$(date +%s)
log=$(mktemp)
buildah bud --quiet --isolation chroot --pull=never --layers \
  --build-arg NODE_IMAGE="$base" \
  --secret id=npm-ca,src="$ca" \
  --ignorefile model-runtime/Dockerfile.dockerignore \
  -f model-runtime/Dockerfile --target cpu -t "$image" . >"$log" 2>&1 \
  || { cat "$log"; echo "test:image: the build failed (log above)"; exit 1; }
grep '^install-check:' "$log" || true
rm -f "$empty_ca" "$log"
echo "test:image: built $image in $(( $(date +%s) - started )) s (from $base)"

echo "test:image: image $(buildah images --format '{{.Size}}' "$image"), node base $(buildah images --format '{{.Size}}' "$base")"

container=$(buildah from --pull=never "$image")
root=$(buildah mount "$container")
cleanup() {
  umount "$root/dev" "$root/proc" 2>/dev/null || true
  buildah umount "$container" >/dev/null 2>&1 || true
  buildah rm "$container" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mount --bind /dev "$root/dev"
mount -t proc proc "$root/proc"
env_json=$(buildah inspect --type image "$image" | node -e "let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => console.log(JSON.stringify(JSON.parse(s).OCIv1.config.Env)))")
npx tsx test/image/check-image.ts "$root" "$env_json"
