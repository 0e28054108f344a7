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


def cross_qemu(host):
    """Our QEMU built for an ARM host (scripts/vas/build-cross-host.sh)."""
    binary = {'arm64': 'qemu-system-aarch64', 'armhf': 'qemu-system-arm'}[host]
    return os.path.join(BUILD, 'obj-%s-host' % host, binary)


# Runs the armhf-host QEMU here (tests/vas/images/qemu-user.sh).
QEMU_ARM_USER = os.path.join(IMAGES, 'qemu-user', 'qemu-arm-static')


def image(name):
    """Directory of a built image: guest-ARCH or testhost-ARCH."""
    return os.path.join(IMAGES, name)


def read_image_file(name, what):
    with open(os.path.join(image(name), what)) as f:
        return f.read().strip()
