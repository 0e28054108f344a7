/*
 * A digest of guest RAM, per RAM block, to check what a migration moved
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-ram-digest.h"
#include "qobject/qdict.h"
#include "exec/cpu-common.h"
#include "exec/target_page.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"

typedef struct DigestList {
    RamBlockDigestList *head;
    RamBlockDigestList **tail;
} DigestList;

static int digest_block(RAMBlock *rb, void *opaque)
{
    DigestList *list = opaque;
    RamBlockDigest *d = g_new0(RamBlockDigest, 1);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    const uint8_t *host = qemu_ram_get_host_addr(rb);
    size_t page = qemu_target_page_size();
    ram_addr_t len = qemu_ram_get_used_length(rb);
    ram_addr_t off;

    for (off = 0; host && off + page <= len; off += page) {
        uint64_t le_off = cpu_to_le64(off);

        if (buffer_is_zero(host + off, page)) {
            continue;
        }
        g_checksum_update(sum, (const guchar *)&le_off, sizeof(le_off));
        g_checksum_update(sum, host + off, page);
        d->pages++;
    }
    d->block = g_strdup(qemu_ram_get_idstr(rb));
    d->size = len;
    d->sha256 = g_strdup(g_checksum_get_string(sum));
    QAPI_LIST_APPEND(list->tail, d);
    return 0;
}

RamBlockDigestList *qmp_query_ram_digest(Error **errp)
{
    DigestList list = { .head = NULL, .tail = &list.head };

    qemu_ram_foreach_block(digest_block, &list);
    return list.head;
}

static void hmp_info_ram_digest(Monitor *mon, const QDict *qdict)
{
    g_autoptr(RamBlockDigestList) list = qmp_query_ram_digest(NULL);
    RamBlockDigestList *p;

    for (p = list; p; p = p->next) {
        monitor_printf(mon, "%s: size 0x%" PRIx64 ", %" PRId64
                       " non-zero pages, sha256 %s\n", p->value->block,
                       p->value->size, p->value->pages, p->value->sha256);
    }
}

static void ram_digest_hmp_register(void)
{
    monitor_register_hmp("ram-digest", true, hmp_info_ram_digest);
}

type_init(ram_digest_hmp_register);
