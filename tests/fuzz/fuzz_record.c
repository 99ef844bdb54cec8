/*
 * fuzz_record.c - libFuzzer harness for what recovery reads back from the
 * store: log records (bo_mut_decode and bo_mut_apply, src/live/record.c
 * and codec.h) and event snapshots (bo_inv_import, src/engine/snapshot.c),
 * against a small venue (8 seats, 2 GA areas). A corrupt store must be
 * refused (BO_ECORRUPT or the engine's answer), never crash or read past
 * a record. The first byte picks the mode:
 * - even: the rest is a log, records each prefixed by a length byte,
 *   decoded and replayed in turn into one inventory; each decoded record,
 *   encoded again, fits bo_mut_max_size and decodes to the same mutation;
 *   whatever the engine made of the log exports to a snapshot that imports
 *   (and exports again to the same bytes);
 * - odd: the rest is a snapshot, imported into a fresh inventory; one
 *   accepted is exported, imported into another inventory and exported
 *   again to the same bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/engine.h"
#include "boxoffice/error.h"
#include "boxoffice/layout.h"
#include "live/record.h"

static bo_layout_t *layout;
static uint32_t seat_buf[BO_LAYOUT_MAX_SEATS], seat_buf2[BO_LAYOUT_MAX_SEATS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    bo_venue_gen_t g = {
        .sections = 2, .rows = 2, .seats = 2, .ga_areas = 2, .ga_capacity = 5, .categories = 2};
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    if (!json || bo_layout_parse(json, len, &layout, NULL))
        abort();
    free(json);
    return 0;
}

static bo_inv_t *inventory(void)
{
    bo_inv_t *inv = NULL;
    bo_inv_config_t cfg = {.hold_ttl_ms = 300000, .price_cents = {1000, 500}};
    if (bo_inv_new(layout, &cfg, &inv))
        abort();
    return inv;
}

static void same_mut(const bo_mut_t *a, const bo_mut_t *b)
{
    if (a->op != b->op || memcmp(a->id.b, b->id.b, 16) || a->customer != b->customer ||
        a->expires_at_ms != b->expires_at_ms || a->deadline_ms != b->deadline_ms ||
        a->amount_cents != b->amount_cents || a->nseats != b->nseats || a->nga != b->nga ||
        (a->nseats && memcmp(a->seats, b->seats, a->nseats * sizeof(uint32_t))) ||
        (a->nga && memcmp(a->ga, b->ga, a->nga * sizeof(bo_ga_line_t))))
        abort();
}

static void import(const uint8_t *p, size_t n, bool must);

static void replay(const uint8_t *p, size_t n)
{
    bo_inv_t *inv = inventory();
    int64_t at = 1767225600000LL;
    while (n > 0) {
        size_t len = p[0] < n - 1 ? p[0] : n - 1;
        uint8_t *rec = malloc(len ? len : 1); /* exactly the record: over-reads show */
        if (!rec)
            abort();
        memcpy(rec, p + 1, len);
        bo_mut_t m, m2;
        bo_ga_line_t ga[BO_HOLD_MAX_GA], ga2[BO_HOLD_MAX_GA];
        int rc = bo_mut_decode(rec, len, &m, seat_buf, BO_LAYOUT_MAX_SEATS, ga);
        if (rc != 0 && rc != BO_ECORRUPT)
            abort();
        if (rc == 0) {
            size_t max = bo_mut_max_size(&m);
            uint8_t *enc = malloc(max);
            if (!enc)
                abort();
            size_t elen = bo_mut_encode(&m, enc);
            if (elen > max || bo_mut_decode(enc, elen, &m2, seat_buf2, BO_LAYOUT_MAX_SEATS, ga2))
                abort();
            same_mut(&m, &m2);
            free(enc);
            (void)bo_mut_apply(inv, &m, at); /* any answer; the inventory stays sound */
            at += 1000;
        }
        free(rec);
        p += 1 + len;
        n -= 1 + len;
    }
    /* whatever was replayed, the state snapshots and reads back */
    uint8_t *snap;
    size_t slen;
    if (bo_inv_export(inv, at, &snap, &slen))
        abort();
    import(snap, slen, true);
    free(snap);
    bo_inv_free(inv);
}

/* Import p[0..n) (must: it was exported, so it imports). */
static void import(const uint8_t *p, size_t n, bool must)
{
    uint8_t *buf = malloc(n ? n : 1), *a, *b;
    size_t alen, blen;
    if (!buf)
        abort();
    memcpy(buf, p, n);
    bo_inv_t *inv = inventory();
    int rc = bo_inv_import(inv, buf, n);
    if (rc == 0) {
        if (bo_inv_export(inv, 0, &a, &alen))
            abort();
        bo_inv_t *inv2 = inventory();
        if (bo_inv_import(inv2, a, alen) || bo_inv_export(inv2, 0, &b, &blen) || alen != blen ||
            memcmp(a, b, alen))
            abort();
        free(a);
        free(b);
        bo_inv_free(inv2);
    } else if (must || (rc != BO_ECORRUPT && rc != BO_ENOMEM)) {
        abort();
    }
    bo_inv_free(inv);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        import(data + 1, size - 1, false);
    else
        replay(data + 1, size - 1);
    return 0;
}
