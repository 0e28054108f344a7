# SPDX-License-Identifier: GPL-2.0-or-later
#
# Pieces shared by the image builders (build-guest.sh, build-testhost.sh).
# Sourced, not executed.

# vas_busybox_install DEB ROOT: busybox-static from DEB as ROOT/bin/busybox
# (the applets are installed at boot by /init).
vas_busybox_install() {
    local tmp
    tmp=$(mktemp -d)
    # /usr/bin/busybox in trixie, /bin/busybox before the /usr merge.
    dpkg-deb --fsys-tarfile "$1" | tar -C "$tmp" -x --wildcards '*bin/busybox'
    mkdir -p "$2/bin"
    install -m 0755 "$(ls "$tmp"/usr/bin/busybox "$tmp"/bin/busybox 2>/dev/null |
                       head -n 1)" "$2/bin/busybox"
    rm -rf "$tmp"
}

# vas_cpio ROOT OUT: ROOT as an uncompressed newc archive; unpacking is
# cheaper than decompressing when the kernel runs under TCG.
vas_cpio() {
    (cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$2"
}
