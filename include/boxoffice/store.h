/*
 * store.h - durability. The engine decides; the store makes each decision
 * durable before anyone is told. Records are queued by any thread and
 * written by one committer thread per store, many per transaction (group
 * commit): it takes every pending record, writes them in one transaction,
 * then completes each record's waiter in submission order.
 *
 * Workload: during an on-sale ~10^5 records/s, mostly holds and releases of
 * one hot event, a few hundred bytes each. One fsync'd commit costs ~1 ms, so
 * the hot path is one compact appended row per record; only sold seats and
 * GA sales touch indexed tables, where the database itself refuses an
 * oversell (a unique (event, seat) key among sold seats, GA sold <= capacity
 * checked in the commit transaction).
 *
 * Backends implement bo_store_ops_t, which is batch-shaped so that a
 * PostgreSQL backend can send a whole batch in one pipeline and check each
 * event's fencing epoch in the same transaction. sqlite:PATH is the default.
 */
#ifndef BOXOFFICE_STORE_H
#define BOXOFFICE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bo_rec_kind {
    BO_REC_VENUE = 1,    /* venue created: body = seat-map JSON */
    BO_REC_EVENT = 2,    /* event created or changed: body = event JSON; ga_capacity set */
    BO_REC_MUT = 3,      /* one engine mutation: body = encoded mutation (live/record.h) */
    BO_REC_SNAPSHOT = 4, /* full engine state of event as of seq: replaces older MUT records */
    BO_REC_IDEM = 5,     /* only the idempotency answer below (a refused request) */
    BO_REC_DOCS = 6,     /* only the documents below (orders, check-ins, ...) */
};

/* A document: a small JSON object named by (coll, id), replaced whole when
 * written again. The "outbox" collection is append-only: a document of it
 * that exists already is kept as it was (a notification is queued once). */
#define BO_DOC_COLL_MAX 32
#define BO_DOC_ID_MAX   128
typedef struct bo_doc {
    const char *coll; /* NUL-terminated, 1..BO_DOC_COLL_MAX bytes */
    const char *id;   /* NUL-terminated, 1..BO_DOC_ID_MAX bytes */
    const char *body;
    size_t len;
    /* Optional, for documents read back by key (orders): settled ones are
     * not handed back at start (bo_store_visitor_t.doc) but read on demand
     * (bo_store_doc_get); group and tag (NULL: none) are what
     * bo_store_doc_tags counts by; keys[0..nkeys) (each <= BO_DOC_ID_MAX
     * bytes, unique across documents) find the document again. */
    bool settled;
    const char *group, *tag;
    const char *figures; /* a short text bo_store_doc_each hands back */
    const char *const *keys;
    uint32_t nkeys;
} bo_doc_t;

typedef struct bo_rec bo_rec_t;
typedef void (*bo_rec_done_fn)(bo_rec_t *rec, int status);

struct bo_rec {
    /* What to write; set by the submitter, read-only to the store. */
    uint8_t kind;   /* enum bo_rec_kind */
    uint64_t id;    /* VENUE: venue id; EVENT, MUT, SNAPSHOT: event id */
    uint64_t venue; /* EVENT: its venue id */
    uint64_t seq;   /* MUT, SNAPSHOT: per-event sequence, from 1, gapless */
    int64_t at_ms;  /* the engine's now when it decided */
    const void *body;
    size_t body_len;
    /* The last line of defence, applied in the same transaction (MUT only):
     * seats (layout indices) that become SOLD or stop being SOLD, and signed
     * changes of GA sold per area. A seat already sold or a GA area past its
     * capacity fails the whole transaction with BO_ECORRUPT. */
    const uint32_t *sold_add;
    uint32_t nsold_add;
    const uint32_t *sold_del;
    uint32_t nsold_del;
    const int32_t *ga_sold_delta; /* indexed by GA area, nga_delta entries */
    uint32_t nga_delta;
    /* EVENT: capacity of each GA area (creates or keeps its counter row). */
    const uint32_t *ga_capacity;
    uint32_t nga_capacity;
    /* Idempotency (any kind, optional): when idem_key is set, the answer
     * to the request that carried that Idempotency-Key is stored in the same
     * transaction, so the decision and its answer are durable together. */
    const char *idem_key;     /* NUL-terminated, <= BO_IDEM_KEY_MAX bytes */
    const uint8_t *idem_hash; /* 32 bytes: hash of the request it answers */
    int idem_status;          /* HTTP status */
    const char *idem_body;
    size_t idem_body_len;
    /* With idem_key: stored answers older than this (at_ms) have expired;
     * the transaction deletes a few of them (BO_STORE_IDEM_EXPIRE_STEP, so
     * expiry keeps pace with new answers). 0: none. */
    int64_t idem_expired_before_ms;
    /* Documents (any kind, optional), written in the same transaction. */
    const bo_doc_t *docs;
    uint32_t ndocs;
    /* Completion: called once, on the committer thread, in submission order,
     * with 0 once the record is durable or a negative BO_E* code when it is
     * not (then nothing of it was written). The submitter owns rec and
     * everything it points to until done is called. */
    bo_rec_done_fn done;
    void *arg;
    /* Private to the store. */
    bo_rec_t *next;
    uint64_t ticket; /* submission number, for bo_store_flush */
};

/* Recovery callbacks, in this order: every venue, every event (its latest
 * EVENT record), then for each event its SNAPSHOT (if any) followed by its
 * MUT records with a higher seq, in seq order; events one after the other,
 * in ascending id, never interleaved. The rec passed has kind, id, seq, at_ms
 * and body set, everything else zero. A callback returning nonzero stops the
 * load, which returns that value. A NULL callback skips those records.
 * Pointers are valid during the call only. */
typedef struct bo_store_visitor {
    int (*venue)(void *ctx, uint64_t venue, const char *json, size_t len);
    int (*event)(void *ctx, uint64_t event, uint64_t venue, const char *json, size_t len);
    int (*rec)(void *ctx, const bo_rec_t *rec);
    /* Stored idempotent answers newer than the load's idem_since_ms, first. */
    int (*idem)(void *ctx, const char *key, const uint8_t *hash, int status, const char *body,
                size_t len, int64_t at_ms);
    int64_t idem_since_ms; /* older answers are deleted */
    /* Every document, first (before venues), collection by collection in
     * the order of their last write. */
    int (*doc)(void *ctx, const char *coll, const char *id, const char *body, size_t len);
    uint32_t idem_max; /* only the newest idem_max answers are delivered; 0: all */
} bo_store_visitor_t;

#define BO_IDEM_KEY_MAX 255
/* Expired answers deleted by a transaction that stores one (see
 * idem_expired_before_ms): more than the one it adds. */
#define BO_STORE_IDEM_EXPIRE_STEP 4

typedef struct bo_store bo_store_t;

/* A backend. commit and load run on one thread at a time (the committer,
 * or the opener before the committer starts). */
typedef struct bo_store_ops {
    const char *name;
    /* Write recs[0..n) in one transaction, all or nothing. Returns 0,
     * BO_EIO (the database failed: nothing written), BO_ECORRUPT (a
     * constraint refused it: nothing written), or BO_EFENCED. */
    int (*commit)(void *backend, bo_rec_t *const *recs, size_t n);
    int (*load)(void *backend, const bo_store_visitor_t *v, void *ctx);
    void (*close)(void *backend);
    const struct bo_store_reader *reader; /* NULL: documents are not read back */
    /* Optional (a backend on a network connection): ready says, from any
     * thread and at once, whether commits can succeed now (false while the
     * connection is lost); while it is false the store refuses submissions
     * with BO_EIO and its idle committer calls poke every
     * BO_STORE_POKE_MS, which reconnects when the backend's backoff allows.
     * inject_cut: bo_store_inject_unknown_outcome. */
    bool (*ready)(void *backend);
    void (*poke)(void *backend);
    void (*inject_cut)(void *backend, bool sent);
} bo_store_ops_t;

#define BO_STORE_POKE_MS 50

/* Reads of documents by any thread, on a connection of their own (a
 * backend that cannot leaves bo_store_ops_t.reader NULL: bo_store_doc_get
 * answers BO_ESTATE). get: the body (malloc'd, NUL-
 * terminated, caller frees) of (coll, id), or with coll NULL of the
 * document holding key; BO_ENOTFOUND. tags: fn(arg, tag, count) for each
 * tag of coll's documents of group (NULL: all groups). each: fn(arg, tag,
 * figures) for each document of coll in group that has both (their
 * bodies are not read). */
typedef struct bo_store_reader {
    int (*get)(void *backend, const char *coll, const char *id, char **body, size_t *len);
    int (*tags)(void *backend, const char *coll, const char *group,
                int (*fn)(void *arg, const char *tag, uint64_t count), void *arg);
    int (*each)(void *backend, const char *coll, const char *group,
                int (*fn)(void *arg, const char *tag, const char *figures), void *arg);
} bo_store_reader_t;

/* Buckets of the commit-time histogram: 125 us, 250 us, ... 1.024 s, then
 * everything longer. */
#define BO_STORE_COMMIT_US_FIRST 125
#define BO_STORE_COMMIT_BUCKETS  15

typedef struct bo_store_stats {
    uint64_t commits;         /* batches committed */
    uint64_t commit_failures; /* batches failed (injected failures included) */
    uint64_t records;         /* records committed (failed batches excluded) */
    uint64_t max_batch;       /* largest batch taken, failed or not */
    uint64_t commit_us_total; /* sum of backend commit durations */
    uint64_t batch_hist[16];  /* batches (failed too) of size in [2^i, 2^(i+1)) */
    /* commits (failed too) that took at most BO_STORE_COMMIT_US_FIRST << i
     * microseconds, not cumulative; the last one counts every longer one */
    uint64_t commit_us_hist[BO_STORE_COMMIT_BUCKETS];
    uint64_t pending;    /* queued now, not yet taken by the committer */
    uint64_t reconnects; /* times the idle committer found the backend ready again */
} bo_store_stats_t;

#define BO_STORE_MAX_PENDING 200000u /* records queued; past it submit says BO_EBUSY */
#define BO_STORE_MAX_BATCH   8192u   /* records per commit; the rest wait for the next */

/*
 * Open a store by URL: "sqlite:PATH" (creates the file and schema, runs
 * pending migrations), or "postgresql://..." / "postgres://..." (libpq's
 * URL: the database must exist; creates the schema in its current schema,
 * runs pending migrations). Does not start the committer: call bo_store_load
 * (recovery) first, then bo_store_start. Returns 0 and *out (caller owns,
 * bo_store_close), BO_EINVAL for an unknown URL, BO_EIO when the database
 * cannot be opened or written, BO_ECORRUPT when it is not a boxoffice store
 * (bo_store_check says why).
 */
int bo_store_open(const char *url, bo_store_t **out);
/*
 * Check, changing no data, that url names a store this build may open and
 * write, or nothing yet (bo_store_open creates it). Returns 0, or with one
 * line saying why in why (cap bytes; the URL is not repeated): BO_EINVAL
 * for an unknown URL, BO_ECORRUPT for a file that is not a boxoffice store
 * (empty, not SQLite, truncated, another program's database, a newer
 * boxoffice's) and BO_EIO for one that cannot be written (read-only, a
 * directory, no directory to create it in). bo_store_open runs it first
 * and refuses the same files with the same codes.
 */
int bo_store_check(const char *url, char *why, size_t cap);
/*
 * Replay the database through v (see bo_store_visitor_t), before
 * bo_store_start. Returns 0, a visitor's nonzero value, BO_ECORRUPT when an
 * event's seqs have a gap or a record belongs to no event, BO_EIO when the
 * database fails, or BO_ESTATE once the committer runs.
 */
int bo_store_load(bo_store_t *s, const bo_store_visitor_t *v, void *ctx);
/* Start the committer thread. Returns 0, BO_ESTATE when already started, or
 * BO_ENOMEM when no thread can be created. */
int bo_store_start(bo_store_t *s);
/*
 * Queue rec for the next commit. Returns 0 (rec->done will be called) or
 * BO_EBUSY when BO_STORE_MAX_PENDING records are queued, or BO_EIO after
 * bo_store_close began or while the store is not ready (bo_store_ready;
 * done is not called then). Any thread, done callbacks
 * included; records submitted before bo_store_start wait for it (or for
 * bo_store_close).
 */
int bo_store_submit(bo_store_t *s, bo_rec_t *rec);
/*
 * Take back every queued, not yet committing record of event id with seq >
 * after_seq: each is completed with BO_ECANCELED before this returns (on the
 * caller's thread). Used after a failed commit, whose later records were
 * decided on state that is being rolled back. Returns how many.
 */
uint32_t bo_store_cancel(bo_store_t *s, uint64_t event, uint64_t after_seq);
/* Block until every record submitted before the call is completed. Only
 * after bo_store_start, and never from a done callback (it would wait for
 * itself). */
void bo_store_flush(bo_store_t *s);
/*
 * Callbacks around the completion of each batch, on the committer thread:
 * before runs before the batch's first done callback, after once its last
 * one returned, so that the layer above can gather what the callbacks
 * produce (answers for the event loops) and hand it over at once. Either
 * may be NULL. Any time; they apply from the next batch on.
 */
void bo_store_set_batch_hooks(bo_store_t *s, void (*before)(void), void (*after)(void));
/* Whether commits can succeed now: false while a network backend has
 * lost its database (then submissions get BO_EIO at once). Any thread. */
bool bo_store_ready(bo_store_t *s);
/* The next commit loses its connection before its answer: after sending
 * COMMIT (sent true: it most likely committed) or just before (false: it
 * cannot have); an unknown outcome either way, which the backend must
 * resolve (fault tests). BO_ESTATE for a backend without a connection
 * (SQLite). */
int bo_store_inject_unknown_outcome(bo_store_t *s, bool sent);
/* Fail the next n commits with BO_EIO without writing (fault tests). */
void bo_store_inject_failures(bo_store_t *s, uint32_t n);
/* Make each injected failure take delay_ms first, as a disk that times out
 * does, so that more records queue behind the failing batch (fault tests). */
void bo_store_inject_delay(bo_store_t *s, uint32_t delay_ms);
/* Copy the counters since open into *st. */
void bo_store_get_stats(bo_store_t *s, bo_store_stats_t *st);

/* Documents read back (bo_store_reader_t), any thread, on the store's read
 * connection: what is committed now. can_read: whether the store reads
 * back at all. get with coll NULL: by one of its keys. 0, BO_ENOTFOUND,
 * BO_ESTATE (no reads), BO_EIO, BO_ENOMEM. */
bool bo_store_can_read(bo_store_t *s);
int bo_store_doc_get(bo_store_t *s, const char *coll, const char *id, char **body, size_t *len);
int bo_store_doc_tags(bo_store_t *s, const char *coll, const char *group,
                      int (*fn)(void *arg, const char *tag, uint64_t count), void *arg);
int bo_store_doc_each(bo_store_t *s, const char *coll, const char *group,
                      int (*fn)(void *arg, const char *tag, const char *figures), void *arg);
/* Commit what is queued (completing each record), stop the committer, close
 * the database and free s. Submissions from then on (done callbacks
 * included) get BO_EIO. NULL is a no-op. */
void bo_store_close(bo_store_t *s);

/*
 * Copy the SQLite store from ("sqlite:PATH", an existing boxoffice store no
 * server has open) into the PostgreSQL store to ("postgresql://...", a
 * database with no boxoffice data yet), every table in one transaction
 * (src/store/migrate.c), then count both sides (every table, log records
 * per event, documents per collection). say(arg, line) is told each step
 * and count. Returns 0, or with one line in why (cap bytes; the URLs are
 * not repeated): BO_EINVAL (URLs of the wrong kinds or the same twice, a
 * source that is no file, a destination that cannot be reached),
 * BO_ECORRUPT (a source that is not a boxoffice store), BO_EEXIST (the
 * destination holds data), BO_EIO (the copy failed, its constraints
 * included: nothing written), or BO_ESTATE (counts differ after the copy).
 */
typedef void (*bo_migrate_say_fn)(void *arg, const char *line);
int bo_store_migrate(const char *from, const char *to, bo_migrate_say_fn say, void *arg, char *why,
                     size_t cap);

/* Backends. Open the database at path (creating it and running pending
 * migrations). Returns 0 with *ops and *backend (the caller owns it: pass it
 * to ops->close), BO_EIO, BO_ECORRUPT (a file bo_store_check refuses) or
 * BO_ENOMEM. */
int bo__sqlite_open(const char *path, const bo_store_ops_t **ops, void **backend);
/* bo_store_check for sqlite:PATH: bo__sqlite_check_file (sqlite_check.c)
 * with the schema version this build's migrations reach (sqlite.c). */
int bo__sqlite_check(const char *path, char *why, size_t cap);
int bo__sqlite_check_file(const char *path, int newest_version, char *why, size_t cap);
/* The PostgreSQL backend (src/store/pg*.c), url the whole URL. check
 * answers BO_EIO for a server it cannot reach or a read-only one,
 * BO_ECORRUPT for another program's database or a newer boxoffice's. */
int bo__pg_open(const char *url, const bo_store_ops_t **ops, void **backend);
int bo__pg_check(const char *url, char *why, size_t cap);

#endif
