#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Make the pinned upstream tarball available in $VAS_CACHE/src and verify its
# SHA-256.  Prints the tarball's path.
#
# Sources, in order: $VAS_UPSTREAM_TARBALL (a local file the user supplies),
# the cache, Debian's source package through the private apt configuration.
set -euo pipefail
. "$(dirname "$0")/common.sh"

tarball=$(vas_pin TARBALL)
want=$(vas_pin TARBALL_SHA256)
pkg=$(vas_pin SOURCE_PACKAGE)
ver=$(vas_pin SOURCE_VERSION)
dest=$VAS_CACHE/src/$tarball

verify() {
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$want" ] && return 0
    vas_log "$1: SHA-256 $got does not match the pinned $want"
    return 1
}

mkdir -p "$VAS_CACHE/src"
if [ -n "${VAS_UPSTREAM_TARBALL:-}" ]; then
    [ -f "$VAS_UPSTREAM_TARBALL" ] ||
        vas_die "VAS_UPSTREAM_TARBALL=$VAS_UPSTREAM_TARBALL: no such file"
    verify "$VAS_UPSTREAM_TARBALL" ||
        vas_die "VAS_UPSTREAM_TARBALL is not the pinned $tarball"
    echo "$VAS_UPSTREAM_TARBALL"
    exit 0
fi

if [ -f "$dest" ] && verify "$dest"; then
    echo "$dest"
    exit 0
fi
rm -f "$dest"

vas_log "fetching $pkg=$ver source from Debian $VAS_SUITE"
tmp=$(mktemp -d "$VAS_CACHE/src/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && "$VAS_TOP/scripts/vas/apt-private.sh" \
        apt-get -q source --download-only "$pkg=$ver" >&2); then
    vas_die "cannot download Debian source package $pkg=$ver ($tarball).
  Supply the tarball yourself: VAS_UPSTREAM_TARBALL=/path/to/$tarball make
  (SHA-256 $want), or copy it to $dest."
fi
[ -f "$tmp/$tarball" ] ||
    vas_die "source package $pkg=$ver did not contain $tarball"
verify "$tmp/$tarball" || vas_die "refusing an unverified upstream tarball"
mv "$tmp/$tarball" "$dest"
echo "$dest"
