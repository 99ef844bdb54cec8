/*
 * test_crash.c - kill -9 at random moments (DESIGN.md promise 2): nothing
 * acknowledged is lost, nothing is half-applied, the invariants hold.
 *
 * Each round forks a child that opens the live layer on one SQLite file
 * (recovering whatever the previous child left) and mutates one event from
 * NWORK threads as fast as it can: explicit, best-available and GA holds,
 * releases, checkouts, failed payments, confirms (late ones too), cancels,
 * blocks and unblocks, up to WINDOW calls in flight per thread but one at a
 * time per hold and per thread's block sets. Around every call it appends to
 * a side file, each line one write(2) on an O_APPEND descriptor that fully
 * describes the mutation: "I" (intent) before the call, then "A" from the
 * callback once the answer is status 0 (acknowledged), or "N" for a refusal
 * (any answer the call does not allow is an "E" line and the child exits).
 * The parent kills the child with SIGKILL 50-400 ms after it is ready (one
 * round in six: 1-60 ms after the fork, during its recovery), drops a torn
 * last line, and checks the reopened store against the side file:
 *  - every acknowledged mutation is there: the hold exists with exactly its
 *    seats, GA, status and expiry; sold stays sold until an acknowledged
 *    cancel; blocked until an acknowledged unblock; and the log row of its
 *    sequence (read from the file directly, unless a snapshot covers it
 *    since) is that mutation, in a gapless log;
 *  - an intent without an answer line (killed between the commit and the
 *    callback, or before the commit) shows either no effect or its whole
 *    effect; the parent adopts what it sees, and the next round continues
 *    from it (the child inherits the parent's knowledge through fork);
 *  - no seat is in two holds or blocks, the seat states, GA counters and
 *    counts are exactly what the holds and blocks say, and the database's
 *    sold and ga tables agree with the engine.
 *
 * Time: a manual clock, persisted across rounds by the parent: round r runs
 * frozen at T0 + r hours, with a hold TTL of 10 minutes. Within a round no
 * hold expires, so an acknowledged hold must be found exactly (not "held or
 * perhaps expired by now"), and the child knows which calls must succeed;
 * between rounds every HELD hold expires, so the holds of killed children
 * do not pile up, and their expiry after recovery is checked as well. (The
 * real clock with a long TTL would fill the venue with orphaned holds; with
 * a short one, whether a hold should still exist would depend on timing.)
 *
 * BOXOFFICE_CRASH_SEED replays the same choices (the kill moments still
 * vary); BOXOFFICE_CRASH_ROUNDS changes the number of rounds (default 24).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boxoffice/error.h"
#include "boxoffice/u64map.h"
#include "live/record.h"
#include "helpers/live_fixture.h"

#define NWORK      3
#define WINDOW     32
#define POOL       256
#define NSETS      6  /* block sets per thread */
#define MAXQ       4  /* seats per hold or block set */
#define HOT        48 /* explicit holds aim at seats [0, HOT) */
#define REGION     16 /* thread t blocks seats of [t * REGION, (t + 1) * REGION) */
#define TTL_MS     600000
#define GAP_MS     3600000
#define T0_MS      1700000000000
#define EVT        9
#define VEN        5
#define SNAP_EVERY 3000 /* records between snapshots: a few per round */
#define KEY_HOLD   (1ull << 62)
#define KEY_BLOCK  (1ull << 61)
#define LINE_MAX   256

/* ---- side-file lines ------------------------------------------------------- */

/* kind: 'I' intent, 'A' acknowledged, 'N' refused, 'E' a wrong answer.
 * op: H hold, R release, P pay_start, F pay_failed, C confirm, X cancel,
 * B block, U unblock. */
struct line {
    char kind, op;
    uint64_t key, seq;
    int64_t exp;
    int flag; /* A of F: released; I of H: best quantity; N and E: status */
    uint32_t nseats, seats[MAXQ];
    uint32_t nga;
    bo_ga_line_t ga[2];
};

static int line_format(const struct line *l, char *buf)
{
    return snprintf(buf, LINE_MAX, "%c %c %llx %llu %lld %d %u %u %u %u %u %u %u %u %u %u .\n",
                    l->kind, l->op, (unsigned long long)l->key, (unsigned long long)l->seq,
                    (long long)l->exp, l->flag, l->nseats, l->seats[0], l->seats[1], l->seats[2],
                    l->seats[3], l->nga, l->ga[0].area, l->ga[0].quantity, l->ga[1].area,
                    l->ga[1].quantity);
}

/* Parse one line (without its '\n'); 0, or -1 when it is not a whole line. */
static int line_parse(const char *s, struct line *l)
{
    unsigned long long key, seq;
    long long exp;
    int end = -1;
    memset(l, 0, sizeof(*l));
    int n = sscanf(s, "%c %c %llx %llu %lld %d %u %u %u %u %u %u %u %u %u %u .%n", &l->kind, &l->op,
                   &key, &seq, &exp, &l->flag, &l->nseats, &l->seats[0], &l->seats[1], &l->seats[2],
                   &l->seats[3], &l->nga, &l->ga[0].area, &l->ga[0].quantity, &l->ga[1].area,
                   &l->ga[1].quantity, &end);
    l->key = key;
    l->seq = seq;
    l->exp = exp;
    return n == 16 && end > 0 && s[end] == '\0' && l->nseats <= MAXQ && l->nga <= 2 ? 0 : -1;
}

/* ---- the child ----------------------------------------------------------------- */

enum wstate { W_FREE, W_NEW, W_HELD, W_PAYING, W_SOLD, W_DEAD };

struct whold {
    uint64_t key;
    uint8_t state, busy, nseats, nga;
    uint32_t seats[MAXQ];
    bo_ga_line_t ga[2];
};

struct wset {
    uint64_t key;
    uint8_t used, blocked, n;
    uint32_t seats[MAXQ];
};

struct cworker {
    int t;
    pthread_t thread;
    uint64_t rng, next;
    bo_live_t *live;
    fx_async_t *a;
    int set_busy; /* a block or unblock of this thread is in flight */
    uint32_t refusals;
    struct whold holds[POOL];
    struct wset sets[NSETS];
};

struct ccall {
    fx_call_t base;
    struct cworker *w;
    int idx;        /* into holds or sets */
    int late;       /* a confirm of a dead hold; a block of a blocked set */
    struct line in; /* the intent */
};

static int side_fd = -1; /* the child's */

static void side_write(const struct line *l)
{
    char buf[LINE_MAX];
    int n = line_format(l, buf);
    if (write(side_fd, buf, (size_t)n) != n)
        _exit(4);
}

/* Which refusals are right answers: a hold may find its seats or GA taken,
 * a late confirm its seats, a block its seats; everything else the child
 * asks must succeed (the clock is frozen and each hold has one owner). */
static int refusal_ok(const struct ccall *k, int status)
{
    switch (k->in.op) {
    case 'H':
        return status == (k->in.flag ? BO_ENOSEATS : BO_EUNAVAILABLE);
    case 'C':
        return k->late && status == BO_EUNAVAILABLE;
    case 'B':
        return !k->late && status == BO_EUNAVAILABLE;
    }
    return 0;
}

/* On the answering thread, right after the answer: log it. */
static void child_hook(fx_call_t *c)
{
    struct ccall *k = (struct ccall *)c;
    struct line l = k->in;
    const bo_live_result_t *r = &c->r;
    if (r->status == 0) {
        l.kind = 'A';
        l.seq = r->seq;
        if (l.op == 'H') {
            l.exp = r->res.expires_at_ms;
            l.nseats = r->res.nseats <= MAXQ ? r->res.nseats : MAXQ;
            memcpy(l.seats, r->res.seats, l.nseats * sizeof(uint32_t));
        }
        l.flag = l.op == 'F' ? r->released : 0;
    } else {
        l.kind = refusal_ok(k, r->status) ? 'N' : 'E';
        l.flag = r->status;
    }
    side_write(&l);
    if (l.kind == 'E')
        _exit(3);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s % n;
}

static void pick_seats(uint64_t *rng, uint32_t base, uint32_t span, uint32_t k, uint32_t *out)
{
    for (uint32_t i = 0; i < k; i++) {
        int dup;
        do {
            out[i] = base + (uint32_t)rnd(rng, span);
            dup = 0;
            for (uint32_t j = 0; j < i; j++)
                dup |= out[j] == out[i];
        } while (dup);
    }
}

static int find_hold(struct cworker *w, unsigned mask)
{
    int start = (int)rnd(&w->rng, POOL);
    for (int j = 0; j < POOL; j++) {
        int i = (start + j) % POOL;
        if (!w->holds[i].busy && (mask >> w->holds[i].state & 1))
            return i;
    }
    return -1;
}

static int issue_hold(struct cworker *w, struct ccall *k, int how, const bo_layout_t *l)
{
    int i = find_hold(w, 1u << W_FREE | 1u << W_DEAD);
    if (i < 0)
        return -1;
    struct whold *h = &w->holds[i];
    *h = (struct whold){.key = w->next++, .state = W_NEW, .busy = 1};
    struct line *in = &k->in;
    bo_hold_req_t req = {.id = fx_id(h->key), .best_category = BO_NONE, .best_section = BO_NONE};
    if (how == 0) {
        in->nseats = 1 + (uint32_t)rnd(&w->rng, MAXQ);
        pick_seats(&w->rng, (uint32_t)rnd(&w->rng, HOT - 7), 8, in->nseats, in->seats);
    } else if (how == 1) {
        in->flag = 1 + (int)rnd(&w->rng, MAXQ);
        req.best_quantity = (uint32_t)in->flag;
    }
    if (how == 2 || (how == 0 && rnd(&w->rng, 5) == 0)) {
        in->nga = 1;
        in->ga[0] = (bo_ga_line_t){(uint32_t)rnd(&w->rng, l->nga), 1 + (uint32_t)rnd(&w->rng, 4)};
    }
    in->op = 'H';
    in->key = h->key;
    req.seats = in->seats;
    req.nseats = in->nseats;
    req.ga = in->ga;
    req.nga = in->nga;
    k->idx = i;
    side_write(in);
    fx_live_hold(w->live, EVT, &req, fx_async_done, k);
    return 0;
}

static int issue_on(struct cworker *w, struct ccall *k, char op, int i)
{
    struct whold *h = &w->holds[i];
    bo_hold_id_t id = fx_id(h->key);
    struct line *in = &k->in;
    *in = (struct line){.kind = 'I', .op = op, .key = h->key, .nseats = h->nseats, .nga = h->nga};
    memcpy(in->seats, h->seats, sizeof(in->seats));
    memcpy(in->ga, h->ga, sizeof(in->ga));
    k->idx = i;
    k->late = h->state == W_DEAD;
    h->busy = 1;
    side_write(in);
    switch (op) {
    case 'R':
        fx_live_release(w->live, EVT, &id, fx_async_done, k);
        break;
    case 'P':
        fx_live_pay_start(w->live, EVT, &id, T0_MS + 1000 * (int64_t)GAP_MS, fx_async_done, k);
        break;
    case 'F':
        fx_live_pay_failed(w->live, EVT, &id, fx_async_done, k);
        break;
    case 'C':
        fx_live_confirm(w->live, EVT, &id, h->seats, h->nseats, h->ga, h->nga, 0, 0, fx_async_done,
                        k);
        break;
    default:
        fx_live_cancel(w->live, EVT, &id, fx_async_done, k);
    }
    return 0;
}

/* Block a fresh set of the thread's region (never overlapping its own
 * blocked sets, so what the parent sees blocked there is the set's doing),
 * retry the block of a blocked set (which must succeed and change nothing),
 * or unblock one. */
static int issue_set(struct cworker *w, struct ccall *k, int unblock)
{
    int i = (int)rnd(&w->rng, NSETS);
    struct wset *s = &w->sets[i];
    int retry = !unblock && s->used && s->blocked;
    if (w->set_busy || (unblock && !(s->used && s->blocked)) || (retry && rnd(&w->rng, 2)))
        return -1;
    if (!unblock && !retry) {
        uint32_t seats[MAXQ], n = 1 + (uint32_t)rnd(&w->rng, 3);
        pick_seats(&w->rng, (uint32_t)w->t * REGION, REGION, n, seats);
        for (int j = 0; j < NSETS; j++)
            for (uint32_t a = 0; j != i && w->sets[j].used && w->sets[j].blocked && a < n; a++)
                for (uint32_t b = 0; b < w->sets[j].n; b++)
                    if (seats[a] == w->sets[j].seats[b])
                        return -1;
        *s = (struct wset){.key = (w->next++ & ~KEY_HOLD) | KEY_BLOCK, .used = 1, .n = (uint8_t)n};
        memcpy(s->seats, seats, sizeof(seats));
    }
    k->in = (struct line){.kind = 'I', .op = unblock ? 'U' : 'B', .key = s->key, .nseats = s->n};
    memcpy(k->in.seats, s->seats, sizeof(s->seats));
    k->idx = i;
    k->late = retry;
    w->set_busy = 1;
    side_write(&k->in);
    fx_live_block(w->live, EVT, s->seats, s->n, unblock, fx_async_done, k);
    return 0;
}

static int issue(struct cworker *w, struct ccall *k, const bo_layout_t *l)
{
    static const struct {
        char op;
        int pct;
        unsigned from;
    } mix[] = {
        {'h', 20, 0},
        {'b', 8, 0},
        {'g', 7, 0},
        {'R', 12, 1u << W_HELD | 1u << W_PAYING},
        {'P', 10, 1u << W_HELD},
        {'C', 13, 1u << W_HELD | 1u << W_PAYING},
        {'C', 3, 1u << W_DEAD},
        {'F', 6, 1u << W_PAYING},
        {'X', 12, 1u << W_SOLD},
        {'B', 5, 0},
        {'U', 4, 0},
    };
    int r = (int)rnd(&w->rng, 100), m = 0;
    while (r >= mix[m].pct)
        r -= mix[m++].pct;
    k->in.kind = 'I';
    if (mix[m].op == 'B' || mix[m].op == 'U') {
        if (issue_set(w, k, mix[m].op == 'U') == 0)
            return 0;
    } else if (mix[m].from) {
        int i = find_hold(w, mix[m].from);
        if (i >= 0 && w->holds[i].nseats + w->holds[i].nga > 0)
            return issue_on(w, k, mix[m].op, i);
    }
    return issue_hold(w, k, mix[m].op == 'b' ? 1 : mix[m].op == 'g' ? 2 : 0, l);
}

static void learn(struct cworker *w, struct ccall *k)
{
    int st = k->base.r.status;
    if (k->in.op == 'B' || k->in.op == 'U') {
        w->sets[k->idx].blocked = (k->in.op == 'B') == (st == 0);
        w->set_busy = 0;
        return;
    }
    struct whold *h = &w->holds[k->idx];
    h->busy = 0;
    if (k->in.op == 'H') {
        h->state = st ? W_FREE : W_HELD;
        h->nseats = (uint8_t)k->base.r.res.nseats;
        memcpy(h->seats, k->base.r.res.seats, h->nseats * sizeof(uint32_t));
        h->nga = (uint8_t)k->in.nga;
        memcpy(h->ga, k->in.ga, sizeof(h->ga));
    } else if (st == 0) {
        switch (k->in.op) {
        case 'P':
            h->state = W_PAYING;
            break;
        case 'F':
            h->state = k->base.r.released ? W_DEAD : W_HELD;
            break;
        case 'C':
            h->state = W_SOLD;
            break;
        default:
            h->state = W_DEAD;
        }
    }
}

static void *child_worker(void *arg)
{
    struct cworker *w = arg;
    const bo_layout_t *l = bo_live_venue(w->live, VEN);
    for (;;) {
        fx_call_t *c;
        while ((c = fx_async_take(w->a, 0)) ||
               (w->refusals >= 16 && (c = fx_async_take(w->a, 1)))) {
            learn(w, (struct ccall *)c);
            w->refusals = c->r.status ? w->refusals + 1 : 0;
            fx_async_end(w->a, c);
        }
        struct ccall *k = (struct ccall *)fx_async_begin(w->a);
        if (!k) {
            if ((c = fx_async_take(w->a, 1))) {
                learn(w, (struct ccall *)c);
                fx_async_end(w->a, c);
            }
            continue;
        }
        k->w = w;
        if (issue(w, k, l))
            fx_async_drop(w->a, &k->base);
    }
    return NULL;
}

/* ---- what the parent knows ----------------------------------------------------- */

/* A hold or a block set, as the side file and the reopened store say. */
struct item {
    uint64_t key;
    uint8_t st; /* holds: enum bo_hold_status (NONE: gone or never made); sets: 1 blocked */
    uint8_t failures, thread, seats_known;
    int64_t exp;
    uint32_t nseats, seats[MAXQ], nga;
    bo_ga_line_t ga[2];
    int pending; /* an intent without its answer */
    struct line intent;
};

struct crash {
    char *url, *path;
    char side[512];
    uint64_t seed, rng;
    struct item *items;
    size_t nitems, cap;
    bo_u64map_t index; /* key -> index + 1 */
    struct line *acks; /* every acknowledgement so far, in seq order */
    size_t nacks, acap;
    off_t side_off; /* bytes of the side file read */
    int64_t now;    /* the round's time */
    int round;
    uint64_t acked[128], refused, applied, absent, torn, rounds_acked, early;
    uint64_t snap_seq;        /* of the event's snapshot in the file, 0: none */
    double start_s, verify_s; /* waiting for children to be ready; checking */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_hold(uint64_t key)
{
    return (key & KEY_HOLD) != 0;
}

static struct item *item_get(struct crash *c, uint64_t key)
{
    uintptr_t i = (uintptr_t)bo_u64map_get(&c->index, key);
    return i ? &c->items[i - 1] : NULL;
}

static struct item *item_add(struct crash *c, const struct line *l)
{
    if (c->nitems == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->items = realloc(c->items, c->cap * sizeof(*c->items));
        cr_assert_not_null(c->items);
    }
    struct item *it = &c->items[c->nitems++];
    *it = (struct item){.key = l->key, .thread = (uint8_t)(l->key >> 24), .seats_known = 1};
    if (!is_hold(l->key)) {
        it->nseats = l->nseats;
        memcpy(it->seats, l->seats, sizeof(it->seats));
    }
    cr_assert_eq(bo_u64map_put(&c->index, l->key, (void *)(uintptr_t)c->nitems), 0);
    return it;
}

/* Before a round at now: HELD holds have expired (TTL < GAP); forget what
 * is gone for good. */
static void prune(struct crash *c, int64_t now)
{
    size_t n = 0;
    bo_u64map_free(&c->index);
    memset(&c->index, 0, sizeof(c->index));
    for (size_t i = 0; i < c->nitems; i++) {
        struct item *it = &c->items[i];
        cr_assert(!it->pending);
        if (is_hold(it->key) && it->st == BO_HOLD_HELD && it->exp <= now)
            it->st = BO_HOLD_NONE;
        if (it->st == BO_HOLD_NONE)
            continue;
        c->items[n++] = *it;
        cr_assert_eq(bo_u64map_put(&c->index, it->key, (void *)(uintptr_t)n), 0);
    }
    c->nitems = n;
}

/* An acknowledged mutation on the state the side file built so far: it must
 * have been allowed, and it is the new state. */
static void apply_ack(struct crash *c, struct item *it, const struct line *l)
{
    uint8_t st = it->st;
    int r = c->round;
    switch (l->op) {
    case 'H':
        cr_assert(st == BO_HOLD_NONE && l->exp == c->now + TTL_MS, "round %d: hold %llx", r,
                  (unsigned long long)l->key);
        it->st = BO_HOLD_HELD;
        it->exp = l->exp;
        it->nseats = l->nseats;
        it->nga = l->nga;
        memcpy(it->seats, l->seats, sizeof(it->seats));
        memcpy(it->ga, l->ga, sizeof(it->ga));
        return;
    case 'R':
        cr_assert(st == BO_HOLD_HELD || st == BO_HOLD_PAYING, "round %d: release in %u", r, st);
        it->st = BO_HOLD_NONE;
        return;
    case 'P':
        cr_assert_eq(st, BO_HOLD_HELD, "round %d: pay_start in %u", r, st);
        it->st = BO_HOLD_PAYING;
        return;
    case 'F': {
        cr_assert_eq(st, BO_HOLD_PAYING, "round %d: pay_failed in %u", r, st);
        int rel = ++it->failures >= BO_PAY_MAX_FAILURES || it->exp <= c->now;
        cr_assert_eq(l->flag, rel, "round %d: pay_failed released %d, want %d", r, l->flag, rel);
        it->st = rel ? BO_HOLD_NONE : BO_HOLD_HELD;
        return;
    }
    case 'C':
        cr_assert_neq(st, BO_HOLD_SOLD, "round %d: confirmed twice", r);
        if (st == BO_HOLD_NONE) { /* late: a new sold hold of the same seats */
            it->failures = 0;
            it->nseats = l->nseats;
            it->nga = l->nga;
            memcpy(it->seats, l->seats, sizeof(it->seats));
            memcpy(it->ga, l->ga, sizeof(it->ga));
        }
        it->st = BO_HOLD_SOLD;
        return;
    case 'X':
        cr_assert_eq(st, BO_HOLD_SOLD, "round %d: cancel in %u", r, st);
        it->st = BO_HOLD_NONE;
        return;
    case 'B': /* blocking a blocked set is a retry: it stays blocked */
        it->st = 1;
        return;
    case 'U':
        cr_assert_eq(st, 1, "round %d: unblock of set %llx in %u", r, (unsigned long long)l->key,
                     st);
        it->st = 0;
        return;
    }
    cr_assert_fail("round %d: unknown op %c", r, l->op);
}

static void take_line(struct crash *c, const struct line *l)
{
    struct item *it = item_get(c, l->key);
    cr_assert_neq(l->kind, 'E', "round %d: the child got %s for %c of %llx", c->round,
                  bo_strerror(l->flag), l->op, (unsigned long long)l->key);
    if (l->kind == 'I') {
        if (!it && (l->op == 'H' || l->op == 'B'))
            it = item_add(c, l);
        cr_assert(it && !it->pending, "round %d: intent on %llx", c->round,
                  (unsigned long long)l->key);
        it->pending = 1;
        it->intent = *l;
        return;
    }
    cr_assert(it && it->pending && it->intent.op == l->op,
              "round %d: %c answer to %c of %llx without its intent (pending %d %c)", c->round,
              l->kind, l->op, (unsigned long long)l->key, it ? it->pending : -1,
              it ? it->intent.op : '-');
    it->pending = 0;
    if (l->kind == 'N') {
        /* Only what depends on other holds may be refused. */
        cr_assert(l->op == 'H' || (l->op == 'B' && !it->st) ||
                      (l->op == 'C' && it->st == BO_HOLD_NONE),
                  "round %d: %c of %llx refused: %s", c->round, l->op, (unsigned long long)l->key,
                  bo_strerror(l->flag));
        c->refused++;
        return;
    }
    cr_assert_eq(l->kind, 'A');
    cr_assert(l->seq > (c->nacks ? c->acks[c->nacks - 1].seq : 0),
              "round %d: acknowledgements out of seq order", c->round);
    apply_ack(c, it, l);
    if (c->nacks == c->acap) {
        c->acap = c->acap ? 2 * c->acap : 4096;
        c->acks = realloc(c->acks, c->acap * sizeof(*c->acks));
        cr_assert_not_null(c->acks);
    }
    c->acks[c->nacks++] = *l;
    c->acked[(unsigned char)l->op & 127]++;
}

/* The side file's new lines; a torn last one is cut off the file. */
static void read_side(struct crash *c)
{
    int fd = open(c->side, O_RDWR);
    struct stat sb;
    cr_assert(fd >= 0 && fstat(fd, &sb) == 0);
    size_t len = (size_t)(sb.st_size - c->side_off);
    char *buf = malloc(len + 1);
    cr_assert_eq(pread(fd, buf, len, c->side_off), (ssize_t)len);
    size_t done = 0;
    uint64_t before = c->nacks;
    for (char *nl; done < len && (nl = memchr(buf + done, '\n', len - done)); done = nl - buf + 1) {
        struct line l;
        *nl = '\0';
        cr_assert_eq(line_parse(buf + done, &l), 0, "round %d: bad line \"%s\"", c->round,
                     buf + done);
        take_line(c, &l);
    }
    if (done < len) {
        c->torn++;
        cr_assert_eq(ftruncate(fd, c->side_off + (off_t)done), 0);
    }
    c->side_off += (off_t)done;
    c->rounds_acked += c->nacks > before;
    close(fd);
    free(buf);
}

/* ---- checking the reopened store ---------------------------------------------- */

/* Does the engine's view of a hold (rc, v) match what m says? */
static int hold_matches(const struct item *m, int rc, const fx_hold_t *v)
{
    if (rc)
        return m->st == BO_HOLD_NONE;
    if (v->status != m->st || v->nga != m->nga || v->pay_failures != m->failures ||
        v->nseats != m->nseats || memcmp(v->ga, m->ga, m->nga * sizeof(bo_ga_line_t)) != 0)
        return 0;
    if (m->seats_known && memcmp(v->seats, m->seats, m->nseats * sizeof(uint32_t)) != 0)
        return 0;
    return m->st == BO_HOLD_SOLD || v->expires_at_ms == m->exp;
}

/* What the pending intent of it, had it taken effect, would have left. */
static struct item intended(const struct crash *c, const struct item *it)
{
    struct item a = *it;
    const struct line *p = &it->intent;
    switch (p->op) {
    case 'H':
        a.st = BO_HOLD_HELD;
        a.exp = c->now + TTL_MS;
        a.nseats = p->flag ? (uint32_t)p->flag : p->nseats; /* best available: any seats */
        a.seats_known = !p->flag;
        a.nga = p->nga;
        memcpy(a.seats, p->seats, sizeof(a.seats));
        memcpy(a.ga, p->ga, sizeof(a.ga));
        break;
    case 'P':
        a.st = BO_HOLD_PAYING;
        break;
    case 'F':
        a.failures++;
        a.st = a.failures >= BO_PAY_MAX_FAILURES || a.exp <= c->now ? BO_HOLD_NONE : BO_HOLD_HELD;
        break;
    case 'C':
        if (a.st == BO_HOLD_NONE)
            a.failures = 0;
        a.st = BO_HOLD_SOLD;
        break;
    default: /* R, X */
        a.st = BO_HOLD_NONE;
    }
    return a;
}

/* Probe one hold: it must be as acknowledged, or (an unanswered intent)
 * as acknowledged plus that intent, whole. Adopt what is there. */
static void check_hold(struct crash *c, bo_live_t *live, struct item *it)
{
    fx_hold_t v;
    int rc = fx_get_hold(live, EVT, fx_id(it->key), &v);
    cr_assert(rc == 0 || rc == BO_ENOTFOUND);
    if (hold_matches(it, rc, &v)) {
        c->absent += it->pending;
    } else {
        struct item a = intended(c, it);
        cr_assert(it->pending && hold_matches(&a, rc, &v),
                  "round %d: hold %llx in the store: %s (status %u, %u seats, %u failures); "
                  "acknowledged: status %u, %u seats, %u failures%s%c",
                  c->round, (unsigned long long)it->key, rc ? "gone" : "there", rc ? 0 : v.status,
                  rc ? 0 : v.nseats, rc ? 0 : v.pay_failures, it->st, it->nseats, it->failures,
                  it->pending ? "; or that plus the unanswered " : "",
                  it->pending ? it->intent.op : ' ');
        if (!a.seats_known)
            memcpy(a.seats, v.seats, sizeof(a.seats));
        a.seats_known = 1;
        *it = a;
        c->applied++;
    }
    it->pending = 0;
}

/* A block set is blocked as a whole or not at all; a pending intent may
 * have taken effect. Unblocked sets are not looked at: their seats may
 * belong to newer sets. */
static void check_set(struct crash *c, struct item *it, const fx_state_t *s)
{
    if (!it->st && !it->pending)
        return;
    uint32_t blocked = 0;
    for (uint32_t i = 0; i < it->nseats; i++)
        blocked += s->states[it->seats[i]] == BO_SEAT_BLOCKED;
    cr_assert(blocked == 0 || blocked == it->nseats,
              "round %d: set %llx half blocked (%u of %u seats)", c->round,
              (unsigned long long)it->key, blocked, it->nseats);
    uint8_t seen = blocked > 0;
    if (it->pending && seen != it->st) {
        cr_assert_eq(seen, it->intent.op == 'B', "round %d: set %llx", c->round,
                     (unsigned long long)it->key);
        c->applied++;
    } else {
        cr_assert_eq(seen, it->st, "round %d: set %llx blocked %u, the side file says %u", c->round,
                     (unsigned long long)it->key, seen, it->st);
        c->absent += it->pending;
    }
    it->st = seen;
    it->pending = 0;
}

/* Every seat, GA counter and count is exactly what the holds and blocks
 * say, and no seat belongs to two of them. */
static void check_seats(struct crash *c, const bo_layout_t *l, const fx_state_t *s)
{
    uint8_t *want = calloc(l->nseats, 1);
    uint32_t n[4] = {0}, live = 0, ga_held[16] = {0}, ga_sold[16] = {0};
    for (size_t i = 0; i < c->nitems; i++) {
        const struct item *it = &c->items[i];
        uint8_t st = !is_hold(it->key)        ? (it->st ? BO_SEAT_BLOCKED : 0)
                     : it->st == BO_HOLD_SOLD ? BO_SEAT_SOLD
                     : it->st != BO_HOLD_NONE ? BO_SEAT_HELD
                                              : BO_SEAT_AVAILABLE;
        if (st == BO_SEAT_AVAILABLE)
            continue;
        live += st == BO_SEAT_HELD;
        for (uint32_t k = 0; k < it->nseats; k++) {
            cr_assert_eq(want[it->seats[k]], BO_SEAT_AVAILABLE, "round %d: seat %u taken twice",
                         c->round, it->seats[k]);
            want[it->seats[k]] = st;
        }
        for (uint32_t g = 0; is_hold(it->key) && g < it->nga; g++)
            (st == BO_SEAT_SOLD ? ga_sold : ga_held)[it->ga[g].area] += it->ga[g].quantity;
    }
    for (uint32_t seat = 0; seat < l->nseats; seat++) {
        cr_assert_eq(s->states[seat], want[seat], "round %d: seat %u is %u, want %u", c->round,
                     seat, s->states[seat], want[seat]);
        n[want[seat]]++;
    }
    const bo_inv_counts_t *k = &s->counts;
    cr_assert_eq(k->held + k->sold + k->available + k->blocked, k->total);
    cr_assert(k->available == n[0] && k->held == n[1] && k->sold == n[2] && k->blocked == n[3],
              "round %d: counts", c->round);
    cr_assert_eq(k->live_holds, live, "round %d: %u live holds, want %u", c->round, k->live_holds,
                 live);
    for (uint32_t a = 0; a < l->nga; a++) {
        cr_assert_leq(ga_held[a] + ga_sold[a], l->ga[a].capacity);
        cr_assert_eq(s->ga_sold[a], ga_sold[a], "round %d: GA %u sold", c->round, a);
        cr_assert_eq(s->ga_avail[a], l->ga[a].capacity - ga_held[a] - ga_sold[a]);
    }
    free(want);
}

struct log_check {
    const struct line *acks;
    size_t n, j;
    uint64_t prev;
    char err[160];
};

/* Each log record (seq 1, 2, ...) against the acknowledgement of its seq. */
static int log_visit(void *ctx, const fx_logrec_t *rec)
{
    static const char ops[] = {
        [BO_MUT_HOLD] = 'H',       [BO_MUT_RELEASE] = 'R', [BO_MUT_PAY_START] = 'P',
        [BO_MUT_PAY_FAILED] = 'F', [BO_MUT_CONFIRM] = 'C', [BO_MUT_CANCEL] = 'X',
        [BO_MUT_BLOCK] = 'B',      [BO_MUT_UNBLOCK] = 'U'};
    struct log_check *lc = ctx;
    const char *bad = NULL;
    if (rec->seq != ++lc->prev)
        bad = "a gap in the log";
    else if (lc->j < lc->n && lc->acks[lc->j].seq < rec->seq)
        bad = "an acknowledged mutation is missing";
    if (!bad && lc->j < lc->n && lc->acks[lc->j].seq == rec->seq) {
        const struct line *a = &lc->acks[lc->j++];
        bo_hold_id_t id = fx_id(a->key);
        int seats = strchr("HCBU", a->op) != NULL, sale = a->op == 'H' || a->op == 'C';
        if (rec->op >= sizeof(ops) || ops[rec->op] != a->op)
            bad = "another operation";
        else if (is_hold(a->key) && memcmp(&rec->id, &id, sizeof(id)) != 0)
            bad = "another hold";
        else if (seats && (rec->nseats != a->nseats ||
                           memcmp(rec->seats, a->seats, a->nseats * sizeof(uint32_t)) != 0))
            bad = "other seats";
        else if (sale &&
                 (rec->nga != a->nga || memcmp(rec->ga, a->ga, a->nga * sizeof(bo_ga_line_t)) != 0))
            bad = "other GA";
        else if (a->op == 'H' && rec->expires_at_ms != a->exp)
            bad = "another expiry";
    }
    if (bad)
        snprintf(lc->err, sizeof(lc->err), "log seq %llu: %s", (unsigned long long)rec->seq, bad);
    return bad ? -1 : 0;
}

/* The log rows in the file against the acknowledgements. Rows a snapshot
 * covers are gone: their acknowledgements were checked while they existed,
 * and their effect is in the state checked above. */
static void check_log(struct crash *c)
{
    int64_t snap = fx_db_snapshot_seq(c->path, EVT);
    cr_assert_geq(snap, 0);
    c->snap_seq = (uint64_t)snap;
    struct log_check lc = {.acks = c->acks, .n = c->nacks, .prev = (uint64_t)snap};
    while (lc.j < lc.n && lc.acks[lc.j].seq <= (uint64_t)snap)
        lc.j++;
    cr_assert_eq(fx_db_log_each(c->path, EVT, log_visit, &lc), 0, "round %d: %s", c->round, lc.err);
    cr_assert_eq(lc.j, lc.n, "round %d: acknowledged seq %llu is not in the log", c->round,
                 (unsigned long long)(lc.j < lc.n ? lc.acks[lc.j].seq : 0));
}

static void verify(struct crash *c)
{
    bo_manual_clock_t clk;
    bo_live_t *live;
    fx_state_t s;
    char why[200];
    bo_manual_clock_init(&clk, c->now);
    cr_assert_eq(bo_live_open(c->url, &clk.base, &live), 0, "round %d: the store does not open",
                 c->round);
    const bo_layout_t *l = bo_live_venue(live, VEN);
    cr_assert_not_null(l);
    cr_assert_eq(fx_capture(live, EVT, &s), 0);
    for (size_t i = 0; i < c->nitems; i++)
        if (is_hold(c->items[i].key))
            check_hold(c, live, &c->items[i]);
        else
            check_set(c, &c->items[i], &s);
    check_seats(c, l, &s);
    cr_assert_eq(fx_db_check_sales(c->path, EVT, &s, why, sizeof(why)), 0, "round %d: %s", c->round,
                 why);
    check_log(c);
    fx_state_free(&s);
    bo_live_close(live);
}

/* ---- the rounds ------------------------------------------------------------------ */

/* The child: recover, take over what the parent knows, mutate until killed. */
static void child_main(struct crash *c, int ready_fd)
{
    static struct cworker w[NWORK];
    bo_manual_clock_t clk;
    bo_live_t *live;
    int nh[NWORK] = {0}, ns[NWORK] = {0};
    bo_manual_clock_init(&clk, c->now);
    side_fd = open(c->side, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (side_fd < 0 || bo_live_open(c->url, &clk.base, &live) != 0)
        _exit(5);
    /* Kills land while snapshots are written too, and recovery starts from
     * one followed by the log. */
    bo_live_set_snapshot_every(live, SNAP_EVERY);
    for (int t = 0; t < NWORK; t++) {
        w[t] =
            (struct cworker){.t = t,
                             .live = live,
                             .rng = (c->seed ^ (uint64_t)c->round << 20) * 2654435761u + t + 1,
                             .next = KEY_HOLD | (uint64_t)(c->round + 1) << 32 | (uint64_t)t << 24,
                             .a = fx_async_new(WINDOW, sizeof(struct ccall), child_hook)};
        if (!w[t].a)
            _exit(5);
    }
    for (size_t i = 0; i < c->nitems; i++) {
        const struct item *it = &c->items[i];
        if (is_hold(it->key)) {
            struct cworker *x = &w[i % NWORK];
            struct whold *h = &x->holds[nh[i % NWORK]++];
            *h = (struct whold){.key = it->key,
                                .nseats = (uint8_t)it->nseats,
                                .nga = (uint8_t)it->nga,
                                .state = it->st == BO_HOLD_SOLD ? W_SOLD : W_PAYING};
            memcpy(h->seats, it->seats, sizeof(h->seats));
            memcpy(h->ga, it->ga, sizeof(h->ga));
        } else if (it->st) {
            struct wset *s = &w[it->thread].sets[ns[it->thread]++];
            *s = (struct wset){.key = it->key, .used = 1, .blocked = 1, .n = (uint8_t)it->nseats};
            memcpy(s->seats, it->seats, sizeof(s->seats));
        }
    }
    if (write(ready_fd, "r", 1) != 1)
        _exit(5);
    for (int t = 0; t < NWORK; t++)
        if (pthread_create(&w[t].thread, NULL, child_worker, &w[t]) != 0)
            _exit(5);
    sleep(30); /* the parent kills us long before */
    _exit(6);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* One child, killed 50-400 ms after it recovered and started mutating; one
 * round in six, 1-60 ms after the fork instead, during its recovery. */
static void one_round(struct crash *c)
{
    int pipefd[2], status, early = rnd(&c->rng, 6) == 0;
    char ready;
    c->now = T0_MS + (int64_t)(c->round + 1) * GAP_MS;
    prune(c, c->now);
    cr_assert(c->nitems <= NWORK * (POOL / 2), "too much left over to take over");
    cr_assert_eq(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(pipefd[0]);
        child_main(c, pipefd[1]);
    }
    close(pipefd[1]);
    double t0 = now_s();
    if (early) {
        sleep_ms(1 + (long)rnd(&c->rng, 60));
        c->early++;
    } else if (read(pipefd[0], &ready, 1) == 1) {
        c->start_s += now_s() - t0;
        sleep_ms(50 + (long)rnd(&c->rng, 351));
    }
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    close(pipefd[0]); /* only now: the child's ready byte never meets a closed pipe */
    read_side(c);     /* an 'E' line explains an early exit */
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "round %d: the child ended by itself (status 0x%x)", c->round, status);
    t0 = now_s();
    verify(c);
    c->verify_s += now_s() - t0;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : dflt;
}

Test(crash, kill9_rounds, .timeout = 900)
{
    struct crash *c = calloc(1, sizeof(*c));
    cr_assert_not_null(c);
    c->seed = env_u64("BOXOFFICE_CRASH_SEED", (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
    c->rng = c->seed | 1;
    int rounds = (int)env_u64("BOXOFFICE_CRASH_ROUNDS", 24);
    fprintf(stderr, "crash: seed %llu (BOXOFFICE_CRASH_SEED), %d rounds\n",
            (unsigned long long)c->seed, rounds);
    c->url = fx_temp_db(&c->path);
    snprintf(c->side, sizeof(c->side), "%s.side", c->path);

    bo_manual_clock_t clk;
    bo_live_t *live;
    bo_manual_clock_init(&clk, T0_MS);
    cr_assert_eq(bo_live_open(c->url, &clk.base, &live), 0);
    /* 120 seats; two GA areas small enough to be full now and then. */
    cr_assert_eq(fx_venue_event(live, VEN, EVT, 2, 5, 12, 2, 12, TTL_MS, 0), 0);
    bo_live_close(live);

    double t0 = now_s();
    for (c->round = 0; c->round < rounds; c->round++)
        one_round(c);

    fprintf(stderr,
            "crash: %.1f s (%.1f s starting children, %.1f s checking), %llu acknowledged (H %llu "
            "R %llu P %llu F %llu C %llu X %llu B %llu "
            "U %llu), %llu refused; unanswered intents: %llu took effect, %llu did not; "
            "%llu torn lines; %llu rounds with acknowledgements, %llu killed in recovery; "
            "snapshot at seq %llu\n",
            now_s() - t0, c->start_s, c->verify_s, (unsigned long long)c->nacks,
            (unsigned long long)c->acked['H'], (unsigned long long)c->acked['R'],
            (unsigned long long)c->acked['P'], (unsigned long long)c->acked['F'],
            (unsigned long long)c->acked['C'], (unsigned long long)c->acked['X'],
            (unsigned long long)c->acked['B'], (unsigned long long)c->acked['U'],
            (unsigned long long)c->refused, (unsigned long long)c->applied,
            (unsigned long long)c->absent, (unsigned long long)c->torn,
            (unsigned long long)c->rounds_acked, (unsigned long long)c->early,
            (unsigned long long)c->snap_seq);
    /* Every kind of mutation must have been acknowledged and then survived
     * a kill, or the test proves little. */
    for (const char *op = "HRPFCXBU"; *op; op++)
        cr_assert_geq(c->acked[(int)*op], 5, "only %llu %c acknowledged",
                      (unsigned long long)c->acked[(int)*op], *op);
    cr_assert_geq(c->rounds_acked + c->early, (uint64_t)rounds * 3 / 4);

    fx_remove_db(c->path);
    unlink(c->side);
    bo_u64map_free(&c->index);
    free(c->items);
    free(c->acks);
    free(c->url);
    free(c->path);
    free(c);
}
