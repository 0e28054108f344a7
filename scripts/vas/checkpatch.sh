#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run upstream's scripts/checkpatch.pl on our own C sources and on every
# patch in patches/.  Exit status is non-zero if any of them has errors.
set -uo pipefail
. "$(dirname "$0")/common.sh"

cp=$VAS_BUILD/qemu/scripts/checkpatch.pl
[ -x "$cp" ] || vas_die "no laid-out tree: run make layout"
rc=0
while read -r f; do
    "$cp" --no-tree --terse -f "$VAS_TOP/$f" || rc=1
done < <(git -C "$VAS_TOP" ls-files --cached --others --exclude-standard '*.c' '*.h' |
         grep -v '^build/')
for p in "$VAS_TOP"/patches/*.patch; do
    [ -e "$p" ] || continue
    "$cp" --no-tree --terse "$p" || rc=1
done
exit $rc
