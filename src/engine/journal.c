/*
 * journal.c - the inventory's bookkeeping: the undo journal, the hold slot
 * table with its free list, the hold-id hash, the per-customer and
 * per-client counters and
 * the two deadline heaps (HELD holds by expires_at, PAYING holds by their
 * payment deadline).
 *
 * Workload: every hold, release or sale writes ~5 journal entries per seat
 * and ~6 per hold; the journal lives only until the store commits the
 * decision (~1 ms), so it stays short. Capacity is reserved before an
 * operation changes anything (bo__j_reserve, bo__hold_alloc), so no
 * operation can fail half-way on ENOMEM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "engine/inv_internal.h"
#include "util/array.h"
#include "util/assert.h"

#define NOT_HEAP UINT32_MAX

/* Room for need journal entries. */
static int grow_j(bo_inv_t *inv, size_t need)
{
    struct jent *j = bo_array_grow(inv->j, &inv->jcap, need, sizeof(*j), 64, 0);
    if (!j)
        return BO_ENOMEM;
    inv->j = j;
    return 0;
}

/* Room for need copies of hold records. */
static int grow_hcopy(bo_inv_t *inv, size_t need)
{
    struct hold *h = bo_array_grow(inv->hcopy, &inv->hcap, need, sizeof(*h), 64, 0);
    if (!h)
        return BO_ENOMEM;
    inv->hcopy = h;
    return 0;
}

/* ---- journal ---------------------------------------------------------- */

int bo__j_reserve(bo_inv_t *inv, size_t entries)
{
    BO_ASSERT(inv->jn <= inv->jcap && inv->hn <= inv->hcap);
    if (!inv->journal_on)
        return 0;
    int rc = grow_j(inv, inv->jn + entries);
    if (rc == 0)
        rc = grow_hcopy(inv, inv->hn + 4);
    return rc;
}

static void push(bo_inv_t *inv, uint8_t type, uint32_t a, uint64_t b, void *p)
{
    if (!inv->journal_on)
        return;
    BO_ASSERT_EACH(type <= J_FREE_ON_UNDO);
    /* Reserved by the operation; growing here is a fallback that cannot undo
     * a failure, so a failed grow keeps the journal as it is (abort would be
     * the alternative). */
    if (inv->jn == inv->jcap && grow_j(inv, inv->jn + 1))
        abort();
    inv->j[inv->jn++] = (struct jent){type, a, b, p};
}

void bo__j_seat(bo_inv_t *inv, uint32_t seat)
{
    BO_ASSERT_EACH(seat < inv->layout->nseats);
    push(inv, J_SEAT, inv->words[seat], seat, NULL);
}

void bo__j_u32(bo_inv_t *inv, uint32_t *p, uint32_t v)
{
    push(inv, J_U32, *p, 0, p);
    *p = v;
}

void bo__j_free_later(bo_inv_t *inv, void *p)
{
    if (inv->journal_on)
        push(inv, J_FREE_LATER, 0, 0, p);
    else
        free(p);
}

void bo__j_free_on_undo(bo_inv_t *inv, void *p)
{
    BO_ASSERT_EACH(p != NULL);
    push(inv, J_FREE_ON_UNDO, 0, 0, p);
}

bo_jpos_t bo_inv_journal_pos(const bo_inv_t *inv)
{
    return inv->jbase + inv->jn;
}

void bo_inv_set_journal(bo_inv_t *inv, int on)
{
    if (!on)
        bo_inv_forget(inv, bo_inv_journal_pos(inv));
    inv->journal_on = on;
}

void bo_inv_forget(bo_inv_t *inv, bo_jpos_t pos)
{
    if (pos <= inv->jbase)
        return;
    size_t n = pos - inv->jbase, holds = 0;
    if (n > inv->jn)
        n = inv->jn;
    for (size_t i = 0; i < n; i++) {
        if (inv->j[i].type == J_FREE_LATER)
            free(inv->j[i].p);
        holds += inv->j[i].type == J_HOLD;
    }
    BO_ASSERT(holds <= inv->hn);
    memmove(inv->j, inv->j + n, (inv->jn - n) * sizeof(*inv->j));
    inv->jn -= n;
    inv->jbase += n;
    memmove(inv->hcopy, inv->hcopy + holds, (inv->hn - holds) * sizeof(*inv->hcopy));
    inv->hn -= holds;
    for (size_t i = 0; i < inv->jn; i++)
        if (inv->j[i].type == J_HOLD) {
            BO_ASSERT_EACH(inv->j[i].b >= holds); /* copies stay in journal order */
            inv->j[i].b -= holds;
        }
}

static void hash_insert(bo_inv_t *inv, uint32_t slot);
static void hash_remove(bo_inv_t *inv, uint32_t slot);
static void undo_one(bo_inv_t *inv, const struct jent *e)
{
    BO_ASSERT_EACH(e->type == J_U32 || e->type == J_SEAT || e->type == J_CUST ||
                   e->type == J_FREE_LATER || e->type == J_FREE_ON_UNDO ||
                   (e->a > 0 && e->a < inv->nholds)); /* a hold slot */
    switch (e->type) {
    case J_U32:
        *(uint32_t *)e->p = e->a;
        break;
    case J_SEAT:
        bo__set_seat_raw(inv, (uint32_t)e->b, e->a);
        break;
    case J_HOLD:
        BO_ASSERT_EACH(e->b + 1 == inv->hn); /* the newest copy is undone first */
        inv->holds[e->a] = inv->hcopy[e->b];
        bo__heap_sync(inv, e->a);
        break;
    case J_HOLD_NEW:
        BO_ASSERT_EACH(inv->holds[e->a].status != BO_HOLD_NONE);
        memset(&inv->holds[e->a], 0, sizeof(inv->holds[e->a]));
        bo__heap_sync(inv, e->a);
        break;
    case J_SLOT_POP:
        BO_ASSERT_EACH(inv->nfree < inv->cap_holds && inv->holds[e->a].status == BO_HOLD_NONE);
        inv->free_slots[inv->nfree++] = e->a;
        break;
    case J_SLOT_PUSH:
        BO_ASSERT_EACH(inv->nfree > 0 && inv->free_slots[inv->nfree - 1] == e->a);
        inv->nfree--;
        break;
    case J_HASH_INS:
        hash_remove(inv, e->a);
        break;
    case J_HASH_DEL:
        hash_insert(inv, e->a);
        break;
    case J_CUST: {
        struct ctab *t = e->p;
        for (uint32_t i = (uint32_t)(e->b * 0x9e3779b97f4a7c15ull) & t->mask;;
             i = (i + 1) & t->mask)
            if (t->e[i].key == e->b) {
                t->e[i].count = e->a;
                break;
            }
        break;
    }
    case J_FREE_ON_UNDO:
        free(e->p);
        break;
    }
}

void bo_inv_rollback(bo_inv_t *inv, bo_jpos_t pos)
{
    if (pos < inv->jbase)
        pos = inv->jbase; /* forgotten changes cannot be undone */
    BO_ASSERT(inv->journal_on || inv->jn == 0);
    while (inv->jbase + inv->jn > pos) {
        const struct jent *e = &inv->j[--inv->jn];
        undo_one(inv, e);
        if (e->type == J_HOLD)
            inv->hn--;
    }
    inv->version++;
}

/* ---- hold-id hash ----------------------------------------------------- */

/* Entries are (tag << 32 | slot): the tag (high hash bits) settles most
 * mismatches without touching the hold table. 0 is empty, HTOMB deleted. */
#define HTOMB UINT64_MAX

static uint64_t id_hash(const bo_hold_id_t *id)
{
    uint64_t a, b;
    memcpy(&a, id->b, 8);
    memcpy(&b, id->b + 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

static uint64_t entry(uint64_t h, uint32_t slot)
{
    return (h & 0xffffffff00000000ull) | slot;
}

static void hash_insert(bo_inv_t *inv, uint32_t slot)
{
    BO_ASSERT(slot > 0 && slot < inv->nholds && inv->holds[slot].status != BO_HOLD_NONE);
    BO_ASSERT(inv->hash_used + inv->hash_tomb < inv->hash_mask); /* an empty entry ends probes */
    uint64_t h = id_hash(&inv->holds[slot].id);
    uint32_t i = (uint32_t)h & inv->hash_mask;
    while (inv->hash[i] != 0 && inv->hash[i] != HTOMB)
        i = (i + 1) & inv->hash_mask;
    if (inv->hash[i] == HTOMB)
        inv->hash_tomb--;
    inv->hash[i] = entry(h, slot);
    inv->hash_used++;
}

static void hash_remove(bo_inv_t *inv, uint32_t slot)
{
    uint64_t h = id_hash(&inv->holds[slot].id), e = entry(h, slot);
    uint32_t i = (uint32_t)h & inv->hash_mask;
    while (inv->hash[i] != e) {
        BO_ASSERT(inv->hash[i] != 0); /* the slot was indexed */
        i = (i + 1) & inv->hash_mask;
    }
    BO_ASSERT(inv->hash_used > 0);
    inv->hash[i] = HTOMB;
    inv->hash_used--;
    inv->hash_tomb++;
}

uint32_t bo__hold_find(const bo_inv_t *inv, const bo_hold_id_t *id)
{
    BO_ASSERT(id != NULL);
    uint64_t h = id_hash(id), tag = h & 0xffffffff00000000ull;
    for (uint32_t i = (uint32_t)h & inv->hash_mask;; i = (i + 1) & inv->hash_mask) {
        uint64_t e = inv->hash[i];
        if (e == 0)
            return 0;
        uint32_t s = (uint32_t)e;
        if (e != HTOMB && (e & 0xffffffff00000000ull) == tag &&
            memcmp(inv->holds[s].id.b, id->b, 16) == 0)
            return s;
    }
}

/* Keep the table at most half full, counting tombstones. */
static int hash_prepare(bo_inv_t *inv)
{
    uint32_t cap = inv->hash_mask + 1;
    if ((uint64_t)(inv->hash_used + inv->hash_tomb + 1) * 2 <= cap)
        return 0;
    uint32_t ncap = 64;
    while ((uint64_t)(inv->hash_used + 1) * 4 > ncap)
        ncap *= 2;
    uint64_t *old = inv->hash;
    uint32_t omask = inv->hash_mask;
    inv->hash = calloc(ncap, sizeof(uint64_t));
    if (!inv->hash) {
        inv->hash = old;
        return BO_ENOMEM;
    }
    uint32_t used = inv->hash_used;
    inv->hash_mask = ncap - 1;
    inv->hash_used = inv->hash_tomb = 0;
    for (uint32_t i = 0; i <= omask; i++)
        if (old[i] != 0 && old[i] != HTOMB)
            hash_insert(inv, (uint32_t)old[i]);
    BO_ASSERT(inv->hash_used == used); /* every live entry moved, tombstones dropped */
    free(old);
    return 0;
}

/* ---- counters by key (customers, clients) ------------------------------- */

static struct cust *ctab_slot(const struct ctab *t, uint64_t key)
{
    for (uint32_t i = (uint32_t)(key * 0x9e3779b97f4a7c15ull) & t->mask;; i = (i + 1) & t->mask)
        if (t->e[i].key == key || t->e[i].key == 0)
            return &t->e[i];
}

uint32_t bo__count_get(const struct ctab *t, uint64_t key)
{
    if (key == 0)
        return 0;
    struct cust *c = ctab_slot(t, key);
    return c->key == key ? c->count : 0;
}

static int ctab_init(struct ctab *t)
{
    t->mask = 63;
    t->e = calloc(64, sizeof(struct cust));
    return t->e ? 0 : BO_ENOMEM;
}

/* Room for one more key. */
static int ctab_prepare(struct ctab *t)
{
    uint32_t cap = t->mask + 1;
    if ((t->used + 1) * 2 <= cap)
        return 0;
    struct ctab old = *t;
    uint32_t ncap = cap * 2;
    t->e = calloc(ncap, sizeof(struct cust));
    if (!t->e) {
        t->e = old.e;
        return BO_ENOMEM;
    }
    t->mask = ncap - 1;
    for (uint32_t i = 0; i < cap; i++)
        if (old.e[i].key)
            *ctab_slot(t, old.e[i].key) = old.e[i];
    free(old.e);
    return 0;
}

void bo__count_add(bo_inv_t *inv, struct ctab *t, uint64_t key, int64_t delta)
{
    if (key == 0 || delta == 0)
        return;
    struct cust *c = ctab_slot(t, key);
    if (c->key == 0) {
        BO_ASSERT(delta > 0 && (t->used + 1) * 2 <= t->mask + 1); /* ctab_prepare'd */
        c->key = key;
        t->used++;
    }
    BO_ASSERT(delta > 0 || c->count >= (uint64_t)-delta); /* a count never goes below 0 */
    BO_ASSERT(delta < 0 || (uint64_t)c->count + (uint64_t)delta <= UINT32_MAX);
    push(inv, J_CUST, c->count, key, t);
    c->count = (uint32_t)((int64_t)c->count + delta);
}

/* ---- deadline heaps ----------------------------------------------------- */

static int64_t key(const bo_inv_t *inv, const struct heap *h, uint32_t slot)
{
    return h->paying ? inv->holds[slot].pay_deadline_ms : inv->holds[slot].expires_at_ms;
}

static void heap_place(struct heap *h, uint32_t i, uint32_t slot)
{
    BO_ASSERT_EACH(i < h->n && slot > 0);
    h->slots[i] = slot;
    h->pos[slot] = i;
}

static void sift_up(const bo_inv_t *inv, struct heap *h, uint32_t i)
{
    uint32_t slot = h->slots[i];
    int64_t k = key(inv, h, slot);
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (key(inv, h, h->slots[parent]) <= k)
            break;
        heap_place(h, i, h->slots[parent]);
        i = parent;
    }
    heap_place(h, i, slot);
}

static void sift_down(const bo_inv_t *inv, struct heap *h, uint32_t i)
{
    uint32_t slot = h->slots[i];
    int64_t k = key(inv, h, slot);
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && key(inv, h, h->slots[c + 1]) < key(inv, h, h->slots[c]))
            c++;
        if (key(inv, h, h->slots[c]) >= k)
            break;
        heap_place(h, i, h->slots[c]);
        i = c;
    }
    heap_place(h, i, slot);
}

static void heap_remove(const bo_inv_t *inv, struct heap *h, uint32_t slot)
{
    uint32_t i = h->pos[slot];
    BO_ASSERT_EACH(i < h->n && h->slots[i] == slot);
    h->pos[slot] = NOT_HEAP;
    if (--h->n == i)
        return;
    uint32_t moved = h->slots[h->n];
    heap_place(h, i, moved);
    sift_up(inv, h, i);
    sift_down(inv, h, h->pos[moved]);
}

static void heap_sync_one(bo_inv_t *inv, struct heap *h, uint32_t slot, int want)
{
    int in = h->pos[slot] != NOT_HEAP;
    if (want && !in) {
        BO_ASSERT_EACH(h->n < inv->cap_holds); /* a heap holds each slot at most once */
        h->slots[h->n] = slot;
        h->pos[slot] = h->n;
        sift_up(inv, h, h->n++);
    } else if (!want && in) {
        heap_remove(inv, h, slot);
    } else if (want) {
        uint32_t i = h->pos[slot];
        sift_up(inv, h, i);
        sift_down(inv, h, h->pos[slot]);
    }
    BO_ASSERT_EACH(want ? h->slots[h->pos[slot]] == slot : h->pos[slot] == NOT_HEAP);
}

/* Put slot in the heap its status calls for, at the right place. */
void bo__heap_sync(bo_inv_t *inv, uint32_t slot)
{
    BO_ASSERT(slot > 0 && slot < inv->cap_holds);
    uint8_t st = inv->holds[slot].status;
    heap_sync_one(inv, &inv->exp, slot, st == BO_HOLD_HELD);
    heap_sync_one(inv, &inv->pay, slot, st == BO_HOLD_PAYING);
}

/* ---- hold slots ---------------------------------------------------------- */

int bo__holds_init(bo_inv_t *inv)
{
    inv->hash_mask = 63;
    inv->hash = calloc(64, sizeof(uint64_t));
    inv->nholds = 1; /* slot 0 means "no hold" in seat words */
    inv->pay.paying = 1;
    inv->journal_on = 1;
    if (ctab_init(&inv->cust) || ctab_init(&inv->client_tickets) || ctab_init(&inv->client_holds))
        return BO_ENOMEM;
    return inv->hash ? 0 : BO_ENOMEM;
}

void bo__holds_free(bo_inv_t *inv)
{
    bo_inv_set_journal(inv, 0); /* runs deferred frees */
    for (uint32_t s = 1; s < inv->nholds; s++)
        if (inv->holds[s].status != BO_HOLD_NONE)
            free(inv->holds[s].seats);
    free(inv->holds);
    free(inv->free_slots);
    free(inv->hash);
    free(inv->cust.e);
    free(inv->client_tickets.e);
    free(inv->client_holds.e);
    free(inv->exp.slots);
    free(inv->exp.pos);
    free(inv->pay.slots);
    free(inv->pay.pos);
    free(inv->j);
    free(inv->hcopy);
}

static int grow_u32(uint32_t **p, uint32_t n, uint32_t fill_from, uint32_t fill)
{
    uint32_t *q = realloc(*p, (size_t)n * sizeof(uint32_t));
    if (!q)
        return BO_ENOMEM;
    for (uint32_t i = fill_from; i < n; i++)
        q[i] = fill;
    *p = q;
    return 0;
}

/* Make room for one more live hold in every structure. */
static int slots_prepare(bo_inv_t *inv)
{
    uint32_t limit = inv->cfg.max_holds ? inv->cfg.max_holds : (1u << 20);
    if (inv->nholds - 1 - inv->nfree >= limit) /* slots in use (the limit may have shrunk) */
        return BO_EFULL;
    if (inv->nfree > 0)
        return 0;
    uint32_t ncap = inv->cap_holds ? inv->cap_holds * 2 : 256;
    if (ncap > limit + 1)
        ncap = limit + 1;
    struct hold *h = realloc(inv->holds, (size_t)ncap * sizeof(*h));
    if (!h)
        return BO_ENOMEM;
    inv->holds = h;
    memset(h + inv->cap_holds, 0, (size_t)(ncap - inv->cap_holds) * sizeof(*h));
    if (grow_u32(&inv->free_slots, ncap, ncap, 0) || grow_u32(&inv->exp.slots, ncap, ncap, 0) ||
        grow_u32(&inv->pay.slots, ncap, ncap, 0) ||
        grow_u32(&inv->exp.pos, ncap, inv->cap_holds, NOT_HEAP) ||
        grow_u32(&inv->pay.pos, ncap, inv->cap_holds, NOT_HEAP))
        return BO_ENOMEM;
    inv->cap_holds = ncap;
    for (uint32_t s = ncap; s-- > inv->nholds;)
        inv->free_slots[inv->nfree++] = s;
    BO_ASSERT(inv->nfree > 0 && inv->nfree <= ncap - 1); /* slot 0 is never free */
    inv->nholds = ncap;
    return 0;
}

/* Make room for one more hold in every structure, so that bo__hold_alloc
 * cannot fail. Returns 0, BO_EFULL or BO_ENOMEM; changes nothing visible. */
int bo__hold_prepare(bo_inv_t *inv)
{
    int rc = slots_prepare(inv);
    if (rc == 0)
        rc = hash_prepare(inv);
    if (rc == 0)
        rc = ctab_prepare(&inv->cust);
    if (rc == 0)
        rc = ctab_prepare(&inv->client_tickets);
    if (rc == 0)
        rc = ctab_prepare(&inv->client_holds);
    return rc;
}

/* Take a free slot (bo__hold_prepare made sure of one), store h there and
 * index it. h->seats is owned by the inventory from now on (freed when the
 * hold's slot is released and the journal forgets it). */
uint32_t bo__hold_alloc(bo_inv_t *inv, const struct hold *h)
{
    BO_ASSERT(inv->nfree > 0);                                /* bo__hold_prepare'd */
    BO_ASSERT(h->status != BO_HOLD_NONE && h->seats != NULL); /* a live or sold hold */
    uint32_t slot = inv->free_slots[--inv->nfree];
    BO_ASSERT(slot > 0 && slot < inv->nholds && inv->holds[slot].status == BO_HOLD_NONE);
    push(inv, J_SLOT_POP, slot, 0, NULL);
    bo__hold_set(inv, slot, h);
    hash_insert(inv, slot);
    push(inv, J_HASH_INS, slot, 0, NULL);
    bo__j_free_on_undo(inv, h->seats);
    return slot;
}

/* Replace holds[slot] by h (journaled) and move it between heaps. */
/* The transitions a hold may take (enum bo_hold_status): a new slot gets
 * any live or sold status (a snapshot brings PAYING holds back), HELD and
 * PAYING go back and forth, both may be sold, and any hold may go. */
static bool transition_ok(uint8_t from, uint8_t to)
{
    switch (from) {
    case BO_HOLD_NONE:
        return to != BO_HOLD_NONE;
    case BO_HOLD_HELD:
    case BO_HOLD_PAYING:
        return true;
    case BO_HOLD_SOLD:
        return to == BO_HOLD_NONE;
    }
    return false;
}

void bo__hold_set(bo_inv_t *inv, uint32_t slot, const struct hold *h)
{
    BO_ASSERT(slot > 0 && slot < inv->nholds);
    BO_ASSERT(transition_ok(inv->holds[slot].status, h->status));
    BO_ASSERT(h->pay_failures < BO_PAY_MAX_FAILURES);
    if (inv->journal_on && inv->holds[slot].status == BO_HOLD_NONE) {
        push(inv, J_HOLD_NEW, slot, 0, NULL); /* free slots are all zero */
    } else if (inv->journal_on) {
        if (grow_hcopy(inv, inv->hn + 1))
            abort(); /* reserved by bo__j_reserve; see push() */
        inv->hcopy[inv->hn] = inv->holds[slot];
        push(inv, J_HOLD, slot, inv->hn++, NULL);
    }
    inv->holds[slot] = *h;
    bo__heap_sync(inv, slot);
}

/* Forget a hold: unindex it and return its slot to the free list. Its seat
 * array is freed once the journal no longer needs it. */
void bo__hold_release_slot(bo_inv_t *inv, uint32_t slot)
{
    BO_ASSERT(slot > 0 && slot < inv->nholds && inv->holds[slot].status != BO_HOLD_NONE);
    BO_ASSERT(inv->nfree < inv->cap_holds - 1);
    void *seats = inv->holds[slot].seats;
    hash_remove(inv, slot);
    push(inv, J_HASH_DEL, slot, 0, NULL);
    bo__hold_set(inv, slot, &(struct hold){0});
    inv->free_slots[inv->nfree++] = slot;
    push(inv, J_SLOT_PUSH, slot, 0, NULL);
    bo__j_free_later(inv, seats);
}

/* ---- debug recount (bo_inv_check) ----------------------------------------- */

/* 0, or print the failed check and BO_ECORRUPT. */
int bo__check_failed(const char *what, const char *file, int line)
{
    fprintf(stderr, "bo_inv_check: %s:%d: %s\n", file, line, what);
    return BO_ECORRUPT;
}
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            return bo__check_failed(#c, __FILE__, __LINE__);                                       \
    } while (0)

static int check_heap(const bo_inv_t *inv, const struct heap *h)
{
    CHECK(h->n <= inv->cap_holds);
    for (uint32_t i = 0; i < h->n; i++) {
        uint32_t s = h->slots[i];
        CHECK(s > 0 && s < inv->nholds && h->pos[s] == i);
        CHECK(inv->holds[s].status == (h->paying ? BO_HOLD_PAYING : BO_HOLD_HELD));
        CHECK(i == 0 || key(inv, h, h->slots[(i - 1) / 2]) <= key(inv, h, s));
    }
    for (uint32_t s = 1; s < inv->nholds; s++) {
        uint8_t want = h->paying ? BO_HOLD_PAYING : BO_HOLD_HELD;
        CHECK((inv->holds[s].status == want) == (h->pos[s] != NOT_HEAP));
        CHECK(h->pos[s] == NOT_HEAP || (h->pos[s] < h->n && h->slots[h->pos[s]] == s));
    }
    return 0;
}

/* What a hold adds to a counter table: a customer counts the tickets of
 * its holds, sold ones too; a client the tickets, or the number, of its
 * live (HELD or PAYING) holds. */
enum ckind { C_CUSTOMER, C_CLIENT_TICKETS, C_CLIENT_HOLDS };
static uint32_t counted(const struct hold *h, enum ckind kind, uint64_t *key)
{
    *key = kind == C_CUSTOMER ? h->customer : h->client;
    if (h->status == BO_HOLD_NONE || *key == 0)
        return 0;
    if (kind == C_CUSTOMER)
        return h->tickets;
    if (h->status == BO_HOLD_SOLD)
        return 0;
    return kind == C_CLIENT_TICKETS ? h->tickets : 1;
}

/* Every count of t is what its holds add (counted). */
static int check_counts(const bo_inv_t *inv, const struct ctab *t, enum ckind kind)
{
    uint32_t cap = t->mask + 1, used = 0;
    uint64_t *left = calloc(cap, sizeof(uint64_t)), key;
    if (!left)
        return BO_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < cap; i++) {
        left[i] = t->e[i].count;
        used += t->e[i].key != 0;
    }
    for (uint32_t s = 1; s < inv->nholds && rc == 0; s++) {
        uint32_t n = counted(&inv->holds[s], kind, &key);
        if (n == 0)
            continue;
        const struct cust *c = ctab_slot(t, key);
        if (c->key != key || left[c - t->e] < n)
            rc = bo__check_failed("a hold's customer or client counts it", __FILE__, __LINE__);
        else
            left[c - t->e] -= n;
    }
    for (uint32_t i = 0; i < cap && rc == 0; i++)
        if (left[i])
            rc = bo__check_failed("a customer or client counts tickets of no hold", __FILE__,
                                  __LINE__);
    free(left);
    if (rc == 0 && used != t->used)
        rc = bo__check_failed("used == t->used", __FILE__, __LINE__);
    return rc;
}

/* The hold table, its free list, the id hash, the heaps, the counters and
 * the journal agree with each other. O(hold slots + hash + journal). */
int bo__holds_check(const bo_inv_t *inv)
{
    CHECK(inv->nholds >= 1 && inv->nholds <= inv->cap_holds + 1);
    CHECK(inv->nfree < inv->nholds);
    uint32_t live = 0;
    for (uint32_t s = 1; s < inv->nholds; s++) {
        const struct hold *h = &inv->holds[s];
        if (h->status == BO_HOLD_NONE)
            continue;
        live++;
        CHECK(h->status <= BO_HOLD_SOLD && h->pay_failures < BO_PAY_MAX_FAILURES);
        CHECK(bo__hold_find(inv, &h->id) == s);
    }
    CHECK(live + inv->nfree == inv->nholds - 1); /* every slot but 0 is live or free */
    for (uint32_t i = 0; i < inv->nfree; i++) {
        uint32_t s = inv->free_slots[i];
        CHECK(s > 0 && s < inv->nholds && inv->holds[s].status == BO_HOLD_NONE);
    }
    uint32_t used = 0, tomb = 0;
    for (uint32_t i = 0; i <= inv->hash_mask; i++) {
        used += inv->hash[i] != 0 && inv->hash[i] != HTOMB;
        tomb += inv->hash[i] == HTOMB;
    }
    CHECK(used == inv->hash_used && tomb == inv->hash_tomb && used == live);
    int rc = check_heap(inv, &inv->exp);
    if (rc == 0)
        rc = check_heap(inv, &inv->pay);
    if (rc == 0)
        rc = check_counts(inv, &inv->cust, C_CUSTOMER);
    if (rc == 0)
        rc = check_counts(inv, &inv->client_tickets, C_CLIENT_TICKETS);
    if (rc == 0)
        rc = check_counts(inv, &inv->client_holds, C_CLIENT_HOLDS);
    if (rc)
        return rc;
    size_t copies = 0;
    for (size_t i = 0; i < inv->jn; i++)
        copies += inv->j[i].type == J_HOLD;
    CHECK(inv->jn <= inv->jcap && copies == inv->hn && inv->hn <= inv->hcap);
    return 0;
}
