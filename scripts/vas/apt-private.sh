#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run an apt command against a private configuration that adds the
# $VAS_SUITE suite (deb and deb-src, amd64/arm64/armhf) without touching the
# system's apt sources; VAS_SUITE may also be the system's own suite, for
# its arm64 packages (the sysroot of the aarch64-host build).  The mirror is the one the system already uses for
# its own Debian suite, so no host name is written anywhere in the repo.
#
#   apt-private.sh apt-get source --download-only qemu=VERSION
#   apt-private.sh apt-get download busybox-static:arm64
set -euo pipefail
. "$(dirname "$0")/common.sh"

# One state directory per suite: switching suites must not drop the lists
# of the other.
root=$VAS_CACHE/apt/$VAS_SUITE
conf=$root/apt.conf

# Print "URI KEYRING" for the system's main Debian archive entry.
system_mirror() {
    local codename files
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    files=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    # deb822 stanzas
    if [ -n "$files" ]; then
        awk -v cn="$codename" '
            BEGIN { RS=""; FS="\n" }
            {
                uri=""; suites=""; key=""; types=""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/)      { uri=$i;    sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
                    if ($i ~ /^Suites:/)    { suites=$i; sub(/^Suites:[ \t]*/, "", suites) }
                    if ($i ~ /^Signed-By:/) { key=$i;    sub(/^Signed-By:[ \t]*/, "", key) }
                    if ($i ~ /^Types:/)     { types=$i }
                }
                n = split(suites, s, /[ \t]+/)
                for (j = 1; j <= n; j++) {
                    if (s[j] == cn && types ~ /deb/ && uri != "") {
                        print uri, (key == "" ? "-" : key); exit
                    }
                }
            }' $files
    fi
    # one-line format
    if [ -f /etc/apt/sources.list ]; then
        sed -n "s/^deb \(\[[^]]*\] \)\?\([^ ]*\) $codename .*/\2 -/p" \
            /etc/apt/sources.list
    fi
}

setup() {
    local uri key
    read -r uri key < <(system_mirror | head -n 1) ||
        vas_die "no Debian mirror for this system's release found in /etc/apt; " \
                "set VAS_APT_MIRROR=<uri> to the Debian archive to use"
    uri=${VAS_APT_MIRROR:-$uri}
    [ "$key" = - ] && key=/usr/share/keyrings/debian-archive-keyring.gpg
    mkdir -p "$root"/{lists/partial,archives/partial,etc/preferences.d}
    touch "$root/status"
    cat > "$root/etc/sources.list.new" <<EOT
deb [signed-by=$key] $uri $VAS_SUITE main
deb-src [signed-by=$key] $uri $VAS_SUITE main
EOT
    cat > "$conf" <<EOT
Dir::State "$root";
Dir::State::Lists "$root/lists";
Dir::State::status "$root/status";
Dir::Cache "$root";
Dir::Etc::SourceList "$root/etc/sources.list";
Dir::Etc::SourceParts "$root/etc/none";
Dir::Etc::Preferences "$root/etc/preferences";
Dir::Etc::PreferencesParts "$root/etc/preferences.d";
APT::Architectures { "amd64"; "arm64"; "armhf"; };
APT::Get::AllowUnauthenticated "false";
EOT
    if ! cmp -s "$root/etc/sources.list.new" "$root/etc/sources.list"; then
        mv "$root/etc/sources.list.new" "$root/etc/sources.list"
        rm -f "$root/.updated"
    else
        rm -f "$root/etc/sources.list.new"
    fi
    # Refresh the package lists at most once a day.
    if [ -z "$(find "$root/.updated" -mmin -1440 2>/dev/null)" ]; then
        vas_log "updating private apt lists for $VAS_SUITE"
        APT_CONFIG=$conf apt-get -q update >&2
        touch "$root/.updated"
    fi
}

setup
[ $# -gt 0 ] || exit 0
export APT_CONFIG=$conf
exec "$@"
