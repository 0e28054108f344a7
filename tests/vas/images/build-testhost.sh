#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build a nested KVM "test host" (L1) image: build/images/testhost-ARCH/
# {kernel,initrd,cmdline,qemu-args}.  The host's own /dev/kvm cannot boot
# Linux (see docs/devel/vas-testing.rst), so KVM tests run our QEMU inside
# this L1, which runs under TCG with hardware virtualization emulated.
#
#   build-testhost.sh x86_64   Debian kernel + kvm/kvm-amd modules, busybox,
#                              kvm-probe, our qemu-system-x86_64 with its
#                              libraries and firmware, the x86_64 guest
#   build-testhost.sh arm64    Debian arm64 kernel (KVM built in, VHE under
#                              virtualization=on), busybox, kvm-probe, our
#                              static arm64-host qemu-system-aarch64
#                              (build-cross-host.sh), the arm64 and armhf
#                              guests
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/scripts/vas/common.sh"
. "$top/tests/vas/images/debs.sh"
. "$top/tests/vas/images/initramfs.sh"

arch=${1:?usage: build-testhost.sh x86_64|arm64}
case $arch in
x86_64) debarch=amd64; cc=gcc ;;
arm64)  debarch=arm64; cc=aarch64-linux-gnu-gcc ;;
*) vas_die "unknown test host arch $arch" ;;
esac

out=$VAS_BUILD/images/testhost-$arch
obj=$VAS_BUILD/obj
kdeb=$(vas_kernel_deb "$debarch")
bdeb=$(vas_busybox_deb "$debarch")

inputs=("$kdeb" "$bdeb" "$0" "$top/tests/vas/testhost/init"
        "$top/tests/vas/testhost/kvm-probe.c" "$top/tests/vas/images/initramfs.sh")
if [ "$arch" = x86_64 ]; then
    "$top/tests/vas/images/build-guest.sh" x86_64 >/dev/null
    inputs+=("$obj/qemu-system-x86_64" "$VAS_BUILD/images/guest-x86_64/kernel"
             "$VAS_BUILD/images/guest-x86_64/initrd")
else
    arm_qemu=$("$top/scripts/vas/build-cross-host.sh" arm64)
    inputs+=("$arm_qemu")
    for g in arm64 armhf; do
        "$top/tests/vas/images/build-guest.sh" $g >/dev/null
        inputs+=("$VAS_BUILD/images/guest-$g/kernel" "$VAS_BUILD/images/guest-$g/initrd")
    done
fi
stamp=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$out"
    exit 0
fi

vas_log "building test host image $out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,lib/modules,usr/bin,usr/share}
dpkg-deb -x "$kdeb" "$work/kernel"
vas_busybox_install "$bdeb" "$root"
install -m 0755 "$top/tests/vas/testhost/init" "$root/init"
$cc -static -O2 -Wall -o "$root/bin/kvm-probe" "$top/tests/vas/testhost/kvm-probe.c"

# Debian 13 ships modules under /usr/lib (merged /usr).
moddir=$(ls -d "$work"/kernel/usr/lib/modules/* "$work"/kernel/lib/modules/* 2>/dev/null | head -n 1 || true)
mkdir -p "$out"
cp "$(ls "$work"/kernel/boot/vmlinu* | head -n 1)" "$out/kernel"


if [ "$arch" = x86_64 ]; then
    vas_add_modules "$moddir" "$root" kvm-amd
    # Our QEMU, its shared libraries and the firmware it loads.
    strip -o "$root/usr/bin/qemu-system-x86_64" "$obj/qemu-system-x86_64"
    for lib in $(ldd "$obj/qemu-system-x86_64" | grep -o '/[^ ]*'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    fw=$root/usr/share/qemu
    mkdir -p "$fw"
    cp /usr/share/seabios/bios-256k.bin /usr/share/seabios/bios.bin "$fw/"
    for f in linuxboot.bin linuxboot_dma.bin kvmvapic.bin pvh.bin \
             multiboot.bin multiboot_dma.bin; do
        cp -L "/usr/share/qemu/$f" "$fw/"
    done
    cp -L /usr/lib/ipxe/qemu/efi-virtio.rom "$fw/" 2>/dev/null || true
    mkdir -p "$root/guest"
    cp "$VAS_BUILD/images/guest-x86_64/"{kernel,initrd,cmdline} "$root/guest/"
    echo "-M pc -cpu max -accel tcg,thread=multi -smp 2 -m 3G" > "$out/qemu-args"
else
    # Static: L1 has no arm64 shared libraries.  Firmware: none, the virt
    # board boots -kernel directly.
    aarch64-linux-gnu-strip -o "$root/usr/bin/qemu-system-aarch64" "$arm_qemu"
    for g in arm64 armhf; do
        mkdir -p "$root/guest-$g"
        cp "$VAS_BUILD/images/guest-$g/"{kernel,initrd,cmdline,qemu-args} "$root/guest-$g/"
    done
    echo "-M virt,virtualization=on,gic-version=3 -cpu max,pauth-impdef=on -accel tcg,thread=multi -smp 2 -m 2G" > "$out/qemu-args"
fi

case $arch in
x86_64) echo "console=ttyS0 quiet panic=-1" > "$out/cmdline" ;;
arm64)  echo "console=ttyAMA0 quiet panic=-1" > "$out/cmdline" ;;
esac
vas_cpio "$root" "$out/initrd"
echo "$stamp" > "$out/stamp"
echo "$out"
