/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU-VAS guest I/O load.  Started by /init beside the workload when the
 * kernel command line asks for it, it keeps a virtio-blk disk and a TCP
 * connection busy while the VM is switched or migrated, checks every byte
 * it gets back, and reports on stdout (the serial console):
 *
 *   VAS-IO disk_writes=N disk_reads=N net_bytes=N      (every second)
 *   VAS-ERR what=disk|net DETAILS
 *   VAS-DISK OK|FAIL bytes=N writes=N crc32=HEX        (at the end)
 *   VAS-NET OK|FAIL bytes=N                            (at the end)
 *
 * vas.disk=DEV: write 64 KiB blocks round the device with O_DIRECT, each
 * holding its block number, a write stamp and data derived from both,
 * and read back a random written block after every write.  At the end,
 * re-read the whole device, check every block again and print the CRC-32
 * (zlib's, as busybox crc32 computes it) of its contents, so the host can
 * compare it with the disk image QEMU wrote.
 *
 * vas.net=IP:PORT: send pseudo-random data to an echo service (slirp's
 * guestfwd to "cat") and check that exactly that data comes back.
 *
 * Runs until SIGTERM.  Exit status 0 if every check passed, else 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/fs.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "report.h"

#define DISK_BLOCK (64 * 1024)
#define MAX_BLOCKS 4096
#define NET_CHUNK (16 * 1024)
#define NET_TIMEOUT_MS (120 * 1000)
#define PAUSE_NS (5 * 1000 * 1000)  /* between operations: load, not a flood */

struct counters {
    uint64_t disk_writes, disk_reads, net_bytes;
};

static struct counters *shared;     /* written by the children */
static volatile sig_atomic_t stop_requested;
static unsigned errors;

static void __attribute__((format(printf, 2, 3)))
check_failed(const char *what, const char *fmt, ...)
{
    char detail[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    errors++;
    report("VAS-ERR what=%s %s", what, detail);
}

static void on_signal(int sig)
{
    stop_requested = 1;
}

static void pause_briefly(void)
{
    struct timespec ts = { 0, PAUSE_NS };

    nanosleep(&ts, NULL);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* zlib's CRC-32 (reflected polynomial 0xedb88320), as busybox crc32 */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
        }
    }
    return ~crc;
}

/* ---- disk ---- */

static void block_fill(uint64_t *buf, uint64_t block, uint64_t stamp)
{
    uint64_t s = (block + 1) * 0x9e3779b97f4a7c15ull ^ stamp;

    buf[0] = block;
    buf[1] = stamp;
    for (size_t i = 2; i < DISK_BLOCK / 8; i++) {
        buf[i] = xorshift(&s);
    }
}

static bool block_check(const uint64_t *buf, uint64_t *expect, uint64_t block,
                        uint64_t stamp, const char *when)
{
    block_fill(expect, block, stamp);
    for (size_t i = 0; i < DISK_BLOCK / 8; i++) {
        if (buf[i] != expect[i]) {
            check_failed("disk", "when=%s block=%" PRIu64 " stamp=%" PRIu64
                         " word=%zu found_block=%" PRIu64 " found_stamp=%"
                         PRIu64, when, block, stamp, i, buf[0], buf[1]);
            return false;
        }
    }
    return true;
}

static bool disk_io(int fd, bool write, void *buf, uint64_t block)
{
    ssize_t n;

    do {
        n = write ? pwrite(fd, buf, DISK_BLOCK, block * DISK_BLOCK)
                  : pread(fd, buf, DISK_BLOCK, block * DISK_BLOCK);
    } while (n < 0 && errno == EINTR);
    if (n != DISK_BLOCK) {
        check_failed("disk", "%s block=%" PRIu64 " ret=%zd errno=%d",
                     write ? "write" : "read", block, n, n < 0 ? errno : 0);
        return false;
    }
    return true;
}

static int disk_load(const char *dev)
{
    static uint64_t stamps[MAX_BLOCKS];     /* 0: never written */
    uint64_t size = 0, blocks, writes = 0, next = 0, rnd = 1;
    uint64_t *buf, *back, *expect;
    uint32_t crc = 0;
    int fd = open(dev, O_RDWR | O_DIRECT);

    if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
        check_failed("disk", "open=%s errno=%d", dev, errno);
        return 1;
    }
    blocks = size / DISK_BLOCK;
    if (blocks == 0 || blocks > MAX_BLOCKS || size % DISK_BLOCK) {
        check_failed("disk", "size=%" PRIu64 " (need N x 64 KiB, N <= %d)",
                     size, MAX_BLOCKS);
        return 1;
    }
    if (posix_memalign((void **)&buf, 4096, DISK_BLOCK) ||
        posix_memalign((void **)&back, 4096, DISK_BLOCK) ||
        posix_memalign((void **)&expect, 4096, DISK_BLOCK)) {
        check_failed("disk", "alloc");
        return 1;
    }

    while (!stop_requested && !errors) {
        uint64_t b = next++ % blocks, r;

        stamps[b] = ++writes;
        block_fill(buf, b, stamps[b]);
        if (!disk_io(fd, true, buf, b)) {
            break;
        }
        shared->disk_writes++;
        /* read back a random block written so far */
        r = xorshift(&rnd) % (next < blocks ? next : blocks);
        if (!disk_io(fd, false, back, r) ||
            !block_check(back, expect, r, stamps[r], "running")) {
            break;
        }
        shared->disk_reads++;
        pause_briefly();
    }

    if (fsync(fd) < 0) {
        check_failed("disk", "fsync errno=%d", errno);
    }
    for (uint64_t b = 0; b < blocks && !errors; b++) {
        if (disk_io(fd, false, back, b) &&
            (!stamps[b] || block_check(back, expect, b, stamps[b], "final"))) {
            crc = crc32_update(crc, (const uint8_t *)back, DISK_BLOCK);
        }
    }
    close(fd);
    report("VAS-DISK %s bytes=%" PRIu64 " writes=%" PRIu64 " crc32=%08" PRIx32,
           errors ? "FAIL" : "OK", size, writes, crc);
    return errors ? 1 : 0;
}

/* ---- network ---- */

static int net_connect(const char *target)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    char ip[64];
    const char *colon = strchr(target, ':');

    if (!colon || colon - target >= (int)sizeof(ip)) {
        check_failed("net", "target=%s (need IP:PORT)", target);
        return -1;
    }
    memcpy(ip, target, colon - target);
    ip[colon - target] = 0;
    sa.sin_port = htons(atoi(colon + 1));
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        check_failed("net", "target=%s (bad address)", target);
        return -1;
    }
    for (int tries = 0; tries < 30 && !stop_requested; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return fd;
        }
        close(fd);
        sleep(1);
    }
    check_failed("net", "connect=%s errno=%d", target, errno);
    return -1;
}

/* Move all of buf one way; false on error, timeout or stop. */
static bool net_move(int fd, bool out, uint8_t *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
        ssize_t n;

        if (stop_requested) {
            return false;
        }
        n = poll(&p, 1, NET_TIMEOUT_MS);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            check_failed("net", "timeout %s after %zu of %zu bytes",
                         out ? "sending" : "receiving", done, len);
            return false;
        }
        n = out ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                : recv(fd, buf + done, len - done, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            check_failed("net", "%s ret=%zd errno=%d", out ? "send" : "recv",
                         n, n < 0 ? errno : 0);
            return false;
        }
        done += n;
    }
    return true;
}

static int net_load(const char *target)
{
    static uint8_t sent[NET_CHUNK], got[NET_CHUNK];
    uint64_t s = 0x5eed, bytes = 0;
    int fd = net_connect(target);

    while (fd >= 0 && !stop_requested && !errors) {
        for (size_t i = 0; i < NET_CHUNK; i += 8) {
            uint64_t v = xorshift(&s);

            memcpy(sent + i, &v, 8);
        }
        if (!net_move(fd, true, sent, NET_CHUNK) ||
            !net_move(fd, false, got, NET_CHUNK)) {
            break;
        }
        if (memcmp(sent, got, NET_CHUNK)) {
            check_failed("net", "echo differs at offset=%" PRIu64, bytes);
            break;
        }
        bytes += NET_CHUNK;
        shared->net_bytes = bytes;
        pause_briefly();
    }
    if (fd >= 0) {
        close(fd);
    }
    report("VAS-NET %s bytes=%" PRIu64, errors ? "FAIL" : "OK", bytes);
    return errors ? 1 : 0;
}

/* ---- main ---- */

/* vas.KEY=VALUE from the kernel command line, or NULL */
static char *cmdline_option(const char *key)
{
    static char line[4096];
    char want[64], *copy, *tok, *save;
    FILE *f;

    if (!line[0]) {
        f = fopen("/proc/cmdline", "r");
        if (!f || !fgets(line, sizeof(line), f)) {
            line[0] = 0;
        }
        if (f) {
            fclose(f);
        }
    }
    snprintf(want, sizeof(want), "vas.%s=", key);
    copy = strdup(line);    /* kept: the value returned points into it */
    for (tok = strtok_r(copy, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save)) {
        if (!strncmp(tok, want, strlen(want))) {
            return tok + strlen(want);
        }
    }
    free(copy);
    return NULL;
}

static pid_t start(int (*fn)(const char *), const char *arg)
{
    pid_t pid;

    if (!arg) {
        return 0;
    }
    pid = fork();
    if (pid == 0) {
        exit(fn(arg));
    }
    if (pid < 0) {
        check_failed("fork", "errno=%d", errno);
    }
    return pid;
}

int main(void)
{
    struct sigaction sa = { .sa_handler = on_signal };  /* no SA_RESTART */
    pid_t kids[2];
    int status, failed = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        check_failed("alloc", "errno=%d", errno);
        return 1;
    }
    kids[0] = start(disk_load, cmdline_option("disk"));
    kids[1] = start(net_load, cmdline_option("net"));

    while (!stop_requested) {
        sleep(1);
        report("VAS-IO disk_writes=%" PRIu64 " disk_reads=%" PRIu64
               " net_bytes=%" PRIu64, shared->disk_writes, shared->disk_reads,
               shared->net_bytes);
    }
    for (int i = 0; i < 2; i++) {
        if (kids[i] > 0) {
            kill(kids[i], SIGTERM);
            if (waitpid(kids[i], &status, 0) < 0 ||
                !WIFEXITED(status) || WEXITSTATUS(status)) {
                failed = 1;
            }
        }
    }
    return failed || errors;
}
