/*
 * live_idem.c - idempotent answers (live.h "Idempotency"): a request that
 * carries an Idempotency-Key is answered once; a retry with the same key
 * and the same request gets the stored answer, with another request 422,
 * while the first is still in progress 409.
 *
 * Answers to decisions are durable: stored in the same transaction as the
 * decision they answer (bo_rec_t.idem_*), or on their own for a success
 * that has no decision record (bo_live_idem_put); loaded at start (those
 * of the last ttl, the newest keys_max). Each record that stores an answer
 * also deletes a few stored ones past the ttl, so the table on disk keeps
 * pace with expiry while running. Refusals (>= 400) decided nothing: they
 * are kept in memory only, BO_IDEM_REFUSAL_TTL_MS, and a retry after that
 * (or after a restart) is decided again. In memory: idem_table.c, bounded
 * by its caps (docs/architecture.md "Bounds").
 *
 * Test knobs, read at open (README "Test knobs"): BOXOFFICE_IDEM_TTL_S
 * (the ttl; refusals keep the lesser of theirs and it) and
 * BOXOFFICE_IDEM_KEYS_MAX (the total cap).
 *
 * Workload: only requests with the header, typically retried checkout and
 * admin calls; lookups and inserts are O(1).
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "live/live_internal.h"

/* A positive number from the environment variable name, or def. */
static int64_t env_i64(const char *name, int64_t def, int64_t max)
{
    const char *v = getenv(name);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    return v && *v && !*end && n > 0 && n <= max ? (int64_t)n : def;
}

int bo__live_idem_init(bo_live_t *live)
{
    bo_idem_limits_t *lim = &live->idem_lim;
    bo_idem_limits_default(lim);
    lim->ttl_ms = env_i64("BOXOFFICE_IDEM_TTL_S", lim->ttl_ms / 1000, 365 * 86400) * 1000;
    if (lim->refusal_ttl_ms > lim->ttl_ms)
        lim->refusal_ttl_ms = lim->ttl_ms;
    lim->keys_max = (uint32_t)env_i64("BOXOFFICE_IDEM_KEYS_MAX", lim->keys_max, UINT32_MAX);
    live->idem = bo_idem_table_new(lim);
    return live->idem ? 0 : BO_ENOMEM;
}

int bo_live_idem_begin(bo_live_t *live, const char *key, const uint8_t hash[32], const char *client,
                       bo_idem_answer_t *ans, int64_t *retry_ms)
{
    int64_t unused;
    return bo_idem_table_begin(live->idem, key, hash, client, bo_live_now_ms(live), ans,
                               retry_ms ? retry_ms : &unused);
}

void bo_live_idem_end(bo_live_t *live, const char *key, int status, const char *body, size_t len)
{
    bo_idem_table_end(live->idem, key, status, body, len, bo_live_now_ms(live));
}

int64_t bo__live_idem_expired_before(bo_live_t *live)
{
    /* expired: now - at_ms >= ttl, as in idem_table.c */
    return bo_live_now_ms(live) - live->idem_lim.ttl_ms + 1;
}

/* A stored answer, at load. */
int bo__live_idem_load(void *ctx, const char *key, const uint8_t *hash, int status,
                       const char *body, size_t len, int64_t at_ms)
{
    bo_live_t *live = *(bo_live_t **)ctx; /* the loader starts with its live */
    return bo_idem_table_load(live->idem, key, hash, status, body, len, at_ms,
                              bo_live_now_ms(live));
}

void bo__live_idem_free(bo_live_t *live)
{
    bo_idem_table_free(live->idem);
    live->idem = NULL;
}

/* ---- an answer on its own -------------------------------------------------- */

struct put {
    bo_rec_t rec;
    bo_live_t *live;
    char *key, *body;
    size_t len;
    int status;
    uint8_t hash[32];
    bo_live_done_fn done;
    void *arg;
};

static void put_done(bo_rec_t *rec, int status)
{
    struct put *p = (struct put *)rec;
    if (status == 0)
        bo_live_idem_end(p->live, p->key, p->status, p->body, p->len);
    else
        bo_live_idem_end(p->live, p->key, 0, NULL, 0);
    bo__live_finish(p->done, p->arg, status);
    free(p->key);
    free(p->body);
    free(p);
}

/* A success is stored with its key; a refusal rides an empty record, only
 * so that done runs after a commit, as for every call. */
static bo_rec_t put_rec(bo_live_t *live, struct put *p)
{
    if (p->status >= 400)
        return (bo_rec_t){.kind = BO_REC_DOCS, .done = put_done};
    return (bo_rec_t){.kind = BO_REC_IDEM,
                      .at_ms = bo_live_now_ms(live),
                      .idem_key = p->key,
                      .idem_hash = p->hash,
                      .idem_status = p->status,
                      .idem_body = p->body,
                      .idem_body_len = p->len,
                      .idem_expired_before_ms = bo__live_idem_expired_before(live),
                      .done = put_done};
}

int bo_live_idem_put(bo_live_t *live, const char *key, const uint8_t hash[32], int status,
                     const char *body, size_t len, bo_live_done_fn done, void *arg)
{
    struct put *p = calloc(1, sizeof(*p));
    int rc = p ? 0 : BO_ENOMEM;
    if (rc == 0 && (!(p->key = strdup(key)) || !(p->body = malloc(len + 1))))
        rc = BO_ENOMEM;
    if (rc == 0) {
        memcpy(p->body, body, len);
        *p = (struct put){.live = live,
                          .key = p->key,
                          .body = p->body,
                          .len = len,
                          .status = status,
                          .done = done,
                          .arg = arg};
        memcpy(p->hash, hash, 32);
        p->rec = put_rec(live, p);
        if ((rc = bo_store_submit(live->store, &p->rec)) == 0)
            return 0;
    }
    if (p) {
        free(p->key);
        free(p->body);
    }
    free(p);
    bo_live_idem_end(live, key, 0, NULL, 0);
    return rc;
}
