# SPDX-License-Identifier: GPL-2.0-or-later
"""Line-oriented byte streams (consoles, shells) with bounded waits."""

import re
import socket
import threading
import time


class Timeout(Exception):
    pass


class LineReader:
    """A connected stream socket read line by line by a thread.

    Subclasses handle each complete line in _on_line(), called with
    self._cond held; waiters use self._cond and self.closed.
    """

    def __init__(self, sock, logpath=None, name='channel'):
        self.sock = sock
        self.name = name
        self.closed = False
        self._partial = b''
        self._cond = threading.Condition()
        self._log = open(logpath, 'wb', buffering=0) if logpath else None
        self._thread = threading.Thread(target=self._reader, daemon=True,
                                        name='reader-' + name)
        self._thread.start()

    def _on_line(self, line):
        raise NotImplementedError

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b''
            if self._log:
                self._log.write(data)
            with self._cond:
                if not data:
                    self.closed = True
                    if self._partial:
                        self._on_line(self._decode(self._partial))
                        self._partial = b''
                    self._cond.notify_all()
                    return
                self._partial += data
                *full, self._partial = self._partial.split(b'\n')
                for raw in full:
                    self._on_line(self._decode(raw))
                self._cond.notify_all()

    def take_partial(self):
        """The unterminated tail received so far, taken out of the
        channel: whatever comes next starts a new line."""
        with self._cond:
            raw, self._partial = self._partial, b''
        return self._decode(raw)

    @staticmethod
    def _decode(raw):
        return raw.decode('utf-8', 'replace').rstrip('\r')

    def write(self, text):
        self.sock.sendall(text.encode())

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(5)
        if self._log:
            self._log.close()


class LineChannel(LineReader):
    """A console or shell: every line is kept (and logged), so a test can
    both wait for a line and later scan everything the other side printed.
    """

    def __init__(self, sock, logpath=None, name='channel'):
        self.lines = []
        self.arrivals = []      # time.monotonic() as each line came in
        super().__init__(sock, logpath, name)

    def _on_line(self, line):
        self.lines.append(line)
        self.arrivals.append(time.monotonic())

    def expect(self, pattern, timeout, start=0):
        """Wait for a line matching pattern at index >= start.

        Returns (index, match).  Raises Timeout naming the pattern.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    m = regex.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                if self.closed:
                    raise Timeout('%s closed before %r' % (self.name, pattern))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout('%s: no %r within %ss' % (self.name, pattern, timeout))
                self._cond.wait(left)

    def snapshot(self):
        with self._cond:
            return list(self.lines)

    def snapshot_timed(self):
        """Every line so far, as (line, time.monotonic() of its arrival)."""
        with self._cond:
            return list(zip(self.lines, self.arrivals))


def connect_unix(path, timeout, proc=None):
    """Connect to a QEMU server socket as soon as it appears."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('QEMU exited (%s) before %s appeared' % (proc.returncode, path))
        if time.monotonic() > deadline:
            raise Timeout('socket %s did not appear within %ss' % (path, timeout))
        time.sleep(0.05)
