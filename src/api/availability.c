/*
 * availability.c - GET /api/v1/events/{id}/availability: the state of every
 * seat and the free places of every GA area at one version of the event's
 * inventory, compact by default (base64 of one byte per seat, in seat-map
 * order) or as a list (?format=list), with ETag "v<version>" and
 * Cache-Control: no-cache. Also the snapshot pieces that the stream
 * (stream.c) shares.
 *
 * Workload: the most frequent read of an on-sale: every buyer's page polls
 * it, mostly answered 304. A 304 costs a sweep of the event's expired holds
 * and a read of its version; a full answer is one O(seats) snapshot under
 * the event's lock (~0.1 ms per 100,000 seats) and a body built as text.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_internal.h"
#include "util/strbuf.h"

static const char *const state_names[4] = {"available", "held", "sold", "blocked"};

/* ---- snapshots ------------------------------------------------------------------------- */

int bo__avail_snap_alloc(bo_avail_snap_t *s, const bo_layout_t *l)
{
    *s = (bo_avail_snap_t){.nseats = l->nseats, .nga = l->nga};
    s->states = malloc(l->nseats ? l->nseats : 1);
    s->ga = malloc((l->nga ? l->nga : 1) * sizeof(uint32_t));
    if (!s->states || !s->ga) {
        bo__avail_snap_free(s);
        return BO_ENOMEM;
    }
    return 0;
}

void bo__avail_snap_free(bo_avail_snap_t *s)
{
    free(s->states);
    free(s->ga);
    s->states = NULL;
    s->ga = NULL;
}

static int read_snap(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    bo_avail_snap_t *s = arg;
    const bo_layout_t *l = bo_inv_layout(inv);
    if (l->nseats != s->nseats || l->nga != s->nga)
        return BO_EINVAL;
    s->version = bo_inv_snapshot(inv, now_ms, s->states);
    for (uint32_t a = 0; a < l->nga; a++)
        s->ga[a] = bo_inv_ga_available(inv, a, now_ms);
    return 0;
}

int bo__avail_read(bo_api_t *api, uint64_t event, bo_avail_snap_t *s)
{
    return bo_live_read(api->live, event, read_snap, s);
}

static int read_version(void *arg, const bo_inv_t *inv, int64_t now_ms)
{
    *(uint64_t *)arg = bo_inv_version(inv);
    return 0;
}

int bo__avail_version(bo_api_t *api, uint64_t event, uint64_t *version)
{
    return bo_live_read(api->live, event, read_version, version);
}

/* ---- answers as text --------------------------------------------------------------------- */

static void put_ga(bo_buf_t *b, const bo_layout_t *l, const bo_avail_snap_t *s)
{
    bo_buf_puts(b, ",\"ga\":[");
    for (uint32_t a = 0; a < s->nga; a++) {
        bo_buf_puts(b, a ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(b, bo_layout_str(l, l->ga[a].id));
        bo_buf_printf(b, ",\"available\":%u}", s->ga[a]);
    }
    bo_buf_puts(b, "]");
}

char *bo__avail_compact_json(const bo_layout_t *l, const bo_avail_snap_t *s, size_t *len)
{
    uint32_t n[4] = {0};
    for (uint32_t i = 0; i < s->nseats; i++)
        n[s->states[i] & 3]++;
    size_t b64_len = sodium_base64_encoded_len(s->nseats, sodium_base64_VARIANT_ORIGINAL);
    bo_buf_t b;
    bo_buf_init(&b, b64_len + 256 + (size_t)s->nga * 48);
    bo_buf_printf(&b, "{\"version\":%llu,\"encoding\":\"state-bytes-base64\",\"seats\":\"",
                  (unsigned long long)s->version);
    char *b64 = malloc(b64_len);
    if (!b64)
        b.failed = true;
    else
        bo_buf_puts(&b, sodium_bin2base64(b64, b64_len, s->states, s->nseats,
                                          sodium_base64_VARIANT_ORIGINAL));
    free(b64);
    bo_buf_printf(&b,
                  "\",\"counts\":{\"available\":%u,\"held\":%u,\"sold\":%u,\"blocked\":%u,"
                  "\"total\":%u}",
                  n[0], n[1], n[2], n[3], s->nseats);
    put_ga(&b, l, s);
    bo_buf_puts(&b, "}");
    return bo_buf_take(&b, len);
}

static char *list_json(const bo_layout_t *l, const bo_avail_snap_t *s, size_t *len)
{
    bo_buf_t b;
    bo_buf_init(&b, 64 + (size_t)s->nseats * 40 + (size_t)s->nga * 48);
    bo_buf_printf(&b, "{\"version\":%llu,\"seats\":[", (unsigned long long)s->version);
    for (uint32_t i = 0; i < s->nseats; i++) {
        bo_buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        bo_buf_json_str(&b, bo_layout_str(l, l->seats[i].id));
        bo_buf_printf(&b, ",\"state\":\"%s\"}", state_names[s->states[i] & 3]);
    }
    bo_buf_puts(&b, "]");
    put_ga(&b, l, s);
    bo_buf_puts(&b, "}");
    return bo_buf_take(&b, len);
}

/* ---- If-None-Match ------------------------------------------------------------------------- */

/* Whether the If-None-Match list (a, "*", W/"…" forms) names etag. */
static bool etag_listed(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchrnul(p, ',');
        const char *q = end;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (q - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        if ((q - p == 1 && *p == '*') || ((size_t)(q - p) == elen && !memcmp(p, etag, elen)))
            return true;
        p = end;
    }
    return false;
}

/* ---- GET …/availability -------------------------------------------------------------------- */

static int not_found(bo_http_req_t *r)
{
    return bo_http_send_error(r, BO_ENOTFOUND, "no such event",
                              json_pack("{ss}", "id", bo_http_param(r, "id")));
}

/* The event and its layout, or a 404 answered (nonzero). */
int bo__avail_event(bo_api_t *api, bo_http_req_t *r, uint64_t *event, const bo_layout_t **l)
{
    bo_event_info_t e;
    if (bo_id_parse_event(bo_http_param(r, "id"), event) ||
        bo_catalog_event(api->catalog, *event, &e) || !(*l = bo_live_venue(api->live, e.venue))) {
        not_found(r);
        return BO_ENOTFOUND;
    }
    return 0;
}

static int on_availability(void *arg, bo_http_req_t *r)
{
    bo_api_t *api = arg;
    uint64_t event, version;
    const bo_layout_t *l;
    char etag[32];
    bo_avail_snap_t s;
    if (bo__avail_event(api, r, &event, &l))
        return 0;
    const char *format = bo_http_query(r, "format", NULL);
    bool list = format && !strcmp(format, "list");
    if (format && !list && strcmp(format, "compact"))
        return bo_http_send_error(r, BO_EINVAL, "format must be compact or list",
                                  json_pack("{ss}", "field", "format"));
    bo_live_sweep_event(api->live, event); /* the version then reflects expiry */
    bo_http_set_header(r, "Cache-Control", "no-cache");
    const char *inm = bo_http_header(r, "if-none-match", NULL);
    if (inm) {
        if (bo__avail_version(api, event, &version))
            return not_found(r);
        snprintf(etag, sizeof(etag), "\"v%llu\"", (unsigned long long)version);
        if (etag_listed(inm, etag) && bo_http_not_modified(r, etag) == 1)
            return 0;
    }
    if (bo__avail_snap_alloc(&s, l))
        return BO_ENOMEM;
    if (bo__avail_read(api, event, &s)) {
        bo__avail_snap_free(&s);
        return not_found(r);
    }
    size_t len = 0;
    char *body = list ? list_json(l, &s, &len) : bo__avail_compact_json(l, &s, &len);
    snprintf(etag, sizeof(etag), "\"v%llu\"", (unsigned long long)s.version);
    bo__avail_snap_free(&s);
    if (!body)
        return BO_ENOMEM;
    bo_http_set_header(r, "ETag", etag);
    return bo_http_send_buf(r, 200, "application/json", body, len);
}

int bo__api_availability_register(bo_api_t *api)
{
    int rc =
        bo_server_route(api->srv, "GET", "/api/v1/events/{id}/availability", on_availability, api);
    return rc ? rc : bo__api_stream_register(api);
}
