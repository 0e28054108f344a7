# SPDX-License-Identifier: GPL-2.0-or-later
"""A bounded subset of upstream's qtests, run on our build.

Shows that the fork breaks nothing there: QMP protocol, serial boot, and
migration (precopy over unix and tcp, x-ignore-shared).  They run under
TCG: /dev/kvm is hidden from them in a private mount namespace, because
the development machines' software KVM is too slow for them (see
docs/devel/vas.rst, "Nested KVM test hosts").
"""

import os
import re
import subprocess

import pytest

from vastest import paths

CASES = [
    ('x86_64', 'qmp-test', None),
    ('aarch64', 'qmp-test', None),
    ('x86_64', 'boot-serial-test', None),
    ('aarch64', 'boot-serial-test', None),
    ('x86_64', 'migration-test', '/x86_64/migration/precopy/unix/plain'),
    ('x86_64', 'migration-test', '/x86_64/migration/precopy/tcp/plain'),
    ('x86_64', 'migration-test', '/x86_64/migration/ignore-shared'),
]


def case_id(case):
    return '%s:%s' % (case[1], case[2] or case[0])


@pytest.mark.parametrize('target,test,path', CASES, ids=[case_id(c) for c in CASES])
def test_qtest(target, test, path):
    binary = os.path.join(paths.OBJ, 'tests', 'qtest', test)
    args = [binary, '--tap', '-k']
    if path:
        args += ['--full', '-p', path]
    env = dict(os.environ,
               QTEST_QEMU_BINARY=paths.qemu_binary(target),
               QTEST_QEMU_IMG='',
               QEMU_TEST_FLAKY_TESTS='1')   # enables ignore-shared
    script = ('[ ! -e /dev/kvm ] || mount --bind /dev/null /dev/kvm; exec "$@"')
    res = subprocess.run(['unshare', '-m', 'sh', '-c', script, 'sh'] + args,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=600, cwd=paths.OBJ)
    out = res.stdout.decode(errors='replace')
    os.makedirs(paths.LOGS, exist_ok=True)
    with open(os.path.join(paths.LOGS, 'qtest-%s.log' % case_id((target, test, path))
                           .replace('/', '_')), 'w') as f:
        f.write(out)
    oks = re.findall(r'^ok \d+ (\S+)', out, re.M)
    bad = re.findall(r'^not ok \d+ (.*)$', out, re.M)
    assert res.returncode == 0 and not bad, out[-3000:]
    assert oks, 'no test case ran:\n' + out[-3000:]
    if path:
        assert path in oks
