/*
 * live_idem.c - idempotent answers (live.h "Idempotency"): a request that
 * carries an Idempotency-Key is answered once; a retry with the same key
 * and the same request gets the stored answer, with another request 422,
 * while the first is still in progress 409.
 *
 * Answers are durable: stored in the same transaction as the decision they
 * answer (bo_rec_t.idem_*), or on their own for refusals; loaded at start
 * (those of the last BO_IDEM_TTL_MS). In memory: a hash table of keys under
 * one mutex; each entry is in progress (reserved by bo_live_idem_begin) or
 * answered.
 *
 * Workload: only requests with the header, typically retried checkout and
 * admin calls; lookups and inserts are O(1).
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "engine/live_internal.h"

struct idem {
    struct idem *next; /* hash chain */
    char *key;
    uint8_t hash[32];
    int status; /* 0 while in progress */
    char *body;
    size_t len;
};

static uint32_t key_hash(const char *key)
{
    uint32_t h = 2166136261u;
    for (; *key; key++)
        h = (h ^ (uint8_t)*key) * 16777619u;
    return h;
}

static struct idem **find(bo_live_t *live, const char *key)
{
    struct idem **p = &live->idem[key_hash(key) % BO_LIVE_IDEM_BUCKETS];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

static void entry_free(struct idem *e)
{
    if (e) {
        free(e->key);
        free(e->body);
    }
    free(e);
}

/* Set an entry's answer (copied); 0 or BO_ENOMEM. */
static int answer(struct idem *e, int status, const char *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return BO_ENOMEM;
    if (len)
        memcpy(copy, body, len);
    copy[len] = '\0';
    free(e->body);
    e->body = copy;
    e->len = len;
    e->status = status;
    return 0;
}

static struct idem *entry_new(const char *key, const uint8_t hash[32])
{
    struct idem *e = calloc(1, sizeof(*e));
    if (e && !(e->key = strdup(key))) {
        free(e);
        e = NULL;
    }
    if (e)
        memcpy(e->hash, hash, 32);
    return e;
}

int bo_live_idem_begin(bo_live_t *live, const char *key, const uint8_t hash[32],
                       bo_idem_answer_t *ans)
{
    int rc = 0;
    if (!key || !*key || strlen(key) > BO_IDEM_KEY_MAX)
        return BO_EINVAL;
    pthread_mutex_lock(&live->idem_mu);
    struct idem **p = find(live, key);
    if (!*p) {
        *p = entry_new(key, hash);
        rc = *p ? 0 : BO_ENOMEM;
    } else if (memcmp((*p)->hash, hash, 32) != 0) {
        rc = BO_EIDEMMISMATCH;
    } else if ((*p)->status == 0) {
        rc = BO_EIDEMBUSY;
    } else {
        ans->status = (*p)->status;
        ans->len = (*p)->len;
        ans->body = malloc((*p)->len + 1);
        rc = ans->body ? 1 : BO_ENOMEM;
        if (ans->body)
            memcpy(ans->body, (*p)->body, (*p)->len + 1);
    }
    pthread_mutex_unlock(&live->idem_mu);
    return rc;
}

void bo_live_idem_end(bo_live_t *live, const char *key, int status, const char *body, size_t len)
{
    pthread_mutex_lock(&live->idem_mu);
    struct idem **p = find(live, key), *e = *p;
    if (e && (!body || answer(e, status, body, len) != 0)) {
        *p = e->next; /* no answer: the key is free again */
        entry_free(e);
    }
    pthread_mutex_unlock(&live->idem_mu);
}

/* A stored answer, at load. */
int bo__live_idem_load(void *ctx, const char *key, const uint8_t *hash, int status,
                       const char *body, size_t len, int64_t at_ms)
{
    bo_live_t *live = *(bo_live_t **)ctx; /* the loader starts with its live */
    struct idem **p = find(live, key);
    if (*p)
        return BO_ECORRUPT;
    struct idem *e = entry_new(key, hash);
    if (!e || answer(e, status, body, len)) {
        entry_free(e);
        return BO_ENOMEM;
    }
    *p = e;
    return 0;
}

void bo__live_idem_free(bo_live_t *live)
{
    for (size_t b = 0; b < BO_LIVE_IDEM_BUCKETS; b++)
        while (live->idem[b]) {
            struct idem *e = live->idem[b];
            live->idem[b] = e->next;
            entry_free(e);
        }
}

/* ---- an answer on its own -------------------------------------------------- */

struct put {
    bo_rec_t rec;
    bo_live_t *live;
    char *key, *body;
    uint8_t hash[32];
    bo_live_done_fn done;
    void *arg;
};

static void put_done(bo_rec_t *rec, int status)
{
    struct put *p = (struct put *)rec;
    if (status == 0)
        bo_live_idem_end(p->live, p->key, p->rec.idem_status, p->body, p->rec.idem_body_len);
    else
        bo_live_idem_end(p->live, p->key, 0, NULL, 0);
    bo__live_finish(p->done, p->arg, status);
    free(p->key);
    free(p->body);
    free(p);
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
        memcpy(p->hash, hash, 32);
        p->live = live;
        p->done = done;
        p->arg = arg;
        p->rec = (bo_rec_t){.kind = BO_REC_IDEM,
                            .at_ms = live->clock->now_ms(live->clock),
                            .idem_key = p->key,
                            .idem_hash = p->hash,
                            .idem_status = status,
                            .idem_body = p->body,
                            .idem_body_len = len,
                            .done = put_done};
        rc = bo_store_submit(live->store, &p->rec);
        if (rc == 0)
            return 0;
    }
    if (p) {
        free(p->key);
        free(p->body);
    }
    free(p);
    bo_live_idem_end(live, key, 0, NULL, 0);
    return bo__live_finish(done, arg, rc);
}
