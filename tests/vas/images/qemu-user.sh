#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Debian's qemu-arm-static for the armhf-host QEMU's tests: these machines
# have no ARMv7 CPU, so the static 32-bit build (build-cross-host.sh armhf)
# runs under user-mode emulation of one.  Unpacked into the build from the
# system suite's qemu-user-static package, not installed: installing it
# would register binfmt handlers for the whole machine.
#
# Prints the path of qemu-arm-static.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/scripts/vas/common.sh"
VAS_SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
export VAS_SUITE
. "$top/tests/vas/images/debs.sh"

deb=$(vas_deb amd64 qemu-user-static)
out=$VAS_BUILD/images/qemu-user
if [ "$(cat "$out/stamp" 2>/dev/null)" != "$(basename "$deb")" ]; then
    rm -rf "$out"
    mkdir -p "$out"
    dpkg-deb --fsys-tarfile "$deb" |
        tar -C "$out" -x --strip-components=3 ./usr/bin/qemu-arm-static
    basename "$deb" > "$out/stamp"
fi
echo "$out/qemu-arm-static"
