/*
 * fuzz_ids.c - libFuzzer harness for the ids, cursors and times that come
 * in paths and query strings: bo_id_parse_* (src/order/ids.c), the events
 * list's cursor (bo_catalog_cursor_decode, src/catalog/catalog.c) and RFC 3339 times
 * (bo_time_parse, src/util/time.c). The input is the text, given to the id
 * parsers NUL-terminated and to the others as exactly its bytes (so an
 * over-read shows). Checks: whatever parses formats back to the very same
 * text (ids and cursors have one spelling each) or, for times, to a text
 * that parses to the same instant; and the first 8 bytes read as
 * milliseconds format to a time that parses back to them (clamped to
 * years 1..9999).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/catalog.h"
#include "boxoffice/error.h"
#include "order/ids.h"
#include "util/time.h"

#define MIN_MS (-62135596800000LL) /* 0001-01-01T00:00:00Z */
#define MAX_MS (253402300799999LL) /* 9999-12-31T23:59:59.999Z */

static void same(const char *a, const char *b, size_t n)
{
    if (strlen(b) != n || memcmp(a, b, n) != 0)
        abort();
}

static void ids(const char *s, size_t n)
{
    char out[BO_ID_HOLD_LEN + 1];
    uint64_t v, e;
    bo_hold_id_t h;
    if (bo_id_parse_event(s, &v) == 0) {
        bo_id_event(out, v);
        same(s, out, n);
    }
    if (bo_id_parse_venue(s, &v) == 0) {
        bo_id_venue(out, v);
        same(s, out, n);
    }
    if (bo_id_parse_order(s, &v) == 0) {
        bo_id_order(out, v);
        same(s, out, n);
    }
    if (bo_id_parse_ticket(s, &v) == 0) {
        bo_id_ticket(out, v);
        same(s, out, n);
    }
    if (bo_id_parse_hold(s, &e, &h) == 0) {
        if (e == 0)
            abort();
        bo_id_hold(out, e, &h);
        same(s, out, n);
    }
}

static void cursor(const char *s, size_t n)
{
    int64_t at, at2;
    uint64_t id, id2;
    char out[BO_CATALOG_CURSOR_LEN + 1];
    if (bo_catalog_cursor_decode(s, n, &at, &id) != 0)
        return;
    bo_catalog_cursor_encode(at, id, out);
    same(s, out, n);
    if (bo_catalog_cursor_decode(out, BO_CATALOG_CURSOR_LEN, &at2, &id2) || at2 != at || id2 != id)
        abort();
}

static void times(const char *s, size_t n, const uint8_t *data, size_t size)
{
    char out[BO_RFC3339_SIZE];
    int64_t ms, back;
    if (bo_time_parse(s, n, &ms) == 0) {
        if (ms < MIN_MS || ms > MAX_MS)
            abort();
        size_t len = bo_time_format(ms, out);
        if (len != strlen(out) || bo_time_parse(out, len, &back) || back != ms)
            abort();
    }
    if (size >= 8) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | data[i];
        int64_t want = (int64_t)u;
        want = want < MIN_MS ? MIN_MS : want > MAX_MS ? MAX_MS : want;
        size_t len = bo_time_format((int64_t)u, out);
        if (len != strlen(out) || bo_time_parse(out, len, &back) || back != want)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *z = malloc(size + 1), *x = malloc(size ? size : 1);
    if (!z || !x)
        abort();
    memcpy(z, data, size);
    z[size] = '\0';
    memcpy(x, data, size);
    if (!memchr(z, '\0', size))
        ids(z, size);
    cursor(x, size);
    times(x, size, data, size);
    free(z);
    free(x);
    return 0;
}
