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

# vas_add_modules MODDIR ROOT NAME...: the modules NAME and what they
# depend on, from the kernel's MODDIR, into ROOT/lib/modules, decompressed
# (busybox's insmod does not unpack .ko.xz), and listed deepest first in
# ROOT/etc/vas-modules, the order to insmod them.
vas_add_modules() {
    local moddir=$1 root=$2 name file dep
    shift 2
    mkdir -p "$root/lib/modules"
    touch "$root/etc/vas-modules"
    for name in "$@"; do
        name=${name//-/_}
        grep -qx "$name.ko" "$root/etc/vas-modules" && continue
        file=$(find "$moddir" -name "$name.ko*" -o -name "${name//_/-}.ko*" |
               head -n 1)
        [ -n "$file" ] || vas_die "module $name not in $moddir"
        for dep in $(modinfo -F depends "$file" | tr ',' ' '); do
            vas_add_modules "$moddir" "$root" "$dep"
        done
        case $file in
        *.xz)  xz -dc "$file" > "$root/lib/modules/$name.ko" ;;
        *.zst) zstd -qdc "$file" > "$root/lib/modules/$name.ko" ;;
        *)     cp "$file" "$root/lib/modules/$name.ko" ;;
        esac
        echo "$name.ko" >> "$root/etc/vas-modules"
    done
}
