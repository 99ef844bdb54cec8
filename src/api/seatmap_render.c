/*
 * seatmap_render.c - a seat map as JSON text: the venue's layout (sections,
 * rows, seats with id, label, x, y, category; or ?format=columns, the same
 * seats as flat arrays), its GA areas and the event's categories with their
 * prices; with its strong ETag and a gzip-compressed copy.
 *
 * Workload: a render per venue and prices (seatmap.c caches it), ~10 MB of
 * text for 100,000 seats in ~160 ms with its gzip copy, on seatmap.c's
 * render thread. The text is engine/layout_json.c's seat-map writer (no
 * JSON tree); this file adds what HTTP needs: the ETag and the gzip copy.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "api/api_internal.h"

/* body gzip-compressed (malloc'd; the caller frees it), or NULL. Seat maps
 * compress ~10:1, which is most of a big map's time to load in a browser. */
static char *gzip(const char *body, size_t len, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, len);
    char *out = malloc(cap);
    z.next_in = (Bytef *)body;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    if (!out || len > UINT32_MAX || deflate(&z, Z_FINISH) != Z_STREAM_END) {
        free(out);
        out = NULL;
    } else {
        *out_len = z.total_out;
    }
    deflateEnd(&z);
    return out;
}

int bo__seatmap_render(uint64_t venue, const bo_layout_t *l, const int64_t *prices, bool columns,
                       bo__seatmap_body_t *out)
{
    char vid[BO_ID_VENUE_LEN + 1];
    uint8_t hash[8];
    char hex[2 * sizeof(hash) + 1];

    memset(out, 0, sizeof(*out));
    bo_id_venue(vid, venue);
    if (!(out->body = bo_layout_seatmap_json(l, vid, prices, columns, &out->len)))
        return BO_ENOMEM;
    crypto_generichash(hash, sizeof(hash), (const uint8_t *)out->body, out->len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    snprintf(out->etag, sizeof(out->etag), "\"sm%s-%s\"", columns ? "c" : "", hex);
    snprintf(out->gz_etag, sizeof(out->gz_etag), "\"sm%s-%s-gz\"", columns ? "c" : "", hex);
    out->gz = gzip(out->body, out->len, &out->gz_len);
    return 0;
}

void bo__seatmap_body_free(bo__seatmap_body_t *b)
{
    free(b->body);
    free(b->gz);
    memset(b, 0, sizeof(*b));
}
