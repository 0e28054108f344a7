#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The overlay: build/qemu = pinned upstream + our own files + patches/.
#
#   overlay.sh layout   lay out (or bring up to date) build/qemu
#   overlay.sh export   write build/qemu's commits on top of upstream back
#                       to patches/, move new files into the repo
#   overlay.sh check    fail, naming the files, if build/qemu holds
#                       anything that patches/ and the repo do not
#
# build/qemu is a git repository.  Tag "upstream" is the pristine tarball;
# each patch in patches/series is one commit on top of it; our own files
# (every repo file outside the tooling directories) are symlinks into this
# repository, listed in .git/info/exclude, so editing them edits the repo.
set -euo pipefail
. "$(dirname "$0")/common.sh"

tree=$VAS_BUILD/qemu
patches=$VAS_TOP/patches
series=$patches/series

git_t() { git -C "$tree" "$@"; }

# Repo files that are not our own QEMU sources: tooling and top-level files.
own_files() {
    git -C "$VAS_TOP" ls-files --cached --others --exclude-standard |
        grep '/' |
        grep -Ev '^(\.ci|\.github|patches|build|scripts/vas)/' |
        sort -u
}

series_patches() {
    [ -f "$series" ] || return 0
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$series"
}

# The upstream tree as a git repository, cached so a fresh clone is quick.
upstream_repo() {
    local repo=$VAS_CACHE/upstream-$(vas_pin TOPDIR).git tarball tmp
    if [ ! -f "$repo/vas-ok" ]; then
        tarball=$("$VAS_TOP/scripts/vas/fetch-upstream.sh")
        vas_log "importing $(basename "$tarball") into $repo"
        rm -rf "$repo"
        tmp=$(mktemp -d "$VAS_CACHE/import.XXXXXX")
        tar -C "$tmp" --no-same-owner -xf "$tarball"
        (
            cd "$tmp/$(vas_pin TOPDIR)"
            git init -q -b master .
            git add -A -f .
            GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z \
            git -c user.name=upstream -c user.email=upstream@invalid \
                commit -q -m "upstream $(vas_pin TARBALL)"
            git tag upstream
        )
        git clone -q --bare "$tmp/$(vas_pin TOPDIR)" "$repo"
        rm -rf "$tmp"
        touch "$repo/vas-ok"
    fi
    echo "$repo"
}

# Tree object of upstream + patches/series, computed without a work tree.
expected_tree() {
    local idx p
    idx=$(mktemp)
    rm -f "$idx"
    GIT_INDEX_FILE=$idx git_t read-tree upstream
    while read -r p; do
        GIT_INDEX_FILE=$idx git_t apply --cached "$patches/$p" ||
            { rm -f "$idx"; vas_die "patches/$p does not apply"; }
    done < <(series_patches)
    GIT_INDEX_FILE=$idx git_t write-tree
    rm -f "$idx"
}

link_own_files() {
    local f exclude=$tree/.git/info/exclude
    mkdir -p "$(dirname "$exclude")"
    # Links to own files that were removed or renamed in the repo.
    find "$tree" -path "$tree/build" -prune -o -type l -lname "$VAS_TOP/*" \
        ! -exec test -e {} \; -print | xargs -r rm -f
    {
        echo "# our own files, symlinked from $VAS_TOP by overlay.sh"
        echo "/build/"
    } > "$exclude"
    while read -r f; do
        if git_t cat-file -e "upstream:$f" 2>/dev/null; then
            vas_die "$f exists upstream: change upstream files through patches/, not by replacing them"
        fi
        mkdir -p "$tree/$(dirname "$f")"
        ln -sfn "$VAS_TOP/$f" "$tree/$f"
        echo "/$f" >> "$exclude"
    done < <(own_files)
}

# Files in build/qemu that are neither upstream+patches nor our symlinks.
stray_files() {
    git_t status --porcelain --untracked-files=all | sed 's/^...//'
}

do_check() {
    local want have bad
    [ -d "$tree/.git" ] || { vas_log "no laid-out tree; nothing to check"; return 0; }
    bad=$(stray_files)
    if [ -n "$bad" ]; then
        printf '[vas] build/qemu has edits that patches/ does not hold:\n' >&2
        printf '  %s\n' $bad >&2
        printf '[vas] commit them in build/qemu (one commit per logical change) and run "make patches-export"\n' >&2
        return 1
    fi
    want=$(expected_tree)
    have=$(git_t rev-parse 'HEAD^{tree}')
    if [ "$want" != "$have" ]; then
        printf '[vas] build/qemu differs from upstream + patches/ in:\n' >&2
        git_t diff --name-only "$want" "$have" | sed 's/^/  /' >&2
        printf '[vas] run "make patches-export" to keep these changes, or "make layout FORCE=1" to drop them\n' >&2
        return 1
    fi
    # A link replaced by a plain file would silently fork our sources.  (A
    # link not made yet loses nothing: the next layout makes it.)
    while read -r f; do
        if [ -e "$tree/$f" ] && [ ! -L "$tree/$f" ]; then
            printf '[vas] build/qemu/%s is no longer a link to the repo copy\n' "$f" >&2
            return 1
        fi
    done < <(own_files)
    vas_log "build/qemu matches upstream + patches/ + own files"
}

do_layout() {
    local repo want p
    repo=$(upstream_repo)
    if [ -d "$tree/.git" ] && [ "${FORCE:-0}" != 1 ]; then
        want=$(expected_tree)
        if [ -z "$(stray_files)" ] &&
           [ "$want" = "$(git_t rev-parse 'HEAD^{tree}')" ]; then
            link_own_files
            vas_log "build/qemu is up to date"
            return 0
        fi
        # Re-applying is only safe when nothing local would be lost.
        if [ -n "$(stray_files)" ] ||
           [ "$(git_t rev-parse HEAD)" != "$(git_t rev-parse refs/vas/applied 2>/dev/null)" ]; then
            do_check || true
            vas_die "build/qemu holds work that patches/ does not; export it or use FORCE=1"
        fi
    fi
    vas_log "laying out build/qemu"
    if [ ! -d "$tree/.git" ]; then
        rm -rf "$tree"
        mkdir -p "$VAS_BUILD"
        git clone -q --shared "$repo" "$tree"
        git_t fetch -q --tags "$repo"
    fi
    git_t checkout -q -f -B vas upstream
    git_t clean -q -fdx -e /build/
    while read -r p; do
        git_t -c user.name=vas -c user.email=vas@invalid \
            am -q --keep-cr --committer-date-is-author-date "$patches/$p" ||
            { git_t am --abort || true; vas_die "patches/$p does not apply"; }
    done < <(series_patches)
    git_t update-ref refs/vas/applied HEAD
    link_own_files
}

do_export() {
    local bad f n
    [ -d "$tree/.git" ] || vas_die "no laid-out tree: run make layout"
    # New files belong to the repo, not to a patch: move them over.
    while read -r f; do
        [ -n "$f" ] || continue
        if git_t ls-files --error-unmatch "$f" >/dev/null 2>&1; then
            continue
        fi
        if [ -f "$tree/$f" ] && [ ! -L "$tree/$f" ]; then
            vas_log "new file $f: moving it into the repo"
            mkdir -p "$VAS_TOP/$(dirname "$f")"
            mv "$tree/$f" "$VAS_TOP/$f"
        fi
    done < <(stray_files)
    link_own_files
    bad=$(git_t status --porcelain --untracked-files=all | sed 's/^...//')
    if [ -n "$bad" ]; then
        printf '[vas] uncommitted edits to upstream files in build/qemu:\n' >&2
        printf '  %s\n' $bad >&2
        vas_die "commit them (git -C build/qemu commit) so each becomes one patch with a why-header"
    fi
    mkdir -p "$patches"
    rm -f "$patches"/*.patch
    git_t format-patch -q --zero-commit --no-signature --no-numbered \
        -o "$patches" upstream..HEAD
    {
        echo "# QEMU-VAS patches to upstream files, applied in this order."
        echo "# Regenerate with 'make patches-export'; see README.md."
        (cd "$patches" && ls -1 ./*.patch 2>/dev/null | sed 's|^\./||')
    } > "$series"
    git_t update-ref refs/vas/applied HEAD
    n=$(series_patches | wc -l)
    vas_log "patches/ now holds $n patch(es)"
}

case "${1:-}" in
layout) do_layout ;;
check)  do_check ;;
export) do_export ;;
*) echo "usage: $0 layout|check|export" >&2; exit 2 ;;
esac
