#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Configure (once) and build the laid-out tree in build/obj: the
# qemu-system-x86_64 and qemu-system-aarch64 binaries for this host, with KVM
# and TCG, plus the upstream qtests we run.  ccache lives in $VAS_CACHE so a
# fresh clone rebuilds from cache.
#
#   build-qemu.sh [ninja targets...]
set -euo pipefail
. "$(dirname "$0")/common.sh"

src=$VAS_BUILD/qemu
obj=$VAS_BUILD/obj
targets=${VAS_TARGETS:-x86_64-softmmu,aarch64-softmmu}

export CCACHE_DIR=${CCACHE_DIR:-$VAS_CACHE/ccache}
export CCACHE_BASEDIR=$VAS_TOP
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}

# Firmware the +ds tarball lacks comes from Debian's packages; the build
# tree's own pc-bios/ comes first so option ROMs we build win.
firmware=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu

# QEMU's configure hands meson an explicit compiler, so meson's own ccache
# detection never applies: name ccache as part of the compiler.
ccache=
command -v ccache >/dev/null && ccache="ccache "

config_args=(
    --python=/usr/bin/python3
    --cc="${ccache}gcc" --cxx="${ccache}g++"
    --target-list="$targets"
    --disable-download
    --without-default-features
    --enable-kvm --enable-tcg --enable-plugins
    --enable-slirp --enable-fdt=system --enable-zstd
    --enable-attr --enable-cap-ng --enable-pixman
    --enable-trace-backends=log
    --disable-docs --disable-werror --disable-install-blobs
    --firmwarepath="$firmware"
)
# Shown by -version and query-version: which QEMU-VAS commit this is.
pkgversion="qemu-vas-$(git -C "$VAS_TOP" describe --always --dirty 2>/dev/null || echo unknown)"

stamp=$obj/vas-config-args
if [ ! -f "$obj/build.ninja" ] ||
   [ "$(cat "$stamp" 2>/dev/null)" != "${config_args[*]}" ]; then
    vas_log "configuring QEMU in $obj"
    mkdir -p "$obj"
    (cd "$obj" && "$src/configure" "${config_args[@]}" --with-pkgversion="$pkgversion") \
        > "$obj/configure.log" 2>&1 ||
        { tail -n 30 "$obj/configure.log" >&2; vas_die "configure failed (see $obj/configure.log)"; }
    echo "${config_args[*]}" > "$stamp"
    echo "$pkgversion" > "$obj/vas-pkgversion"
elif [ "$(cat "$obj/vas-pkgversion")" != "$pkgversion" ]; then
    # Only qemu-version.h depends on it: no need to configure again.
    "$obj/pyvenv/bin/meson" configure -Dpkgversion="$pkgversion" "$obj" >/dev/null
    echo "$pkgversion" > "$obj/vas-pkgversion"
fi

if [ $# -eq 0 ]; then
    set -- qemu-system-x86_64 qemu-system-aarch64
fi
vas_log "building: $*"
ninja -C "$obj" "$@"

# A QEMU run from the build tree looks for the configured firmware
# directories inside qemu-bundle/; point them at Debian's.
IFS=: read -ra fwdirs <<< "$firmware"
for d in "${fwdirs[@]}"; do
    if [ ! -e "$obj/qemu-bundle$d" ]; then
        mkdir -p "$(dirname "$obj/qemu-bundle$d")"
        ln -sfn "$d" "$obj/qemu-bundle$d"
    fi
done
ccache -s 2>/dev/null | grep -Ei 'hits|misses' | head -n 3 >&2 || true
