# SPDX-License-Identifier: GPL-2.0-or-later
"""A small synchronous QMP client that works over any byte stream.

It does not depend on seeing the greeting: over a virtio-serial bridge
into a nested test host the greeting may have been sent before anybody
listened, so the client negotiates capabilities itself and skips a
greeting if one arrives.
"""

import json
import time

from .channel import LineReader, Timeout


class QMPError(Exception):
    def __init__(self, cmd, error):
        super().__init__('%s: %s: %s' % (cmd, error.get('class'), error.get('desc')))
        self.error_class = error.get('class')
        self.desc = error.get('desc')


class QMPClient(LineReader):
    def __init__(self, sock, logpath=None):
        self.events = []
        self._responses = {}
        self._next_id = 0
        super().__init__(sock, logpath, 'qmp')

    def _on_line(self, line):
        line = line.strip()
        try:
            msg = json.loads(line)
        except ValueError:
            return      # noise from before the monitor was up
        if 'event' in msg:
            self.events.append(msg)
        elif 'id' in msg:
            self._responses[msg['id']] = msg

    def negotiate(self, timeout=60):
        """qmp_capabilities, retried until the monitor answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.cmd('qmp_capabilities', timeout=2)
                return
            except QMPError as e:
                if e.error_class == 'CommandNotFound':
                    return      # already in command mode
                raise
            except Timeout:
                if time.monotonic() > deadline:
                    raise

    def cmd_raw(self, name, args=None, timeout=60):
        with self._cond:
            self._next_id += 1
            ident = 'vas-%d' % self._next_id
        msg = {'execute': name, 'id': ident}
        if args:
            msg['arguments'] = args
        text = json.dumps(msg) + '\n'
        if self._log:
            self._log.write(b'-> ' + text.encode())
        self.write(text)
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._responses:
                if self.closed:
                    raise Timeout('QMP connection closed during %s' % name)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout('QMP %s: no answer within %ss' % (name, timeout))
                self._cond.wait(left)
            return self._responses.pop(ident)

    def cmd(self, name, args=None, timeout=60, **kwargs):
        resp = self.cmd_raw(name, dict(args or {}, **kwargs), timeout)
        if 'error' in resp:
            raise QMPError(name, resp['error'])
        return resp['return']

    def hmp(self, command_line, timeout=60):
        return self.cmd('human-monitor-command', {'command-line': command_line},
                        timeout=timeout)

    def wait_event(self, name, timeout, start=0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[start:]:
                    if ev['event'] == name:
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise Timeout('no QMP event %s within %ss' % (name, timeout))
                self._cond.wait(left)
