#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Boot the test guest for ARCH (x86_64, arm64, armhf) under TCG with the
# build's QEMU and print its console, each line stamped with the seconds
# since QEMU was started.  Exit status 0 if the guest's workload says
# "VAS-VERDICT OK".  A manual check for developers; the real tests are in
# tests/vas/test_*.py.
#
#   boot-smoke.sh ARCH [KERNEL-PARAM...]
#   boot-smoke.sh x86_64 vas.selftest_fail=mem    (must end in FAIL)
#
# Defaults: vas.duration=10 vas.interval_ms=500; later parameters win.
# QEMU_EXTRA adds QEMU arguments (e.g. QEMU_EXTRA="-smp 2").
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=SCRIPTDIR/../../../scripts/vas/common.sh
. "$top/scripts/vas/common.sh"

arch=${1:?usage: boot-smoke.sh x86_64|arm64|armhf [KERNEL-PARAM...]}
shift
case $arch in
x86_64) qemu=$VAS_BUILD/obj/qemu-system-x86_64 ;;
arm64|armhf) qemu=$VAS_BUILD/obj/qemu-system-aarch64 ;;
*) vas_die "unknown guest arch '$arch'" ;;
esac
[ -x "$qemu" ] || vas_die "$qemu not built yet"
img=$("$top/tests/vas/images/build-guest.sh" "$arch")

append="$(cat "$img/cmdline") vas.duration=10 vas.interval_ms=500 $*"
read -ra machine < "$img/qemu-args"
read -ra extra <<< "${QEMU_EXTRA:-}"
cmd=("$qemu" -L /usr/share/seabios -L /usr/share/qemu
     -no-user-config -nodefaults -display none -serial stdio
     -accel tcg -m 512 "${machine[@]}" "${extra[@]}"
     -kernel "$img/kernel" -initrd "$img/initrd" -append "$append")
echo "${cmd[*]}" >&2

start=$EPOCHREALTIME
verdict=none
while IFS= read -r line; do
    line=${line%$'\r'}
    ms=$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))
    printf '[%3d.%03d] %s\n' $((ms / 1000)) $((ms % 1000)) "$line"
    case $line in
    *VAS-VERDICT\ OK*) verdict=OK ;;
    *VAS-VERDICT\ FAIL*) verdict=FAIL ;;
    esac
done < <(timeout 300 "${cmd[@]}" < /dev/null 2>&1)
echo "boot-smoke $arch: verdict $verdict" >&2
[ "$verdict" = OK ]
