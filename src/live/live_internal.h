/*
 * live_internal.h - structures shared by live.c (mutations and their
 * commits) and live_catalog.c (venues, events, recovery).
 */
#ifndef BOXOFFICE_LIVE_INTERNAL_H
#define BOXOFFICE_LIVE_INTERNAL_H

#include <pthread.h>

#include "boxoffice/live.h"
#include "boxoffice/u64map.h"

#include "live/idem_table.h"

struct venue {
    uint64_t id;
    bo_layout_t *layout;
    bo_best_index_t *best; /* shared by the venue's events */
    char *meta_json;       /* the API's: city, address, ... */
    int visible;           /* committed */
};

struct event {
    uint64_t id;
    struct venue *venue;
    pthread_mutex_t mu;
    bo_inv_t *inv;
    char *meta_json;
    uint64_t seq;        /* last submitted log sequence */
    uint64_t snap_seq;   /* sequence of the last snapshot */
    int64_t last_ms;     /* the event's clock never goes back */
    uint64_t gen;        /* bumped by each rollback; atomic reads outside mu */
    bo_jpos_t committed; /* journal position of the last commit; atomic */
    int visible;
};

struct bo_live {
    bo_store_t *store;
    bo_clock_t *clock;
    pthread_rwlock_t mu; /* the two registries */
    bo_u64map_t venues, events;
    uint64_t snapshot_every;              /* records between two snapshots of an event */
    bo_idem_table_t *idem;                /* live_idem.c */
    bo_idem_limits_t idem_lim;            /* its limits */
    struct loaded_doc *docs, **docs_tail; /* live_docs.c: recovered, not yet taken */
};

/* live_docs.c */
int bo__live_doc_load(bo_live_t *live, const char *coll, const char *id, const char *body,
                      size_t len);
void bo__live_docs_free(bo_live_t *live);

/* live_idem.c: the table with its limits (defaults and test knobs): 0 or
 * BO_ENOMEM; the load callback; the time before which stored answers have
 * expired (for bo_rec_t.idem_expired_before_ms). */
int bo__live_idem_init(bo_live_t *live);
int64_t bo__live_idem_expired_before(bo_live_t *live);
int bo__live_idem_load(void *ctx, const char *key, const uint8_t *hash, int status,
                       const char *body, size_t len, int64_t at_ms);
void bo__live_idem_free(bo_live_t *live);

/* live.h's handle of an event is the event itself (bo_live_find). */
static inline struct event *bo__live_of(bo_live_event_t *event)
{
    return (struct event *)event;
}

/* An event that is visible, or NULL. */
struct event *bo__live_event(bo_live_t *live, uint64_t id);
/* Now on the event's clock (caller holds ev->mu). */
int64_t bo__live_now(bo_live_t *live, struct event *ev);
/* Answer done with status alone (a commit's outcome); returns status. */
int bo__live_finish(bo_live_done_fn done, void *arg, int status);

#endif
