# SPDX-License-Identifier: GPL-2.0-or-later
"""Start-up checks of switchable mode: what is refused, and how.

These only initialize the accelerators (the VM never runs: -S), so they
run on this host's own /dev/kvm even where it cannot boot a guest.
"""

import os
import subprocess

import pytest

from vastest import paths

GUEST_ARGS = ['-M', 'pc', '-m', '256', '-nodefaults', '-display', 'none',
              '-no-user-config', '-S', '-monitor', 'none', '-serial', 'none']


def qemu(*args):
    """Run QEMU until it is up (-S) or fails; return (exit code, stderr)."""
    fw = []
    for d in paths.FIRMWARE_DIRS:
        fw += ['-L', d]
    cmd = [paths.qemu_binary('x86_64')] + fw + GUEST_ARGS + list(args)
    # A QEMU that starts waits at -S: stop it once it is up.
    p = subprocess.Popen(cmd + ['-qmp', 'stdio'], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, err = p.communicate('{"execute": "qmp_capabilities"}\n'
                             '{"execute": "query-accel"}\n'
                             '{"execute": "quit"}\n', timeout=60)
    return p.returncode, err, out


@pytest.fixture(autouse=True)
def need_kvm():
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        pytest.skip('no usable /dev/kvm on this host')


def test_switchable_starts():
    rc, err, out = qemu('-accel', 'kvm,switchable=on', '-cpu', 'qemu64')
    assert rc == 0, err
    assert '"active": "kvm", "switchable": true, "standby": "tcg"' in out, out
    rc, err, out = qemu('-accel', 'tcg,switchable=on', '-cpu', 'qemu64',
                        '-smp', '2')
    assert rc == 0, err
    assert '"active": "tcg", "switchable": true, "standby": "kvm"' in out, out


@pytest.mark.parametrize('args,message', [
    (['-accel', 'kvm,switchable=on,kernel-irqchip=on'],
     'kernel-irqchip=on: kernel-irqchip=on and kernel-irqchip=split are not '
     'supported yet'),
    (['-accel', 'kvm,switchable=on,kernel-irqchip=split'],
     'kernel-irqchip=split are not supported yet'),
    (['-accel', 'kvm,switchable=on', '-icount', 'shift=1'],
     'switchable=on: -icount is not supported'),
    (['-accel', 'tcg,switchable=on,thread=single', '-smp', '2'],
     'TCG must run one thread per vCPU'),
    (['-accel', 'kvm,switchable=on', '-cpu', 'qemu64,tsc-frequency=1000000000'],
     'tsc-frequency is not supported'),
])
def test_refused(args, message):
    rc, err, _ = qemu(*args)
    assert rc != 0
    assert message in err, err


@pytest.mark.parametrize('accel', ['kvm', 'tcg'])
def test_smm_needs_kvm_smm(accel):
    """smm=on works exactly where KVM has SMM (TCG runs SMM in KVM's SMRAM
    address space); elsewhere it is refused, saying why.  Plain KVM tells
    which case this host is."""
    kvm_has_smm = qemu('-accel', 'kvm', '-M', 'pc,smm=on')[0] == 0
    rc, err, _ = qemu('-accel', accel + ',switchable=on', '-M', 'pc,smm=on')
    if kvm_has_smm:
        assert rc == 0, err
    else:
        assert rc != 0
        assert ("switchable=on: SMM needs KVM's SMM support "
                "(KVM_CAP_X86_SMM), which this host's KVM lacks") in err, err


def test_cpu_model_tcg_cannot_emulate():
    """A named model with features TCG lacks is refused, naming them.

    KVM emulates IA32_ARCH_CAPABILITIES on any host; TCG does not.
    """
    rc, err, _ = qemu('-accel', 'kvm,switchable=on',
                      '-cpu', 'qemu64,+arch-capabilities')
    assert rc != 0
    assert ('switchable=on: CPU model has features TCG cannot emulate: '
            'arch-capabilities') in err, err


def test_plain_kvm_unchanged():
    """Without switchable=on, KVM still refuses a userspace APIC."""
    rc, err, _ = qemu('-accel', 'kvm,kernel-irqchip=off')
    assert rc != 0
    assert 'KVM does not support userspace APIC' in err, err
