#!/usr/bin/env bash
# Builds the container images the tests and the local cluster use, with no
# internet: Debian's busybox-static packed into OCI image layouts by umoci.
#
#   scripts/images/build.sh [OUT_DIR]     (default: .edgeplane/images)
#
# Produces OUT_DIR/oci (one OCI layout, tags "busybox" and "pause") and
# OUT_DIR/pause.tar / OUT_DIR/busybox.tar (OCI archives for `ctr images import`).
# Idempotent and cached: a stamp file records the inputs, so the images are
# built once per machine; concurrent callers serialise on a lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-.edgeplane/images}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BUSYBOX="$(command -v busybox || true)"
[ -n "$BUSYBOX" ] || { echo "build.sh: busybox-static is not installed (scripts/setup-host.sh)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "build.sh: umoci is not installed (scripts/setup-host.sh)" >&2; exit 1; }

exec 9>"$OUT/.lock"
flock 9
# Rebuild when busybox or this script changes.
STAMP="$(sha256sum "$BUSYBOX" "$0" | sha256sum | cut -c1-16)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] && [ -f "$OUT/pause.tar" ]; then
  exit 0
fi

rm -rf "$OUT/oci" "$OUT/work" "$OUT"/*.tar "$OUT/stamp"
mkdir -p "$OUT/work"
umoci init --layout "$OUT/oci"

# busybox: the static binary plus a symlink per applet, a passwd/group with
# root and nobody, and an empty /www for httpd.
umoci new --image "$OUT/oci:busybox"
umoci unpack --image "$OUT/oci:busybox" "$OUT/work/busybox"
ROOTFS="$OUT/work/busybox/rootfs"
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/www" "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev" "$ROOTFS/root"
chmod 1777 "$ROOTFS/tmp"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$ROOTFS/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"
echo "hello from edgeplane busybox" >"$ROOTFS/www/index.html"
umoci repack --image "$OUT/oci:busybox" "$OUT/work/busybox"
umoci config --image "$OUT/oci:busybox" --config.cmd sh --config.env PATH=/bin \
  --config.workingdir / --author edgeplane --architecture amd64 --os linux

# pause: the pod sandbox's init process. Same layer; it only sleeps until
# containerd kills it when the sandbox stops.
umoci new --image "$OUT/oci:pause"
umoci unpack --image "$OUT/oci:pause" "$OUT/work/pause"
mkdir -p "$OUT/work/pause/rootfs/bin"
cp "$BUSYBOX" "$OUT/work/pause/rootfs/bin/busybox"
umoci repack --image "$OUT/oci:pause" "$OUT/work/pause"
umoci config --image "$OUT/oci:pause" --config.entrypoint /bin/busybox --config.entrypoint sleep \
  --config.entrypoint 2147483647 --author edgeplane --architecture amd64 --os linux
umoci gc --layout "$OUT/oci"

# OCI archives (a tar of a layout holding one image) for `ctr images import`.
for tag in busybox pause; do
  skopeo copy --quiet "oci:$OUT/oci:$tag" "oci-archive:$OUT/$tag.tar:edgeplane.local/$tag:1"
done
rm -rf "$OUT/work"
echo "$STAMP" >"$OUT/stamp"
echo "build.sh: images in $OUT (busybox, pause)"
