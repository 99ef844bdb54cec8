/*
 * queue.c - the waiting room's decisions (boxoffice/queue.h): joins into
 * the pre-queue or behind it, the shuffle at on-sale, admissions at the
 * event's rate under its cap of active shoppers, and what each visitor
 * sees when polling.
 *
 * Workload: every poll of every visitor lands here (thousands a second):
 * one lock, an index into an array, a few comparisons. Admissions are
 * decided on those polls and joins (tick), so nothing runs while nobody
 * asks; the credit they accumulate meanwhile is exact to the millisecond
 * and capped at one second's worth, so a quiet spell never turns into a
 * burst. Visitors are never removed: memory is 32 bytes per arrival plus
 * 4 per pre-queue place and 4 per admission (docs/architecture.md).
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "queue/queue_internal.h"
#include "util/assert.h"

#define MS_PER_MIN 60000LL
#define TICK_MAX   65536u /* places looked at per tick, at most */

const char *bo_queue_status_name(int status)
{
    static const char *const names[] = {"prequeue", "waiting", "admitted", "expired", "skipped"};
    return (unsigned)status < sizeof(names) / sizeof(names[0]) ? names[status] : "skipped";
}

int bo_queues_new(bo_live_t *live, bo_queues_t **out)
{
    bo_queues_t *qs = calloc(1, sizeof(*qs));
    *out = qs;
    if (!qs || sodium_init() < 0)
        return BO_ENOMEM;
    qs->live = live;
    pthread_mutex_init(&qs->mu, NULL);
    pthread_mutex_init(&qs->pow_mu, NULL);
    return 0;
}

static void queue_free(bo__queue_t *q)
{
    pthread_mutex_destroy(&q->mu);
    free(q->v);
    free(q->perm);
    free(q->adm);
    free(q);
}

void bo_queues_free(bo_queues_t *qs)
{
    if (!qs)
        return;
    for (size_t i = 0; qs->map.keys && i <= qs->map.mask; i++)
        if (qs->map.keys[i])
            queue_free(qs->map.vals[i]);
    bo_u64map_free(&qs->map);
    pthread_mutex_destroy(&qs->mu);
    pthread_mutex_destroy(&qs->pow_mu);
    free(qs->pow_used);
    sodium_memzero(qs->key, sizeof(qs->key));
    free(qs);
}

bo__queue_t *bo__queue_get(bo_queues_t *qs, uint64_t event, bool create)
{
    pthread_mutex_lock(&qs->mu);
    bo__queue_t *q = bo_u64map_get(&qs->map, event);
    if (!q && create && (q = calloc(1, sizeof(*q)))) {
        pthread_mutex_init(&q->mu, NULL);
        q->event = event;
        q->next_place = 1;
        if (bo_u64map_put(&qs->map, event, q)) {
            queue_free(q);
            q = NULL;
        }
    }
    pthread_mutex_unlock(&qs->mu);
    return q;
}

int bo__queue_grow(bo__queue_t *q, uint32_t i)
{
    if (i < q->cap)
        return 0;
    uint32_t cap = q->cap ? q->cap : 1024;
    while (cap <= i)
        cap *= 2;
    bo__visitor_t *v = realloc(q->v, (size_t)cap * sizeof(*v));
    if (!v)
        return BO_ENOMEM;
    memset(v + q->cap, 0, (size_t)(cap - q->cap) * sizeof(*v));
    q->v = v;
    q->cap = cap;
    return 0;
}

int bo__queue_place_prequeue(bo__queue_t *q)
{
    free(q->perm);
    q->perm = NULL;
    if (q->npre && !(q->perm = malloc((size_t)q->npre * sizeof(uint32_t))))
        return BO_ENOMEM;
    bo_queue_shuffle(q->seed, q->perm, q->npre);
    for (uint32_t p = 0; p < q->npre; p++) {
        bo__visitor_t *v = &q->v[q->perm[p]];
        v->place = p + 1;
        if (v->status == BO_QUEUE_PREQUEUE) {
            v->status = BO_QUEUE_WAITING;
            q->nprequeue--;
            q->nwaiting++;
        }
    }
    BO_ASSERT(q->nprequeue == 0);
    return 0;
}

/* The arrival at place p (1-based, < n + 1). */
static uint32_t arrival_at(const bo__queue_t *q, uint32_t p)
{
    BO_ASSERT(p >= 1 && p <= q->n && q->seed_set);
    return p <= q->npre ? q->perm[p - 1] : p - 1;
}

/* Passes that ran out leave the active count; admissions older than a
 * minute leave the measured rate. */
static void age(bo__queue_t *q, const bo_queue_config_t *cfg, int64_t now_ms)
{
    int64_t now_s = now_ms / 1000;
    while (q->adm_expired < q->nadm &&
           (int64_t)q->v[q->adm[q->adm_expired]].admitted_s + cfg->pass_ttl_s <= now_s) {
        if (q->v[q->adm[q->adm_expired]].shopped)
            q->shopped--;
        q->adm_expired++;
    }
    BO_ASSERT(q->shopped <= q->nadm - q->adm_expired);
    while (q->adm_old < q->nadm && (int64_t)q->v[q->adm[q->adm_old]].admitted_s + 60 <= now_s)
        q->adm_old++;
}

/* Admitted shoppers whose pass is valid and who have not gone on to pay. */
static uint32_t active_of(const bo__queue_t *q)
{
    return q->nadm - q->adm_expired - q->shopped;
}

/* Admission credit owed at now_ms, capped at a second's worth (one at
 * least). */
static void accrue(bo__queue_t *q, const bo_queue_config_t *cfg, int64_t now_ms)
{
    int64_t cap = (int64_t)cfg->admit_per_min * 1000;
    cap = cap < MS_PER_MIN ? MS_PER_MIN : cap;
    if (cfg->paused) {
        q->credit_at_ms = q->credit = 0;
        return;
    }
    if (q->credit_at_ms == 0) { /* on-sale or resumed: the first admission now */
        q->credit_at_ms = now_ms;
        q->credit = MS_PER_MIN;
        return;
    }
    if (now_ms < q->credit_at_ms)
        return;
    q->credit += (now_ms - q->credit_at_ms) * (int64_t)cfg->admit_per_min;
    q->credit = q->credit < cap ? q->credit : cap;
    q->credit_at_ms = now_ms;
}

static int adm_push(bo__queue_t *q, uint32_t i)
{
    if (q->nadm == q->adm_cap) {
        uint32_t cap = q->adm_cap ? q->adm_cap * 2 : 1024;
        uint32_t *a = realloc(q->adm, (size_t)cap * sizeof(*a));
        if (!a)
            return BO_ENOMEM;
        q->adm = a;
        q->adm_cap = cap;
    }
    q->adm[q->nadm++] = i;
    return 0;
}

/* Admit or skip from next_place on while credit and the cap allow; the
 * admissions are written with the new watermark. q->mu held. */
static void admit(bo_queues_t *qs, bo__queue_t *q, const bo_queue_config_t *cfg, int64_t now_ms)
{
    uint32_t now_s = (uint32_t)(now_ms / 1000), first = q->nadm, looked = 0;
    uint64_t skipped = q->skipped;
    while (q->next_place <= q->n && q->credit >= MS_PER_MIN && looked++ < TICK_MAX &&
           active_of(q) < cfg->max_active) {
        bo__visitor_t *v = &q->v[arrival_at(q, q->next_place)];
        if (v->status != BO_QUEUE_WAITING) { /* gone: its join failed */
            q->next_place++;
            continue;
        }
        if (now_s - v->last_poll_s >= BO_QUEUE_IDLE_S) {
            v->status = BO_QUEUE_SKIPPED;
            q->nwaiting--;
            q->skipped++;
            q->next_place++;
            continue;
        }
        if (adm_push(q, (uint32_t)(v - q->v)))
            break;
        v->status = BO_QUEUE_ADMITTED;
        v->admitted_s = now_s ? now_s : 1;
        q->nwaiting--;
        q->credit -= MS_PER_MIN;
        q->next_place++;
    }
    if (q->nadm > first || q->skipped > skipped)
        bo__queue_put_state(qs, q, q->adm + first, q->nadm - first, false);
}

/* Everything time makes happen, up to now_ms. q->mu held. */
static void tick(bo_queues_t *qs, bo__queue_t *q, const bo_queue_config_t *cfg, int64_t now_ms)
{
    if (now_ms < cfg->onsale_at_ms)
        return;
    if (!q->npre_fixed) {
        q->npre_fixed = true;
        q->npre = q->n;
    }
    if (!q->seed_set) {
        if (!q->shuffling) {
            randombytes_buf(q->seed, sizeof(q->seed));
            q->shuffling = bo__queue_put_state(qs, q, NULL, 0, true) == 0;
        }
        return;
    }
    age(q, cfg, now_ms);
    accrue(q, cfg, now_ms);
    admit(qs, q, cfg, now_ms);
}

void bo__queue_shuffle_done(bo_queues_t *qs, uint64_t event, int status)
{
    bo__queue_t *q = bo__queue_get(qs, event, false);
    BO_ASSERT(q != NULL);
    pthread_mutex_lock(&q->mu);
    BO_ASSERT(q->shuffling && !q->seed_set);
    q->shuffling = false;
    if (status == 0 && bo__queue_place_prequeue(q) == 0)
        q->seed_set = true; /* else the next tick draws another seed */
    pthread_mutex_unlock(&q->mu);
}

/* When to poll next: sooner near one's turn, never past
 * BO_QUEUE_POLL_MAX_MS, with up to a quarter of jitter. */
static uint32_t poll_after(int64_t until_ms)
{
    int64_t base = until_ms / 2;
    base = base < 1000 ? 1000 : base > 15000 ? 15000 : base;
    return (uint32_t)(base + randombytes_uniform((uint32_t)(base / 4) + 1));
}

/* What visitor i sees. q->mu held. */
static void view(bo_queues_t *qs, bo__queue_t *q, const bo_queue_config_t *cfg, uint32_t i,
                 int64_t now_ms, bo_queue_view_t *out)
{
    bo__visitor_t *v = &q->v[i];
    char hex[33];
    sodium_bin2hex(hex, sizeof(hex), v->secret, sizeof(v->secret));
    memset(out, 0, sizeof(*out));
    snprintf(out->ticket, sizeof(out->ticket), "qt_%08x%s", i, hex);
    out->status = v->status == BO__VISITOR_GONE ? BO_QUEUE_SKIPPED : v->status;
    out->place = q->seed_set || !v->pre ? v->place : 0;
    out->ahead = out->estimated_wait_s = -1;
    if (out->status == BO_QUEUE_PREQUEUE || (v->pre && !q->seed_set)) {
        out->status = BO_QUEUE_PREQUEUE;
        out->poll_after_ms = poll_after(cfg->onsale_at_ms - now_ms + 2000);
        return;
    }
    if (out->status == BO_QUEUE_WAITING) {
        out->ahead = v->place > q->next_place ? v->place - q->next_place : 0;
        out->estimated_wait_s = (out->ahead + 1) * 60 / cfg->admit_per_min;
        out->poll_after_ms = poll_after(out->estimated_wait_s * 1000);
        return;
    }
    out->poll_after_ms = poll_after(BO_QUEUE_POLL_MAX_MS);
    if (out->status != BO_QUEUE_ADMITTED)
        return;
    uint32_t expires_s = v->admitted_s + cfg->pass_ttl_s;
    out->admitted_at_ms = (int64_t)v->admitted_s * 1000;
    out->pass_expires_at_ms = (int64_t)expires_s * 1000;
    if (now_ms / 1000 >= expires_s)
        out->status = BO_QUEUE_EXPIRED;
    else
        bo__queue_pass_make(qs, q->event, v->place, v->admitted_s, expires_s, out->pass);
}

int bo_queue_join(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, int64_t now_ms,
                  bo_queue_done_fn done, void *arg)
{
    BO_ASSERT(cfg != NULL && done != NULL);
    if (!cfg->enabled)
        return BO_ENOTFOUND;
    if (now_ms < cfg->prequeue_opens_at_ms)
        return BO_EQUEUENOTOPEN;
    bo__queue_t *q = bo__queue_get(qs, event, true);
    if (!q)
        return BO_ENOMEM;
    pthread_mutex_lock(&q->mu);
    tick(qs, q, cfg, now_ms);
    uint32_t i = q->n;
    int rc = i >= BO_QUEUE_MAX_VISITORS ? BO_EQUEUEFULL : bo__queue_grow(q, i);
    if (rc == 0) {
        bo__visitor_t *v = &q->v[i];
        randombytes_buf(v->secret, sizeof(v->secret));
        v->last_poll_s = (uint32_t)(now_ms / 1000);
        v->pre = !q->npre_fixed;
        v->status = v->pre ? BO_QUEUE_PREQUEUE : BO_QUEUE_WAITING;
        v->place = v->pre ? 0 : i + 1;
        q->n++;
        q->joins++;
        *(v->pre ? &q->nprequeue : &q->nwaiting) += 1;
        bo_queue_view_t out;
        view(qs, q, cfg, i, now_ms, &out);
        if ((rc = bo__queue_put_join(qs, q, i, done, arg, &out)) != 0) {
            *(v->pre ? &q->nprequeue : &q->nwaiting) -= 1;
            v->status = BO__VISITOR_GONE; /* its number is spent: a hole */
            q->joins--;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void bo__queue_join_done(bo_queues_t *qs, uint64_t event, uint32_t i, int status)
{
    if (!qs || status == 0)
        return;
    bo__queue_t *q = bo__queue_get(qs, event, false);
    BO_ASSERT(q != NULL);
    pthread_mutex_lock(&q->mu);
    bo__visitor_t *v = &q->v[i];
    if (v->status == BO_QUEUE_PREQUEUE)
        q->nprequeue--;
    else if (v->status == BO_QUEUE_WAITING)
        q->nwaiting--;
    v->status = BO__VISITOR_GONE; /* never acknowledged: its place is skipped */
    pthread_mutex_unlock(&q->mu);
}

/* "qt_" 8 hex 32 hex: the arrival number and the secret. */
static int ticket_parse(const char *t, size_t len, uint32_t *i, uint8_t secret[16])
{
    char num[9];
    if (!t || len != BO_QUEUE_TICKET_LEN || memcmp(t, "qt_", 3))
        return BO_ENOTFOUND;
    memcpy(num, t + 3, 8);
    num[8] = '\0';
    for (int k = 0; k < 8; k++)
        if (!strchr("0123456789abcdef", num[k]))
            return BO_ENOTFOUND;
    *i = (uint32_t)strtoul(num, NULL, 16);
    size_t got = 0;
    if (sodium_hex2bin(secret, 16, t + 11, 32, NULL, &got, NULL) || got != 16)
        return BO_ENOTFOUND;
    return 0;
}

int bo_queue_poll(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, const char *ticket,
                  size_t len, int64_t now_ms, bo_queue_view_t *out)
{
    uint32_t i;
    uint8_t secret[16];
    bo__queue_t *q;
    if (!cfg->enabled || ticket_parse(ticket, len, &i, secret) ||
        !(q = bo__queue_get(qs, event, false)))
        return BO_ENOTFOUND;
    pthread_mutex_lock(&q->mu);
    int rc = BO_ENOTFOUND;
    if (i < q->n && q->v[i].status != BO__VISITOR_GONE &&
        sodium_memcmp(q->v[i].secret, secret, 16) == 0) {
        q->v[i].last_poll_s = (uint32_t)(now_ms / 1000);
        tick(qs, q, cfg, now_ms);
        view(qs, q, cfg, i, now_ms, out);
        rc = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void bo_queue_shopped(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, uint32_t place,
                      int64_t now_ms)
{
    bo__queue_t *q = cfg->enabled ? bo__queue_get(qs, event, false) : NULL;
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    age(q, cfg, now_ms); /* an admission still counted is in adm[adm_expired..nadm) */
    if (q->seed_set && place >= 1 && place <= q->n) {
        bo__visitor_t *v = &q->v[arrival_at(q, place)];
        if (v->status == BO_QUEUE_ADMITTED && !v->shopped &&
            (int64_t)v->admitted_s + cfg->pass_ttl_s > now_ms / 1000) {
            v->shopped = 1;
            q->shopped++;
            tick(qs, q, cfg, now_ms); /* the place it leaves goes to the next visitor */
        }
    }
    pthread_mutex_unlock(&q->mu);
}

int bo_queue_stats(bo_queues_t *qs, uint64_t event, const bo_queue_config_t *cfg, int64_t now_ms,
                   bo_queue_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    bo__queue_t *q = bo__queue_get(qs, event, false);
    if (!q)
        return 0;
    pthread_mutex_lock(&q->mu);
    if (cfg->enabled)
        tick(qs, q, cfg, now_ms);
    age(q, cfg, now_ms);
    out->prequeue = q->seed_set ? 0 : q->nprequeue;
    out->waiting = q->nwaiting;
    out->admitted_total = q->nadm;
    out->active = active_of(q);
    out->skipped_total = q->skipped;
    out->admissions_last_min = q->nadm - q->adm_old;
    out->seed_set = q->seed_set;
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void bo_queue_totals(bo_queues_t *qs, bo_queue_totals_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&qs->mu);
    for (size_t k = 0; qs->map.keys && k <= qs->map.mask; k++) {
        bo__queue_t *q = qs->map.keys[k] ? qs->map.vals[k] : NULL;
        if (!q)
            continue;
        pthread_mutex_lock(&q->mu);
        out->joins += q->joins;
        out->admitted += q->nadm;
        out->skipped += q->skipped;
        out->waiting += q->nwaiting + q->nprequeue;
        out->active += active_of(q);
        pthread_mutex_unlock(&q->mu);
    }
    pthread_mutex_unlock(&qs->mu);
}
