# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared settings for the QEMU-VAS build scripts.  Sourced, not executed.
#
# Everything downloaded or built that does not belong in a clone lives in
# $VAS_CACHE (default /var/cache/qemu-vas), so a fresh clone reuses it.

shopt -s inherit_errexit 2>/dev/null || true

VAS_TOP=${VAS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VAS_CACHE=${VAS_CACHE:-/var/cache/qemu-vas}
VAS_BUILD=${VAS_BUILD:-$VAS_TOP/build}

# The suite that provides the pinned upstream source, new-enough meson and
# the guest kernels.
VAS_SUITE=${VAS_SUITE:-trixie}

vas_log() { printf '[vas] %s\n' "$*" >&2; }
vas_die() { printf '[vas] error: %s\n' "$*" >&2; exit 1; }

# Read KEY=VALUE pins (no shell evaluation of the file).
vas_pin() {
    sed -n "s/^$1=//p" "$VAS_TOP/scripts/vas/upstream.pin"
}
