#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install everything the build and the tests need from Debian.  Idempotent
# and quick when all is present.  Run as root.
#
# From the system's own release: compilers (host and the ARM cross
# compilers for the guest workload), QEMU's build dependencies, firmware
# (seabios, ipxe-qemu, qemu-system-data: the +ds upstream tarball carries no
# firmware blobs), the test runner.
# From $VAS_SUITE as .debs: meson >= 1.5 and python3-pycotap, which QEMU 10
# needs and Debian 12 does not have.
set -euo pipefail
. "$(dirname "$0")/common.sh"

system_pkgs=(
    build-essential git ninja-build pkg-config ccache flex bison
    python3 python3-venv python3-setuptools python3-pytest python3-pytest-timeout
    libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev zlib1g-dev
    libcap-ng-dev libattr1-dev libzstd-dev
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
    seabios ipxe-qemu qemu-system-data
    cpio xz-utils zstd file kmod util-linux iproute2 procps
)
suite_pkgs=(meson python3-pycotap)

# version of an installed package, or nothing
installed() { dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null |
              sed -n "s/^ii *//p" || true; }

missing=()
for p in "${system_pkgs[@]}"; do
    [ -n "$(installed "$p")" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || vas_die "need root to install: ${missing[*]}"
    vas_log "installing from Debian: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update >&2 || true
    apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
fi

need_suite=()
meson_ver=$(installed meson)
if [ -z "$meson_ver" ] ||
   ! dpkg --compare-versions "$meson_ver" ge 1.5.0; then
    need_suite+=(meson)
fi
[ -n "$(installed python3-pycotap)" ] || need_suite+=(python3-pycotap)
if [ ${#need_suite[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || vas_die "need root to install: ${need_suite[*]}"
    debs=$VAS_CACHE/debs/$VAS_SUITE
    mkdir -p "$debs"
    vas_log "installing from Debian $VAS_SUITE: ${need_suite[*]}"
    (cd "$debs" && "$VAS_TOP/scripts/vas/apt-private.sh" \
        apt-get -q download "${need_suite[@]}" >&2)
    files=()
    for p in "${need_suite[@]}"; do
        files+=("$(ls -t "$debs/${p}_"*_all.deb | head -n 1)")
    done
    DEBIAN_FRONTEND=noninteractive apt-get -q install -y \
        --no-install-recommends "${files[@]}" >&2
fi
vas_log "dependencies present"
