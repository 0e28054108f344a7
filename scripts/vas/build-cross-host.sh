#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cross-build our QEMU to run on an ARM host, static, linked against the
# packages of the system's own Debian suite for that architecture (the
# cross gcc and its libc come from that suite too), unpacked into a
# sysroot in $VAS_CACHE.  Static, so that a test host needs no shared
# libraries of its architecture.
#
#   build-cross-host.sh arm64   qemu-system-aarch64 with KVM and TCG, for
#                               the ARM test host (arm64 Linux with KVM)
#   build-cross-host.sh armhf   qemu-system-arm with TCG only: QEMU 5.2
#                               and Linux 5.7 removed KVM on 32-bit ARM
#                               hosts, QEMU 10.0 64-bit guests on 32-bit
#                               hosts
#
# Static and not PIE: a static PIE this big overflows the small GOT that
# Debian's arm64 libc.a was compiled for ("too many GOT entries for
# -fpic").  Only the virt board (configs/devices/*/vas-arm-host.mak).
#
# Prints the binary's path ($VAS_BUILD/obj-ARCH-host/qemu-system-...).
set -euo pipefail
. "$(dirname "$0")/common.sh"

arch=${1:?usage: build-cross-host.sh arm64|armhf}
case $arch in
arm64) triplet=aarch64-linux-gnu; target=aarch64; accels=(--enable-kvm) ;;
armhf) triplet=arm-linux-gnueabihf; target=arm; accels=(--disable-kvm) ;;
*) vas_die "unknown host architecture $arch (arm64, armhf)" ;;
esac
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
src=$VAS_BUILD/qemu
obj=$VAS_BUILD/obj-$arch-host
sysroot=$VAS_CACHE/sysroot-$arch-$codename
debs=$VAS_CACHE/debs/$codename-$arch
binary=qemu-system-$target

# What a static QEMU with nothing but its accelerators links: glib and what its
# static library needs, libfdt for the virt board, zlib; and the C library,
# so that the sysroot is a whole one that gcc --sysroot finds everything in.
packages=(libc6 libc6-dev linux-libc-dev libcrypt1 libcrypt-dev
          libglib2.0-dev libpcre2-dev libfdt-dev zlib1g-dev)

[ -d "$src" ] || vas_die "no laid-out source in $src: run 'make layout' first"
command -v "$triplet-gcc" >/dev/null ||
    vas_die "$triplet-gcc missing: run 'make deps' (as root)"

stamp=$sysroot/.packages
if [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
    vas_log "unpacking $arch packages of $codename into $sysroot"
    mkdir -p "$debs"
    (cd "$debs" && VAS_SUITE=$codename "$VAS_TOP/scripts/vas/apt-private.sh" \
        apt-get -q download "${packages[@]/%/:$arch}" >&2) ||
        vas_die "cannot download the $arch packages of $codename"
    rm -rf "$sysroot"
    mkdir -p "$sysroot"
    for p in "${packages[@]}"; do
        # shellcheck disable=SC2012  # Debian package file names
        deb=$(ls -t "$debs/${p}"_*_"$arch".deb | head -n 1)
        dpkg-deb -x "$deb" "$sysroot"
    done
    echo "${packages[*]}" > "$stamp"
fi

export PKG_CONFIG=pkg-config
export PKG_CONFIG_SYSROOT_DIR=$sysroot
export PKG_CONFIG_LIBDIR=$sysroot/usr/lib/$triplet/pkgconfig:$sysroot/usr/share/pkgconfig
export CCACHE_DIR=${CCACHE_DIR:-$VAS_CACHE/ccache}
export CCACHE_BASEDIR=$VAS_TOP
export CCACHE_NOHASHDIR=1

ccache=
command -v ccache >/dev/null && ccache="ccache "
config_args=(
    --python=/usr/bin/python3
    "--cross-prefix=$triplet-"
    --cc="${ccache}$triplet-gcc"
    "--target-list=$target-softmmu"
    --static --disable-pie
    --without-default-devices "--with-devices-$target=vas-arm-host"
    --extra-cflags="--sysroot=$sysroot"
    --extra-ldflags="--sysroot=$sysroot"
    --disable-download
    --without-default-features
    "${accels[@]}" --enable-tcg --enable-fdt=system
    --enable-trace-backends=log
    --disable-docs --disable-werror --disable-install-blobs
)

if [ ! -f "$obj/build.ninja" ] ||
   [ "$(cat "$obj/vas-config-args" 2>/dev/null)" != "${config_args[*]}" ]; then
    vas_log "configuring the $arch-host QEMU in $obj"
    mkdir -p "$obj"
    (cd "$obj" && "$src/configure" "${config_args[@]}") > "$obj/configure.log" 2>&1 ||
        { tail -n 30 "$obj/configure.log" >&2
          vas_die "configure failed (see $obj/configure.log)"; }
    echo "${config_args[*]}" > "$obj/vas-config-args"
fi
vas_log "building the $arch-host $binary"
ninja -C "$obj" "$binary" >&2
file "$obj/$binary" | grep -q ' ARM.*statically linked' ||
    vas_die "$obj/$binary is not a static ARM binary"
echo "$obj/$binary"
