# SPDX-License-Identifier: GPL-2.0-or-later
"""patches-check catches build-tree edits that patches/ does not hold.

The edits go to MAINTAINERS, which the build does not read, so the test
leaves no rebuild behind.
"""

import os
import subprocess

from vastest import paths

OVERLAY = os.path.join(paths.TOP, 'scripts', 'vas', 'overlay.sh')
TREE = os.path.join(paths.BUILD, 'qemu')


def check():
    res = subprocess.run([OVERLAY, 'check'], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    return res.returncode, res.stdout.decode()


def test_clean_tree_passes():
    rc, out = check()
    assert rc == 0, out


def test_edit_to_upstream_file_is_caught():
    path = os.path.join(TREE, 'MAINTAINERS')
    with open(path) as f:
        orig = f.read()
    try:
        with open(path, 'a') as f:
            f.write('\n')
        rc, out = check()
        assert rc != 0
        assert 'MAINTAINERS' in out
    finally:
        with open(path, 'w') as f:
            f.write(orig)
    assert check()[0] == 0


def test_committed_edit_not_exported_is_caught():
    git = ['git', '-C', TREE, '-c', 'user.name=t', '-c', 'user.email=t@invalid']
    path = os.path.join(TREE, 'MAINTAINERS')
    head = subprocess.check_output(git + ['rev-parse', 'HEAD']).decode().strip()
    try:
        with open(path, 'w') as f:
            f.write('nobody\n')
        subprocess.check_call(git + ['commit', '-q', '-a', '-m', 'test edit'])
        rc, out = check()
        assert rc != 0
        assert 'MAINTAINERS' in out
    finally:
        subprocess.check_call(git + ['reset', '-q', '--hard', head])
    assert check()[0] == 0


def test_new_file_is_caught():
    path = os.path.join(TREE, 'accel', 'vas-test-stray.c')
    try:
        with open(path, 'w') as f:
            f.write('/* stray */\n')
        rc, out = check()
        assert rc != 0
        assert 'accel/vas-test-stray.c' in out
    finally:
        os.unlink(path)
    assert check()[0] == 0
