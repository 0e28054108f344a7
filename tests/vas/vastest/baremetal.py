# SPDX-License-Identifier: GPL-2.0-or-later
"""Bare-metal AArch64 test programs (tests/vas/guest/*.S), assembled with
Debian's cross binutils and linked where QEMU's virt board loads a
-kernel ELF."""

import os
import subprocess

GUEST_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'guest')


def build(name, tmp_path):
    """Assemble tests/vas/guest/<name>.S; returns the ELF's path."""
    obj, elf = tmp_path / (name + '.o'), tmp_path / (name + '.elf')
    subprocess.run(['aarch64-linux-gnu-as', '-o', obj,
                    os.path.join(GUEST_DIR, name + '.S')], check=True)
    # -N: no page alignment, a few KiB to copy into a test host
    subprocess.run(['aarch64-linux-gnu-ld', '-N', '--no-warn-rwx-segments',
                    '-Ttext=0x40080000', '-o', elf, obj], check=True)
    return elf
