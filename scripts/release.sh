#!/usr/bin/env bash
# Builds and checks the release artefacts in dist/:
#   cloud-ra-VERSION-x86_64-linux-musl.tar.gz  the static binary, completions and man pages
#   cloud-ra_VERSION_amd64.deb                 the same, installed under /usr (checked with dpkg -i)
#   packaging/Containerfile                    builds an image from dist/ (podman/buildah if present)
# Needs: the x86_64-unknown-linux-musl Rust target and musl-tools (installed here when missing and
# allowed: rustup, and apt-get as root).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
tdir="${CARGO_TARGET_DIR:-target}"

if ! rustup target list --installed | grep -qx "$target"; then
  # Exit 3: the target cannot be had here (no network to static.rust-lang.org); nothing was built.
  rustup target add "$target" || { echo "cannot install the Rust target $target" >&2; exit 3; }
fi
if ! command -v musl-gcc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
  else
    echo "musl-gcc not found: install Debian's musl-tools" >&2
    exit 1
  fi
fi

echo "== static binary ($target, release)"
start=$(date +%s)
cargo build --release --locked --target "$target" -p cloud-ra
echo "built in $(( $(date +%s) - start )) s"
bin="$tdir/$target/release/cloud-ra"

echo "== checks: static, runs"
file "$bin"
file "$bin" | grep -Eq "statically linked|static-pie linked" || { echo "not a static binary" >&2; exit 1; }
# ldd says "not a dynamic executable" (static) or "statically linked" (static-pie).
if ! ldd "$bin" 2>&1 | grep -Eq "not a dynamic executable|statically linked"; then
  echo "ldd finds dynamic dependencies:" >&2
  ldd "$bin" >&2
  exit 1
fi
"$bin" --version
"$bin" demo >/dev/null
version=$("$bin" --version | awk '{ print $2 }')

echo "== layout: binary, completions, man pages"
rm -rf dist
root=dist/root
mkdir -p "$root/usr/bin" "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" \
  "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/doc/cloud-ra"
install -m 0755 "$bin" "$root/usr/bin/cloud-ra"
strip --strip-all "$root/usr/bin/cloud-ra"
"$bin" completions bash > "$root/usr/share/bash-completion/completions/cloud-ra"
"$bin" completions zsh > "$root/usr/share/zsh/vendor-completions/_cloud-ra"
"$bin" completions fish > "$root/usr/share/fish/vendor_completions.d/cloud-ra.fish"
"$bin" man -o "$root/usr/share/man/man1"
gzip -9n "$root"/usr/share/man/man1/*.1
install -m 0644 README.md "$root/usr/share/doc/cloud-ra/README.md"
printf 'cloud-ra %s\nLicense: Apache-2.0\n' "$version" > "$root/usr/share/doc/cloud-ra/copyright"

echo "== tarball"
tar -C "$root/usr" -czf "dist/cloud-ra-$version-x86_64-linux-musl.tar.gz" bin share

echo "== Debian package (dpkg-deb: the layout above plus a control file; no build-time tool to install)"
pkg=dist/deb
cp -a "$root" "$pkg"
mkdir -p "$pkg/DEBIAN"
size=$(du -sk "$pkg/usr" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: cloud-ra
Version: $version
Architecture: amd64
Maintainer: cloud-ra developers <cloud-ra@example.invalid>
Section: admin
Priority: optional
Installed-Size: $size
Homepage: https://example.invalid/cloud-ra
Description: remote attestation for confidential computing on public clouds
 One static binary that collects attestation evidence on confidential machines (SEV-SNP, TDX,
 SGX, Nitro, Azure and GCE vTPMs) and verifies it anywhere, offline if need be; also the
 verifier service (cloud-ra serve). Includes shell completions and man pages.
CONTROL
deb="dist/cloud-ra_${version}_amd64.deb"
dpkg-deb --build --root-owner-group "$pkg" "$deb" >/dev/null
rm -rf "$pkg"
dpkg-deb --info "$deb" | sed -n '1,12p'
dpkg-deb --contents "$deb" | awk '{ print $6 }' | grep -E 'usr/bin/cloud-ra$|man1/cloud-ra.1.gz$|completions/cloud-ra$'

if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null; then
  echo "== dpkg -i, run from the installed path, dpkg -r"
  dpkg -i "$deb" >/dev/null
  /usr/bin/cloud-ra --version
  /usr/bin/cloud-ra demo >/dev/null
  test -f /usr/share/man/man1/cloud-ra-verify.1.gz
  dpkg -r cloud-ra >/dev/null
fi

echo "== container image (packaging/Containerfile)"
# Its build context: the host's CA bundle and an empty state directory beside the Containerfile.
mkdir -p packaging/state/var/lib/cloud-ra && chmod 0700 packaging/state/var/lib/cloud-ra
cp /etc/ssl/certs/ca-certificates.crt packaging/ca-certificates.crt 2>/dev/null || : > packaging/ca-certificates.crt
if ! command -v podman >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null 2>&1 || true
fi
container_check() {
  local image="localhost/cloud-ra:$version"
  podman build -q -f packaging/Containerfile -t "$image" . || return 1
  if podman run --rm "$image" --version 2>dist/podman-run.err; then
    rm -f dist/podman-run.err
    return 0
  fi
  # Some sandboxes refuse the runtime's setrlimit (crun: "setrlimit RLIMIT_NOFILE: Operation
  # not permitted"). Check what the image holds instead: its filesystem, its binary run here.
  echo "podman run failed here: $(tr '\n' ' ' < dist/podman-run.err)"
  echo "checking the image's filesystem instead"
  rm -f dist/podman-run.err
  local rootfs cid
  rootfs=$(mktemp -d)
  cid=$(podman create "$image") || return 1
  podman export "$cid" | tar -x -C "$rootfs" || return 1
  podman rm -f "$cid" >/dev/null
  "$rootfs/usr/bin/cloud-ra" --version || return 1
  test -f "$rootfs/etc/ssl/certs/ca-certificates.crt" || return 1
  test "$(stat -c '%u %a' "$rootfs/var/lib/cloud-ra")" = "65532 700" || return 1
  podman image inspect "$image" --format '{{.Config.User}} {{.Config.Entrypoint}} {{.Config.Cmd}}'
  rm -rf "$rootfs"
}
if command -v podman >/dev/null 2>&1; then
  # The image is checked where podman works; a podman that cannot build here (no storage driver,
  # no user namespaces) is reported loudly, not taken for a broken artefact.
  if ! container_check; then
    echo "WARNING: podman could not build or check the container image on this machine (see above)" >&2
  fi
elif command -v buildah >/dev/null 2>&1; then
  buildah bud -f packaging/Containerfile -t cloud-ra:"$version" . || echo "WARNING: buildah could not build the image here" >&2
else
  echo "no podman or buildah here: the Containerfile is not built"
fi
ls -l dist
