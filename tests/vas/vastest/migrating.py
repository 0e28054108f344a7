# SPDX-License-Identifier: GPL-2.0-or-later
"""Migrating our guest between two QEMUs on one host, over QMP."""

import itertools
import json
import os
import time

from .channel import Timeout

# A CPU model both accelerators present in full: a guest that saw it
# under one can go on under the other.  (-cpu max differs: KVM's follows
# the host, TCG's is what TCG emulates.)
CROSS_CPU = 'qemu64,x2apic=on,svm=off'

_ports = itertools.count(47000)


class MigrationFailed(Exception):
    pass


def uri(transport, name):
    """A migration URI for transport, on the host both QEMUs run on."""
    if transport == 'tcp':
        return 'tcp:127.0.0.1:%d' % next(_ports)
    if transport == 'unix':
        return 'unix:/tmp/%s.mig.sock' % name
    return 'file:/tmp/%s.mig' % name


def remove(vm, path):
    """Delete path where vm's QEMU runs."""
    host = getattr(vm, 'host', None)
    if host is not None:
        host.run('rm -f %s' % path)
    elif os.path.exists(path):
        os.unlink(path)


def status(vm):
    return vm.qmp.cmd('query-migrate')


def wait_done(vm, timeout):
    """Wait for vm's (outgoing or incoming) migration to end; return
    query-migrate's answer.  A destination that fails to load exits; its
    QMP channel in a test host does not close, so ask whether it lives."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            out = vm.qmp.cmd('query-migrate', timeout=10)
        except Timeout:
            if not vm.alive():
                raise MigrationFailed('%s exited:\n%s' % (
                    vm.name, '\n'.join(vm.qemu_log())))
            out = {}
        if out.get('status') in ('completed', 'failed', 'cancelled'):
            return out
        if time.monotonic() > deadline:
            raise MigrationFailed('migration still %s after %ss'
                                  % (out.get('status'), timeout))
        time.sleep(0.2)


def set_caps(vm, caps):
    if caps:
        vm.qmp.cmd('migrate-set-capabilities', {'capabilities': [
            {'capability': k, 'state': v} for k, v in caps.items()]})


def migrate(src, dst, to, timeout=600, caps=None, dst_caps=None, params=None):
    """Move the guest from src into dst, which was started with
    -incoming defer (and -S, so it stays paused), through the URI to.
    caps are migration capabilities for both sides ({name: bool}), or
    for the source only if dst_caps gives the destination's; params are
    more migration parameters for the source.

    Returns the source's query-migrate answer.  Raises MigrationFailed
    with the source's error if it failed.  A file has no reader while it
    is written: the destination starts reading once it is complete.
    """
    set_caps(src, caps)
    set_caps(dst, caps if dst_caps is None else dst_caps)
    # The guest dirties memory all the time: allow a long final stop
    # rather than copy for ever.
    src.qmp.cmd('migrate-set-parameters',
                dict({'downtime-limit': 20000}, **(params or {})))
    is_file = to.startswith('file:')
    if is_file:
        remove(src, to[5:])
    else:
        dst.qmp.cmd('migrate-incoming', {'uri': to})
    src.qmp.cmd('migrate', {'uri': to})
    out = wait_completed(src, timeout)
    if is_file:
        dst.qmp.cmd('migrate-incoming', {'uri': to})
    wait_completed(dst, timeout)
    if is_file:
        remove(src, to[5:])
    return out


def wait_completed(vm, timeout):
    """wait_done(), raising MigrationFailed unless it completed."""
    out = wait_done(vm, timeout)
    if out['status'] != 'completed':
        raise MigrationFailed('%s: %s: %s' % (vm.name, out['status'],
                                              out.get('error-desc', out)))
    return out


def shared_ram_args(path, mib):
    """Guest RAM in a file both QEMUs on one host map (share=on), which
    migration with x-ignore-shared does not copy."""
    return ['-object', 'memory-backend-file,id=vas-ram,size=%dM,mem-path=%s,'
            'share=on' % (mib, path), '-machine', 'memory-backend=vas-ram']


def memfd_ram_args(mib):
    """Guest RAM in a memfd, and with aux-ram-share every other RAM block
    (ROMs, video RAM) too: cpr-transfer hands their file descriptors to
    the destination QEMU, which maps the same memory."""
    return ['-object', 'memory-backend-memfd,id=vas-ram,size=%dM,share=on' % mib,
            '-machine', 'memory-backend=vas-ram,aux-ram-share=on']


def cpr_sockets(name):
    """The main and CPR channels of a cpr-transfer migration called name."""
    return '/tmp/%s.mig.sock' % name, '/tmp/%s.cpr.sock' % name


def cpr_channels(name):
    """The channels argument of migrate for cpr-transfer called name."""
    return [{'channel-type': kind,
             'addr': {'transport': 'socket', 'type': 'unix', 'path': path}}
            for kind, path in zip(('main', 'cpr'), cpr_sockets(name))]


def cpr_incoming_args(name):
    """-incoming options of a cpr-transfer destination.  Its monitor opens
    only once the source sent the CPR state: start it with connect=False."""
    main, cpr = cpr_channels(name)
    return ['-incoming', 'unix:' + main['addr']['path'],
            '-incoming', json.dumps(cpr)]


def incoming_args(name, cpr=False):
    """(args, connect) of a paused destination: -incoming defer, or the
    channels of cpr-transfer called name, before which QMP is closed."""
    if cpr:
        return ['-S'] + cpr_incoming_args(name), False
    return ['-incoming', 'defer', '-S'], True


def migrate_cpr(src, dst, name, timeout=600):
    """cpr-transfer from src into dst, started with cpr_incoming_args(name)
    (and -S, so it stays paused).  Returns the source's query-migrate."""
    cpr = cpr_sockets(name)[1]
    if not dst.wait_path(cpr):
        raise MigrationFailed('%s does not listen on %s:\n%s'
                              % (dst.name, cpr, '\n'.join(dst.qemu_log())))
    src.qmp.cmd('migrate-set-parameters', {'mode': 'cpr-transfer'})
    src.qmp.cmd('migrate', {'channels': cpr_channels(name)})
    dst.connect()
    out = wait_completed(src, timeout)
    wait_completed(dst, timeout)
    return out


def ram_digests(vm):
    """query-ram-digest as {block: (size, non-zero pages, sha256)}."""
    return {d['block']: (d['size'], d['pages'], d['sha256'])
            for d in vm.qmp.cmd('query-ram-digest', timeout=300)}
