/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * How the QEMU-VAS guest programs (workload.c, ioload.c) report: one
 * whole line per report, flushed at once, because the serial console is
 * the log the tests read.  Both programs may write to it at the same
 * time; a line written in one call stays whole.
 */
#ifndef VAS_GUEST_REPORT_H
#define VAS_GUEST_REPORT_H

#include <stdarg.h>
#include <stdio.h>

static void __attribute__((format(printf, 1, 2))) report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

#endif
