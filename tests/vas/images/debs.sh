#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch Debian $VAS_SUITE (trixie) packages for the guest and test-host
# images, once: they are kept in $VAS_CACHE/debs/$VAS_SUITE/ under the
# archive's own file names, so a package is downloaded again only when the
# suite moves on to a new version.
#
#   debs.sh ARCH PKG...   print the path of PKG's .deb for ARCH, one a line
#                         (a kernel flavour metapackage means its image)
#   debs.sh kernel ARCH   the real kernel image .deb (kernel and modules)
#                         behind the flavour metapackage of ARCH:
#                         amd64 linux-image-amd64, arm64 linux-image-arm64,
#                         armhf linux-image-armmp-lpae
#   debs.sh busybox ARCH  the busybox-static .deb
#
# ARCH is a Debian architecture: amd64, arm64 or armhf (x86_64 and aarch64
# are accepted as aliases).  Kernel versions are never pinned: the
# metapackage is resolved against the current package lists.  If the
# lists cannot be read (no mirror reachable), the newest cached .deb of
# the package is used, with a warning.
#
# Sourced, it only defines vas_debarch, vas_deb, vas_kernel_deb and
# vas_busybox_deb for the caller.

_vas_debs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../../../scripts/vas/common.sh
. "$_vas_debs_dir/../../../scripts/vas/common.sh"
_vas_apt=$VAS_TOP/scripts/vas/apt-private.sh

vas_debarch() {
    case $1 in
    amd64|x86_64)  echo amd64 ;;
    arm64|aarch64) echo arm64 ;;
    armhf)         echo armhf ;;
    *) vas_die "unknown Debian architecture '$1' (amd64, arm64, armhf)" ;;
    esac
}

# Newest cached .deb of a package (a glob pattern), for offline use.
_vas_deb_cached() {
    local pkg=$1 arch=$2
    # shellcheck disable=SC2012,SC2086  # names are Debian's; $pkg is a glob
    { ls -t "$VAS_CACHE/debs/$VAS_SUITE/"${pkg}_*_$arch.deb 2>/dev/null || true; } |
        head -n 1
}

# Field FIELD of the candidate version of PKG:ARCH.  apt-cache takes
# seconds here, so answers are remembered (in .fields-ID, ID naming the
# state of the package lists) until apt-private.sh refreshes the lists.
_vas_deb_field() {
    local key="$2:$3 $1" id memo val
    # No command: only the (daily) refresh of the lists, cheap otherwise.
    "$_vas_apt" >&2 || vas_log "warning: could not refresh the package lists"
    id=$({ stat -c '%n %s %Y' "$VAS_CACHE/apt/$VAS_SUITE"/lists/*Packages* 2>/dev/null ||
           true; } | sha256sum | cut -c1-16)
    memo=$VAS_CACHE/debs/$VAS_SUITE/.fields-$id
    if [ -f "$memo" ]; then
        val=$(awk -F '\t' -v k="$key" '$1 == k { print $2; exit }' "$memo")
        if [ -n "$val" ]; then
            echo "$val"
            return 0
        fi
    else
        rm -f "$VAS_CACHE/debs/$VAS_SUITE"/.fields-*
    fi
    val=$("$_vas_apt" apt-cache show --no-all-versions "$2:$3" 2>/dev/null |
          sed -n "s/^$1: //p" | head -n 1) || true
    [ -z "$val" ] || printf '%s\t%s\n' "$key" "$val" >> "$memo"
    echo "$val"
}

# vas_deb ARCH PKG: download PKG for ARCH if needed, print its path.
vas_deb() {
    local arch pkg=$2 dir file tmp deb
    arch=$(vas_debarch "$1")
    dir=$VAS_CACHE/debs/$VAS_SUITE
    mkdir -p "$dir"
    case $pkg in
    linux-image-amd64|linux-image-arm64|linux-image-armmp-lpae)
        vas_kernel_deb "$arch"      # the image, not the metapackage
        return 0 ;;
    esac
    file=$(_vas_deb_field Filename "$pkg" "$arch")
    if [ -z "$file" ]; then
        deb=$(_vas_deb_cached "$pkg" "$arch")
        [ -n "$deb" ] || vas_die "package $pkg:$arch not found in $VAS_SUITE"
        vas_log "warning: cannot resolve $pkg:$arch, using cached $(basename "$deb")"
        echo "$deb"
        return 0
    fi
    deb=$dir/$(basename "$file")
    if [ ! -s "$deb" ]; then
        # apt-get download verifies the archive's hashes.  Concurrent
        # builders serialize here so that each file is fetched once.
        (
            flock 9
            [ -s "$deb" ] && exit 0
            vas_log "downloading $pkg:$arch ($(basename "$file"))"
            tmp=$(mktemp -d "$dir/.dl.XXXXXX")
            trap 'rm -rf "$tmp"' EXIT
            (cd "$tmp" && "$_vas_apt" apt-get -q -o APT::Sandbox::User=root \
                 download "$pkg:$arch" >&2)
            # apt names the file with the epoch (1%3a...): keep the
            # archive's name instead.
            mv "$tmp"/*.deb "$deb"
        ) 9> "$dir/.lock"
    fi
    [ -s "$deb" ] || vas_die "download of $pkg:$arch failed"
    echo "$deb"
}

# vas_kernel_deb ARCH: the kernel image package behind the metapackage.
vas_kernel_deb() {
    local arch meta real
    arch=$(vas_debarch "$1")
    case $arch in
    amd64) meta=linux-image-amd64 ;;
    arm64) meta=linux-image-arm64 ;;
    armhf) meta=linux-image-armmp-lpae ;;
    esac
    # "Depends: linux-image-6.12.NN+debNN-FLAVOUR (= VERSION)"
    real=$(_vas_deb_field Depends "$meta" "$arch" | sed 's/[,|]/\n/g' |
           sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1) || true
    if [ -z "$real" ]; then
        local deb
        deb=$(_vas_deb_cached "linux-image-[0-9]*-${meta#linux-image-}" "$arch")
        [ -n "$deb" ] || vas_die "cannot resolve $meta:$arch and nothing cached"
        vas_log "warning: cannot resolve $meta:$arch, using cached $(basename "$deb")"
        echo "$deb"
        return 0
    fi
    vas_deb "$arch" "$real"
}

vas_busybox_deb() {
    vas_deb "$1" busybox-static
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case ${1:-} in
    kernel)
        [ $# -eq 2 ] || vas_die "usage: debs.sh kernel ARCH"
        vas_kernel_deb "$2" ;;
    busybox)
        [ $# -eq 2 ] || vas_die "usage: debs.sh busybox ARCH"
        vas_busybox_deb "$2" ;;
    ''|-h|--help)
        sed -n '3,/^$/s/^# \{0,1\}//p' "$0" >&2
        exit 2 ;;
    *)
        [ $# -ge 2 ] || vas_die "usage: debs.sh ARCH PKG..."
        arch=$1
        shift
        for p in "$@"; do
            vas_deb "$arch" "$p"
        done ;;
    esac
fi
