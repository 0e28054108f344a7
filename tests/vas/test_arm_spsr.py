# SPDX-License-Identifier: GPL-2.0-or-later
"""The SPSR of an AArch32 mode is one register for AArch64 EL2 and for
the mode itself, in the QEMU that emulates our ARM test host
(patches/0015): KVM in that host keeps an AArch32 guest's SPSRs through
it, and the armhf guest crashed when it did not.

A bare-metal program (tests/vas/guest/aa32-spsr.S) prints what each side
read."""

import subprocess

from vastest import baremetal, paths


def test_aa32_spsr_is_one_register(tmp_path):
    out = subprocess.run(
        [paths.qemu_binary('arm64'), '-M', 'virt,virtualization=on',
         '-cpu', 'max,pauth-impdef=on', '-m', '64', '-nodefaults',
         '-display', 'none', '-serial', 'stdio', '-no-reboot',
         '-kernel', baremetal.build('aa32-spsr', tmp_path)],
        capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.splitlines() == [
        'aa32 read SPSR 200001d3',          # what EL2 put in SPSR_irq
        'aa64 read SPSR_irq 400000d3',      # what IRQ mode put there
        'exception class 00000012',         # HVC from AArch32
    ], out
