#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the test guest for ARCH (x86_64, arm64, armhf) into
# $VAS_BUILD/images/guest-ARCH/ and print that directory:
#
#   kernel     the Debian $VAS_SUITE kernel (bzImage, Image, zImage)
#   initrd     uncompressed newc cpio: busybox-static, /init from
#              tests/vas/guest/init, /bin/workload built from
#              tests/vas/guest/workload.c (static, cross-compiled),
#              /bin/ioload from tests/vas/guest/ioload.c, and the virtio
#              block and network modules ioload's devices need
#   cmdline    base kernel command line; tests append vas.duration=S,
#              vas.interval_ms=N, vas.mem_mib=N, vas.selftest_fail=mem|vec,
#              vas.disk=DEV, vas.net=IP:PORT
#   qemu-args  machine arguments for it (no -m, -accel, -smp)
#   workload   the workload binary, for running it elsewhere
#   stamp      hash of the inputs; the image is rebuilt only when it changes
#
# The kernel version is whatever the suite's flavour metapackage points to
# now (tests/vas/images/debs.sh), so a new Debian kernel means a rebuild.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=SCRIPTDIR/../../../scripts/vas/common.sh
. "$top/scripts/vas/common.sh"
# shellcheck source=SCRIPTDIR/debs.sh
. "$top/tests/vas/images/debs.sh"
# shellcheck source=SCRIPTDIR/initramfs.sh
. "$top/tests/vas/images/initramfs.sh"

arch=${1:?usage: build-guest.sh x86_64|arm64|armhf}
case $arch in
x86_64)
    debarch=amd64
    cc=(gcc)
    cmdline="console=ttyS0"
    # q35 spends ~30 s in SeaBIOS here; pc does not.
    qemu_args="-M pc -cpu max" ;;
arm64)
    debarch=arm64
    cc=(aarch64-linux-gnu-gcc)
    cmdline="console=ttyAMA0"
    # cortex-a57: -cpu max is 3-4x slower under TCG without pauth-impdef=on.
    qemu_args="-M virt -cpu cortex-a57" ;;
armhf)
    debarch=armhf
    cc=(arm-linux-gnueabihf-gcc -march=armv7-a -mfpu=neon -mfloat-abi=hard)
    cmdline="console=ttyAMA0"
    qemu_args="-M virt -cpu cortex-a15" ;;
*) vas_die "unknown guest arch '$arch' (x86_64, arm64, armhf)" ;;
esac
# panic=-1 with -no-reboot: a panicking guest ends QEMU instead of looping.
# loglevel=4: warnings and worse still reach the console for the tests.
cmdline+=" panic=-1 loglevel=4"
qemu_args+=" -no-reboot"

out=$VAS_BUILD/images/guest-$arch
src=$top/tests/vas/guest
kdeb=$(vas_kernel_deb "$debarch")
bdeb=$(vas_busybox_deb "$debarch")

# The .deb names carry the package versions, so they stand for the contents.
stamp=$({
    sha256sum "$0" "$src/init" "$src/workload.c" "$src/ioload.c" "$src/report.h" \
        "$top/tests/vas/images/initramfs.sh" | cut -d' ' -f1
    basename "$kdeb"
    basename "$bdeb"
    "${cc[0]}" --version | head -n 1
    echo "${cc[*]} | $cmdline | $qemu_args"
} | sha256sum | cut -d' ' -f1)

mkdir -p "$out"
exec 9> "$out/.lock"
flock 9
if [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$out"
    exit 0
fi

vas_log "building guest image $out ($(basename "$kdeb"))"
work=$(mktemp -d "$out/.work.XXXXXX")   # same file system: mv is atomic
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp}

# The kernel image, and the virtio disk and network drivers that /init
# loads when the command line asks for I/O load (vas.disk=, vas.net=).
dpkg-deb --fsys-tarfile "$kdeb" | tar -C "$work" -x --wildcards \
    './boot/vmlinuz-*' '*/modules/*/kernel/drivers/*' '*/modules/*/kernel/net/*'
kernel=$(ls "$work"/boot/vmlinuz-*)
moddir=$(ls -d "$work"/usr/lib/modules/* "$work"/lib/modules/* 2>/dev/null | head -n 1 || true)
vas_busybox_install "$bdeb" "$root"
mkdir -p "$root/etc"
vas_add_modules "$moddir" "$root" virtio_blk virtio_net
install -m 0755 "$src/init" "$root/init"
"${cc[@]}" -static -O2 -Wall -o "$work/workload" "$src/workload.c"
install -m 0755 "$work/workload" "$root/bin/workload"
"${cc[@]}" -static -O2 -Wall -o "$root/bin/ioload" "$src/ioload.c"
vas_cpio "$root" "$work/initrd"

# Replace each file atomically; the stamp goes last.
rm -f "$out/stamp"
echo "$cmdline" > "$work/cmdline"
echo "$qemu_args" > "$work/qemu-args"
mv "$kernel" "$out/kernel"
for f in initrd workload cmdline qemu-args; do
    mv "$work/$f" "$out/$f"
done
echo "$stamp" > "$out/stamp"
echo "$out"
