/*
 * queue_doc.c - the waiting room made durable through the store's group
 * commit (live.h documents), and read back at start.
 *
 * Documents: "queue" <event>.<arrival> per visitor ({"t": secret, "p":
 * joined before on-sale, "a": admitted at, Unix s}), written before the
 * join's 201 and again when admitted; "queue_state" <event> ({"seed",
 * "npre", "next": the admission watermark, "skipped"}), written when the
 * pre-queue is shuffled (before anyone sees a place) and with every batch
 * of admissions; "queue_key" "pass" (the pass key), once.
 *
 * Workload: one small document per join, shared commits (~1 ms for up to
 * thousands of joins); one batch per tick that admitted anybody. A skipped
 * visitor costs no write: behind the watermark and not admitted is
 * skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "boxoffice/error.h"
#include "queue/queue_internal.h"
#include "util/assert.h"

#define COLL_VISITOR "queue"
#define COLL_STATE   "queue_state"
#define COLL_KEY     "queue_key"
#define BODY_MAX     96

/* ---- writing ---------------------------------------------------------------- */

struct join_put {
    bo_doc_t doc;
    char id[32], body[BODY_MAX];
    bo_queues_t *qs;
    uint64_t event;
    uint32_t i;
    bo_queue_done_fn done;
    void *arg;
    bo_queue_view_t view;
};

static void visitor_doc(bo_doc_t *d, char *id, char *body, uint64_t event, uint32_t i,
                        const bo__visitor_t *v)
{
    char hex[33];
    sodium_bin2hex(hex, sizeof(hex), v->secret, sizeof(v->secret));
    snprintf(id, 32, "%016llx.%08x", (unsigned long long)event, i);
    int n = snprintf(body, BODY_MAX, "{\"t\":\"%s\",\"p\":%d,\"a\":%u}", hex, v->pre ? 1 : 0,
                     v->admitted_s);
    BO_ASSERT(n > 0 && n < BODY_MAX);
    *d = (bo_doc_t){.coll = COLL_VISITOR, .id = id, .body = body, .len = (size_t)n};
}

static void join_done(void *arg, const bo_live_result_t *r)
{
    struct join_put *p = arg;
    bo__queue_join_done(p->qs, p->event, p->i, r->status);
    p->done(p->arg, r->status, r->status ? NULL : &p->view);
    free(p);
}

int bo__queue_put_join(bo_queues_t *qs, bo__queue_t *q, uint32_t i, bo_queue_done_fn done,
                       void *arg, const bo_queue_view_t *view)
{
    struct join_put *p = malloc(sizeof(*p));
    if (!p)
        return BO_ENOMEM;
    *p = (struct join_put){.qs = qs, .event = q->event, .i = i, .done = done, .arg = arg};
    p->view = *view;
    visitor_doc(&p->doc, p->id, p->body, q->event, i, &q->v[i]);
    int rc = bo_live_put_docs(qs->live, &p->doc, 1, join_done, p);
    if (rc)
        free(p);
    return rc;
}

struct state_put {
    bo_queues_t *qs;
    uint64_t event;
    bool shuffle;
    uint32_t n;
    char id[24], body[256];
    bo_doc_t *docs;  /* n + 1 */
    char (*ids)[32]; /* n */
    char (*bodies)[BODY_MAX];
};

static void state_put_free(struct state_put *p)
{
    free(p->docs);
    free(p->ids);
    free(p->bodies);
    free(p);
}

static void state_done(void *arg, const bo_live_result_t *r)
{
    struct state_put *p = arg;
    if (p->shuffle)
        bo__queue_shuffle_done(p->qs, p->event, r->status);
    else if (r->status)
        fprintf(stderr, "boxoffice: queue admissions of %016llx not stored: %s\n",
                (unsigned long long)p->event, bo_strerror(r->status));
    state_put_free(p);
}

int bo__queue_put_state(bo_queues_t *qs, bo__queue_t *q, const uint32_t *admitted, uint32_t n,
                        bool shuffle)
{
    struct state_put *p = calloc(1, sizeof(*p));
    if (!p || !(p->docs = calloc((size_t)n + 1, sizeof(bo_doc_t))) ||
        (n && (!(p->ids = calloc(n, sizeof(*p->ids))) ||
               !(p->bodies = calloc(n, sizeof(*p->bodies)))))) {
        if (p)
            state_put_free(p);
        return BO_ENOMEM;
    }
    *p = (struct state_put){.qs = qs,
                            .event = q->event,
                            .shuffle = shuffle,
                            .n = n,
                            .docs = p->docs,
                            .ids = p->ids,
                            .bodies = p->bodies};
    char seed[65] = "";
    if (shuffle || q->seed_set)
        sodium_bin2hex(seed, sizeof(seed), q->seed, sizeof(q->seed));
    snprintf(p->id, sizeof(p->id), "%016llx", (unsigned long long)q->event);
    int len = snprintf(p->body, sizeof(p->body),
                       "{\"seed\":\"%s\",\"npre\":%u,\"next\":%u,\"skipped\":%llu}", seed, q->npre,
                       q->next_place, (unsigned long long)q->skipped);
    p->docs[0] = (bo_doc_t){.coll = COLL_STATE, .id = p->id, .body = p->body, .len = (size_t)len};
    for (uint32_t k = 0; k < n; k++)
        visitor_doc(&p->docs[k + 1], p->ids[k], p->bodies[k], q->event, admitted[k],
                    &q->v[admitted[k]]);
    int rc = bo_live_put_docs(qs->live, p->docs, n + 1, state_done, p);
    if (rc)
        state_put_free(p);
    return rc;
}

int bo__queue_put_key(bo_queues_t *qs)
{
    char hex[2 * crypto_auth_KEYBYTES + 1], body[2 * crypto_auth_KEYBYTES + 16];
    sodium_bin2hex(hex, sizeof(hex), qs->key, sizeof(qs->key));
    int len = snprintf(body, sizeof(body), "{\"key\":\"%s\"}", hex);
    bo_doc_t d = {.coll = COLL_KEY, .id = "pass", .body = body, .len = (size_t)len};
    bo_live_wait_t w;
    bo_live_wait_init(&w);
    int rc = bo_live_put_docs(qs->live, &d, 1, bo_live_wait_done, &w);
    if (rc == 0)
        rc = bo_live_wait(&w, NULL);
    bo_live_wait_destroy(&w);
    sodium_memzero(body, sizeof(body));
    sodium_memzero(hex, sizeof(hex));
    return rc;
}

/* ---- reading back ----------------------------------------------------------- */

struct bo__state_doc {
    struct bo__state_doc *next;
    uint64_t event;
    bool seed_set;
    uint8_t seed[32];
    uint32_t npre, next_place;
    uint64_t skipped;
};

static int hex_bytes(json_t *v, uint8_t *out, size_t n)
{
    size_t got = 0;
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 2 * n || sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) || got != n)
        return BO_ECORRUPT;
    return 0;
}

static int load_visitor(bo_queues_t *qs, const char *id, json_t *j)
{
    unsigned long long event;
    unsigned i;
    int used = 0;
    if (sscanf(id, "%16llx.%8x%n", &event, &i, &used) != 2 || id[used] || event == 0 ||
        i >= BO_QUEUE_MAX_VISITORS)
        return BO_ECORRUPT;
    bo__queue_t *q = bo__queue_get(qs, event, true);
    if (!q || bo__queue_grow(q, i))
        return BO_ENOMEM;
    bo__visitor_t *v = &q->v[i];
    if (hex_bytes(json_object_get(j, "t"), v->secret, sizeof(v->secret)))
        return BO_ECORRUPT;
    v->pre = json_integer_value(json_object_get(j, "p")) != 0;
    v->admitted_s = (uint32_t)json_integer_value(json_object_get(j, "a"));
    v->last_poll_s = 1; /* loaded; the real time is set by rebuild */
    q->n = i + 1 > q->n ? i + 1 : q->n;
    return 0;
}

static int load_state(bo_queues_t *qs, const char *id, json_t *j)
{
    struct bo__state_doc *s = calloc(1, sizeof(*s));
    unsigned long long event;
    int used = 0;
    if (!s)
        return BO_ENOMEM;
    const char *seed = json_string_value(json_object_get(j, "seed"));
    if (sscanf(id, "%16llx%n", &event, &used) != 1 || id[used] ||
        (seed && seed[0] && hex_bytes(json_object_get(j, "seed"), s->seed, 32))) {
        free(s);
        return BO_ECORRUPT;
    }
    s->event = event;
    s->seed_set = seed && seed[0];
    s->npre = (uint32_t)json_integer_value(json_object_get(j, "npre"));
    s->next_place = (uint32_t)json_integer_value(json_object_get(j, "next"));
    s->skipped = (uint64_t)json_integer_value(json_object_get(j, "skipped"));
    s->next = qs->states;
    qs->states = s;
    return 0;
}

int bo_queues_load_doc(bo_queues_t *qs, const char *coll, const char *id, const char *body,
                       size_t len)
{
    bool visitor = !strcmp(coll, COLL_VISITOR), state = !strcmp(coll, COLL_STATE);
    if (!visitor && !state && strcmp(coll, COLL_KEY))
        return 1;
    json_t *j = json_loadb(body, len, 0, NULL);
    int rc = !json_is_object(j) ? BO_ECORRUPT
             : visitor          ? load_visitor(qs, id, j)
             : state            ? load_state(qs, id, j)
                                : hex_bytes(json_object_get(j, "key"), qs->key, sizeof(qs->key));
    if (rc == 0 && !visitor && !state)
        qs->key_set = true;
    json_decref(j);
    if (rc)
        fprintf(stderr, "boxoffice: queue document %s/%s does not load\n", coll, id);
    return rc;
}

/* One queue from its visitors and its state document (s may be NULL). */
static int rebuild_one(bo__queue_t *q, const struct bo__state_doc *s, uint32_t now_s)
{
    uint32_t maxpre = 0;
    bool post = false;
    for (uint32_t i = 0; i < q->n; i++) {
        bo__visitor_t *v = &q->v[i];
        if (!v->last_poll_s) {
            v->status = BO__VISITOR_GONE;
            continue;
        }
        v->last_poll_s = now_s; /* a restart gives everyone a fresh 300 s */
        v->status = v->pre ? BO_QUEUE_PREQUEUE : BO_QUEUE_WAITING;
        v->place = v->pre ? 0 : i + 1;
        *(v->pre ? &q->nprequeue : &q->nwaiting) += 1;
        q->joins++;
        maxpre = v->pre ? i + 1 : maxpre;
        post = post || !v->pre;
    }
    q->npre_fixed = s || post;
    q->npre = s ? s->npre : maxpre;
    if (s && s->seed_set) {
        memcpy(q->seed, s->seed, sizeof(q->seed));
        if (q->npre > q->n || bo__queue_place_prequeue(q))
            return q->npre > q->n ? BO_ECORRUPT : BO_ENOMEM;
        q->seed_set = true;
        q->next_place = s->next_place ? s->next_place : 1;
        q->skipped = s->skipped;
    }
    for (uint32_t p = 1; q->seed_set && p < q->next_place && p <= q->n; p++) {
        uint32_t i = p <= q->npre ? q->perm[p - 1] : p - 1;
        bo__visitor_t *v = &q->v[i];
        if (v->status != BO_QUEUE_WAITING)
            continue;
        q->nwaiting--;
        v->status = v->admitted_s ? BO_QUEUE_ADMITTED : BO_QUEUE_SKIPPED;
        if (v->admitted_s) {
            if (q->nadm == q->adm_cap) {
                uint32_t cap = q->adm_cap ? q->adm_cap * 2 : 1024;
                uint32_t *a = realloc(q->adm, (size_t)cap * sizeof(*a));
                if (!a)
                    return BO_ENOMEM;
                q->adm = a, q->adm_cap = cap;
            }
            q->adm[q->nadm++] = i;
        }
    }
    return 0;
}

int bo__queue_rebuild(bo_queues_t *qs)
{
    uint32_t now_s = (uint32_t)(bo_live_now_ms(qs->live) / 1000);
    int rc = 0;
    for (struct bo__state_doc *s = qs->states; s && rc == 0; s = s->next)
        if (!bo__queue_get(qs, s->event, true))
            rc = BO_ENOMEM;
    for (size_t k = 0; rc == 0 && qs->map.keys && k <= qs->map.mask; k++) {
        bo__queue_t *q = qs->map.keys[k] ? qs->map.vals[k] : NULL;
        const struct bo__state_doc *s = qs->states;
        while (q && s && s->event != q->event)
            s = s->next;
        if (q)
            rc = rebuild_one(q, s, now_s);
    }
    while (qs->states) {
        struct bo__state_doc *s = qs->states;
        qs->states = s->next;
        free(s);
    }
    return rc;
}

int bo_queues_ready(bo_queues_t *qs)
{
    int rc = bo__queue_rebuild(qs);
    if (rc == 0 && !qs->key_set) {
        crypto_auth_keygen(qs->key);
        if ((rc = bo__queue_put_key(qs)) == 0)
            qs->key_set = true;
    }
    if (rc == 0)
        crypto_generichash(qs->pow_key, sizeof(qs->pow_key), (const uint8_t *)"pow", 3, qs->key,
                           sizeof(qs->key));
    return rc;
}
