# SPDX-License-Identifier: GPL-2.0-or-later
"""Line-oriented byte streams (consoles, shells) with bounded waits."""

import re
import socket
import threading
import time


class Timeout(Exception):
    pass


class LineChannel:
    """A connected stream socket read by a thread into a list of lines.

    Every line is kept (and copied to a log file), so a test can both wait
    for a line and later scan everything the other side printed.
    """

    def __init__(self, sock, logpath=None, name='channel'):
        self.sock = sock
        self.name = name
        self.lines = []
        self.closed = False
        self._partial = b''
        self._cond = threading.Condition()
        self._log = open(logpath, 'ab', buffering=0) if logpath else None
        self._thread = threading.Thread(target=self._reader, daemon=True,
                                        name='reader-' + name)
        self._thread.start()

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
                        self.lines.append(self._decode(self._partial))
                        self._partial = b''
                    self._cond.notify_all()
                    return
                self._partial += data
                *full, self._partial = self._partial.split(b'\n')
                self.lines.extend(self._decode(raw) for raw in full)
                self._cond.notify_all()

    @staticmethod
    def _decode(raw):
        return raw.decode('utf-8', 'replace').rstrip('\r')

    def write(self, text):
        self.sock.sendall(text.encode())

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

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(5)
        if self._log:
            self._log.close()


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
