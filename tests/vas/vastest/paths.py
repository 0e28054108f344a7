# SPDX-License-Identifier: GPL-2.0-or-later
"""Where the build puts what the tests use."""

import os

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
BUILD = os.environ.get('VAS_BUILD', os.path.join(TOP, 'build'))
OBJ = os.path.join(BUILD, 'obj')
IMAGES = os.path.join(BUILD, 'images')
LOGS = os.path.join(BUILD, 'test-logs')
# Firmware the +ds upstream tarball lacks: Debian's packages.
FIRMWARE_DIRS = ['/usr/share/seabios', '/usr/share/qemu', '/usr/lib/ipxe/qemu']


def qemu_binary(arch):
    """Our qemu-system binary for a guest architecture."""
    target = {'x86_64': 'x86_64', 'arm64': 'aarch64', 'armhf': 'aarch64',
              'aarch64': 'aarch64'}[arch]
    return os.path.join(OBJ, 'qemu-system-' + target)


def image(name):
    """Directory of a built image: guest-ARCH or testhost-ARCH."""
    return os.path.join(IMAGES, name)


def read_image_file(name, what):
    with open(os.path.join(image(name), what)) as f:
        return f.read().strip()
