/*
 * idem_table.c - Idempotency-Keys in memory (idem_table.h), bounded
 * whatever the traffic.
 *
 * Keys are hashed with SipHash-2-4 (libsodium crypto_shorthash) under a key
 * drawn when the table is made: nobody outside can make keys collide, so
 * chains stay short. The table chains its entries and doubles when it holds
 * more entries than buckets; the old buckets move over MOVE_STEP at a time
 * on each later call (as redis's dict does), so no call ever rehashes the
 * whole table while it holds the lock. It never shrinks: its buckets are at
 * most 2 x keys_max pointers.
 *
 * Every entry is on one of two age lists, in the order it was reserved
 * (answers) or refused (refusals): expiry and eviction take list heads,
 * O(1) each. Each call also drops up to EXPIRE_STEP expired keys, more
 * than it can add, so expiry keeps pace with any traffic without a pass
 * over the table; a key found expired is treated as gone.
 *
 * Per client address, a count of the keys alive (in a second table of the
 * same kind, an address leaving it with its last key): past per_client_max
 * a new key is refused (BO_ERATE), so one address cannot evict the keys of
 * everyone else.
 *
 * Workload: one begin and one end per request that carries the header (a
 * few thousand a second at most, from every loop thread), under one mutex
 * held a microsecond or two: a lookup, a few pointer moves, one malloc.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "live/idem_table.h"
#include "util/assert.h"

#define HTAB_MIN_BUCKETS 64
#define MOVE_STEP        16 /* old buckets moved per call while growing */
#define EXPIRE_STEP      4  /* expired keys dropped per call, at most */

/* ---- a chained hash table that grows incrementally ---- */

struct hnode {
    struct hnode *chain;
    uint64_t h;
};

struct htab {
    struct hnode **cur, **old; /* old: being emptied into cur, or NULL */
    size_t cur_mask, old_mask;
    size_t old_pos; /* old's buckets below this have moved */
    size_t n;
};

static int htab_init(struct htab *ht)
{
    *ht = (struct htab){.cur = calloc(HTAB_MIN_BUCKETS, sizeof(struct hnode *)),
                        .cur_mask = HTAB_MIN_BUCKETS - 1};
    return ht->cur ? 0 : BO_ENOMEM;
}

static void htab_free(struct htab *ht)
{
    free(ht->cur);
    free(ht->old);
}

/* The chain where hash h lives: its old bucket until that has moved. */
static struct hnode **htab_bucket(struct htab *ht, uint64_t h)
{
    if (ht->old && (h & ht->old_mask) >= ht->old_pos)
        return &ht->old[h & ht->old_mask];
    return &ht->cur[h & ht->cur_mask];
}

static void htab_move(struct htab *ht, unsigned steps)
{
    while (ht->old && steps--) {
        struct hnode *n = ht->old[ht->old_pos], *next;
        for (; n; n = next) {
            next = n->chain;
            n->chain = ht->cur[n->h & ht->cur_mask];
            ht->cur[n->h & ht->cur_mask] = n;
        }
        ht->old[ht->old_pos] = NULL;
        if (++ht->old_pos > ht->old_mask) {
            free(ht->old);
            ht->old = NULL;
        }
    }
}

/* Start doubling when full (a failed allocation leaves longer chains: still
 * correct). While moving, inserts stay below twice the old size: the move
 * ends after (old_mask + 1) / MOVE_STEP calls, each adding one entry. */
static void htab_insert(struct htab *ht, struct hnode *n)
{
    struct hnode **b = htab_bucket(ht, n->h);
    n->chain = *b;
    *b = n;
    ht->n++;
    if (!ht->old && ht->n > ht->cur_mask + 1) {
        struct hnode **bigger = calloc(2 * (ht->cur_mask + 1), sizeof(*bigger));
        if (bigger) {
            ht->old = ht->cur;
            ht->old_mask = ht->cur_mask;
            ht->old_pos = 0;
            ht->cur = bigger;
            ht->cur_mask = 2 * ht->cur_mask + 1;
        }
    }
}

static void htab_remove(struct htab *ht, struct hnode *n)
{
    struct hnode **p = htab_bucket(ht, n->h);
    while (*p != n) {
        BO_ASSERT(*p); /* n is in the table */
        p = &(*p)->chain;
    }
    *p = n->chain;
    ht->n--;
}

/* ---- entries ---- */

struct client {
    struct hnode hn; /* first */
    uint32_t keys;   /* alive, > 0 while in the table */
    char addr[];
};

struct entry {
    struct hnode hn;           /* first */
    struct entry *prev, *next; /* its age list */
    struct client *client;     /* NULL: not counted (loaded) */
    int64_t at_ms;             /* reserved (answers) or refused */
    char *body;
    size_t len;
    int status; /* 0 while in progress */
    bool refused;
    uint8_t hash[32];
    char key[];
};

struct list {
    struct entry *head, *tail;
    size_t n;
};

struct bo_idem_table {
    pthread_mutex_t mu;
    bo_idem_limits_t lim;
    uint8_t sip[crypto_shorthash_KEYBYTES];
    struct htab keys, clients;
    struct list kept, refused; /* answers and reservations; refusals */
    uint64_t evicted, expired;
};

void bo_idem_limits_default(bo_idem_limits_t *lim)
{
    *lim = (bo_idem_limits_t){BO_IDEM_TTL_MS, BO_IDEM_REFUSAL_TTL_MS, BO_IDEM_KEYS_MAX,
                              BO_IDEM_PER_CLIENT_MAX};
}

static uint64_t sip(const bo_idem_table_t *t, const char *s, size_t len)
{
    uint8_t out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, (const uint8_t *)s, len, t->sip);
    memcpy(&h, out, sizeof(h));
    return h;
}

static void list_push(struct list *l, struct entry *e)
{
    e->next = NULL;
    e->prev = l->tail;
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->n++;
}

static void list_unlink(struct list *l, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    l->n--;
}

static struct entry *find(bo_idem_table_t *t, const char *key, size_t klen)
{
    BO_ASSERT(bo_mutex_held(&t->mu) && key != NULL);
    uint64_t h = sip(t, key, klen);
    for (struct hnode *n = *htab_bucket(&t->keys, h); n; n = n->chain) {
        struct entry *e = (struct entry *)n;
        if (n->h == h && !strcmp(e->key, key))
            return e;
    }
    return NULL;
}

/* The client named addr (cut at BO_IDEM_CLIENT_ADDR_MAX), made when new
 * and make is set; NULL when absent or out of memory. */
static struct client *client_of(bo_idem_table_t *t, const char *addr, bool make)
{
    BO_ASSERT(bo_mutex_held(&t->mu));
    size_t len = strnlen(addr, BO_IDEM_CLIENT_ADDR_MAX);
    uint64_t h = sip(t, addr, len);
    for (struct hnode *n = *htab_bucket(&t->clients, h); n; n = n->chain) {
        struct client *c = (struct client *)n;
        if (n->h == h && strlen(c->addr) == len && !memcmp(c->addr, addr, len))
            return c;
    }
    struct client *c = make ? calloc(1, sizeof(*c) + len + 1) : NULL;
    if (c) {
        memcpy(c->addr, addr, len);
        c->hn.h = h;
        htab_insert(&t->clients, &c->hn);
    }
    return c;
}

static void client_put(bo_idem_table_t *t, struct client *c)
{
    if (c && c->keys == 0) {
        htab_remove(&t->clients, &c->hn);
        free(c);
    }
}

static void drop(bo_idem_table_t *t, struct entry *e)
{
    BO_ASSERT(bo_mutex_held(&t->mu) && e != NULL);
    list_unlink(e->refused ? &t->refused : &t->kept, e);
    htab_remove(&t->keys, &e->hn);
    if (e->client) {
        BO_ASSERT(e->client->keys > 0);
        e->client->keys--;
        client_put(t, e->client);
    }
    free(e->body);
    free(e);
}

static bool expired(const bo_idem_table_t *t, const struct entry *e, int64_t now_ms)
{
    return now_ms - e->at_ms >= (e->refused ? t->lim.refusal_ttl_ms : t->lim.ttl_ms);
}

static uint32_t expire(bo_idem_table_t *t, int64_t now_ms, uint32_t max)
{
    BO_ASSERT(bo_mutex_held(&t->mu));
    uint32_t n = 0;
    struct list *lists[2] = {&t->refused, &t->kept};
    for (int i = 0; i < 2; i++)
        while (n < max && lists[i]->head && expired(t, lists[i]->head, now_ms)) {
            drop(t, lists[i]->head);
            n++;
        }
    t->expired += n;
    return n;
}

/* Housekeeping of every call (lock held). */
static void step(bo_idem_table_t *t, int64_t now_ms)
{
    BO_ASSERT(bo_mutex_held(&t->mu));
    htab_move(&t->keys, MOVE_STEP);
    htab_move(&t->clients, MOVE_STEP);
    expire(t, now_ms, EXPIRE_STEP);
}

/* Make room for one more key: forget refusals first, then answers. */
static void make_room(bo_idem_table_t *t)
{
    BO_ASSERT(bo_mutex_held(&t->mu));
    while (t->keys.n >= t->lim.keys_max) {
        struct entry *victim = t->refused.head ? t->refused.head : t->kept.head;
        BO_ASSERT(victim);
        drop(t, victim);
        t->evicted++;
    }
}

static struct entry *entry_new(bo_idem_table_t *t, const char *key, size_t klen,
                               const uint8_t hash[32], int64_t at_ms)
{
    struct entry *e = calloc(1, sizeof(*e) + klen + 1);
    if (!e)
        return NULL;
    memcpy(e->key, key, klen);
    memcpy(e->hash, hash, 32);
    e->hn.h = sip(t, key, klen);
    e->at_ms = at_ms;
    return e;
}

/* Insert e (its status and refused set) at the tail of its list. */
static void insert(bo_idem_table_t *t, struct entry *e)
{
    BO_ASSERT(bo_mutex_held(&t->mu) && e != NULL);
    if (e->client) /* first: an eviction below must not free the client */
        e->client->keys++;
    make_room(t);
    htab_insert(&t->keys, &e->hn);
    list_push(e->refused ? &t->refused : &t->kept, e);
    BO_ASSERT(t->keys.n == t->kept.n + t->refused.n && t->keys.n <= t->lim.keys_max);
}

static int set_answer(struct entry *e, int status, const char *body, size_t len)
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

/* ---- the API ---- */

bo_idem_table_t *bo_idem_table_new(const bo_idem_limits_t *lim)
{
    BO_ASSERT(lim && lim->keys_max > 0 && lim->per_client_max > 0);
    BO_ASSERT(lim->refusal_ttl_ms > 0 && lim->refusal_ttl_ms <= lim->ttl_ms);
    if (sodium_init() < 0)
        return NULL;
    bo_idem_table_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (htab_init(&t->keys) || htab_init(&t->clients)) {
        htab_free(&t->keys);
        free(t);
        return NULL;
    }
    t->lim = *lim;
    crypto_shorthash_keygen(t->sip);
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void bo_idem_table_free(bo_idem_table_t *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu); /* no other user now: for drop's assert */
    while (t->kept.head)
        drop(t, t->kept.head);
    while (t->refused.head)
        drop(t, t->refused.head);
    pthread_mutex_unlock(&t->mu);
    BO_ASSERT(t->clients.n == 0);
    htab_free(&t->keys);
    htab_free(&t->clients);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* An existing entry's answer to begin (lock held). */
static int existing(struct entry *e, const uint8_t hash[32], bo_idem_answer_t *ans)
{
    if (memcmp(e->hash, hash, 32) != 0)
        return BO_EIDEMMISMATCH;
    if (e->status == 0)
        return BO_EIDEMBUSY;
    ans->body = malloc(e->len + 1);
    if (!ans->body)
        return BO_ENOMEM;
    memcpy(ans->body, e->body, e->len + 1);
    ans->status = e->status;
    ans->len = e->len;
    return 1;
}

/* A new reservation (lock held). */
static int reserve(bo_idem_table_t *t, const char *key, size_t klen, const uint8_t hash[32],
                   const char *client, int64_t now_ms, int64_t *retry_ms)
{
    BO_ASSERT(bo_mutex_held(&t->mu) && key != NULL && klen > 0);
    struct client *c = client ? client_of(t, client, true) : NULL;
    if (client && !c)
        return BO_ENOMEM;
    if (c && c->keys >= t->lim.per_client_max) {
        *retry_ms = t->lim.refusal_ttl_ms;
        return BO_ERATE;
    }
    struct entry *e = entry_new(t, key, klen, hash, now_ms);
    if (!e) {
        client_put(t, c);
        return BO_ENOMEM;
    }
    e->client = c;
    insert(t, e);
    return 0;
}

int bo_idem_table_begin(bo_idem_table_t *t, const char *key, const uint8_t hash[32],
                        const char *client, int64_t now_ms, bo_idem_answer_t *ans,
                        int64_t *retry_ms)
{
    size_t klen = key ? strlen(key) : 0;
    if (klen == 0 || klen > BO_IDEM_KEY_MAX)
        return BO_EINVAL;
    BO_ASSERT(hash && ans && retry_ms);
    pthread_mutex_lock(&t->mu);
    step(t, now_ms);
    struct entry *e = find(t, key, klen);
    if (e && expired(t, e, now_ms)) {
        drop(t, e);
        t->expired++;
        e = NULL;
    }
    int rc = e ? existing(e, hash, ans) : reserve(t, key, klen, hash, client, now_ms, retry_ms);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void bo_idem_table_end(bo_idem_table_t *t, const char *key, int status, const char *body,
                       size_t len, int64_t now_ms)
{
    pthread_mutex_lock(&t->mu);
    step(t, now_ms);
    struct entry *e = find(t, key, strlen(key));
    if (e && e->status == 0) {
        if (!body || set_answer(e, status, body, len) != 0) {
            drop(t, e); /* no answer: the key is free again */
        } else if (status >= 400) {
            list_unlink(&t->kept, e);
            e->refused = true;
            e->at_ms = now_ms;
            list_push(&t->refused, e);
        }
    }
    pthread_mutex_unlock(&t->mu);
}

int bo_idem_table_load(bo_idem_table_t *t, const char *key, const uint8_t hash[32], int status,
                       const char *body, size_t len, int64_t at_ms, int64_t now_ms)
{
    size_t klen = key ? strlen(key) : 0;
    if (klen == 0 || klen > BO_IDEM_KEY_MAX || status <= 0)
        return BO_ECORRUPT;
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    step(t, now_ms);
    struct entry *e = NULL;
    if (find(t, key, klen)) {
        rc = BO_ECORRUPT;
    } else if (!(e = entry_new(t, key, klen, hash, at_ms)) || set_answer(e, status, body, len)) {
        rc = BO_ENOMEM;
    } else {
        e->refused = status >= 400;
        if (expired(t, e, now_ms)) {
            free(e->body);
            free(e);
        } else {
            insert(t, e);
        }
        e = NULL;
    }
    if (e) {
        free(e->body);
        free(e);
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

uint32_t bo_idem_table_expire(bo_idem_table_t *t, int64_t now_ms, uint32_t max)
{
    pthread_mutex_lock(&t->mu);
    uint32_t n = expire(t, now_ms, max);
    pthread_mutex_unlock(&t->mu);
    return n;
}

void bo_idem_table_stats(bo_idem_table_t *t, bo_idem_table_stats_t *out)
{
    pthread_mutex_lock(&t->mu);
    *out = (bo_idem_table_stats_t){t->keys.n,  t->refused.n, t->clients.n, t->keys.cur_mask + 1,
                                   t->evicted, t->expired};
    pthread_mutex_unlock(&t->mu);
}

uint32_t bo_idem_table_client_keys(bo_idem_table_t *t, const char *client)
{
    pthread_mutex_lock(&t->mu);
    struct client *c = client_of(t, client, false);
    uint32_t n = c ? c->keys : 0;
    pthread_mutex_unlock(&t->mu);
    return n;
}
