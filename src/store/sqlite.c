/*
 * sqlite.c - the SQLite backend of the store ("sqlite:PATH"): one batch of
 * records becomes one BEGIN IMMEDIATE ... COMMIT transaction in WAL mode
 * with synchronous=FULL; recovery reads it back (sqlite_load.c), and
 * settled documents are read on demand (sqlite_read.c).
 *
 * Workload: the hot path is MUT records (holds, releases), ~10^5/s in
 * batches of 10^2..10^3 per fsync'd commit. Each becomes one row appended to
 * log, a rowid table with no secondary index (measured: ~400,000 records/s
 * at ~1,000 records per commit, against ~40,000/s with three indexed rows per
 * record). Only sold seats and GA sales touch indexed tables, where the
 * schema refuses an oversell: the primary key of sold(event, seat) and the
 * CHECK on ga.sold. Statements are prepared once and rebound per row.
 *
 * Snapshots: a SNAPSHOT record replaces its event's snapshot row and deletes
 * the event's log rows it covers. log has no index on event, but per event
 * seq order is commit order is rowid order, so the snapshot row remembers
 * log_upto, the highest log rowid it deleted: every row of the event at or
 * below it is gone, and the next snapshot scans only the rowids above it.
 * That needs rowids never to be reused, which SQLite does (max + 1) once the
 * newest rows are deleted; so the backend assigns them itself, from above
 * both max(log.id) and max(snapshots.log_upto) (cheaper than AUTOINCREMENT,
 * which updates sqlite_sequence on every insert).
 *
 * Recovery sorts the live log by (event, seq) once (a temporary b-tree),
 * which is bounded by how often the engine snapshots.
 *
 * Only one thread at a time uses a backend (the store's opener, then its
 * committer), so the connection is opened without SQLite's mutexes; and one
 * process at a time writes a file (log ids come from memory: a second writer
 * would collide, and its commits fail). Several nodes share PostgreSQL.
 */
#include "boxoffice/store.h"
#include "boxoffice/error.h"
#include "store/sqlite_internal.h"
#include "util/assert.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>

#define CHECKPOINT_MS 100  /* how often the WAL is copied into the database */
#define WAL_CATCHUP   4096 /* WAL frames past which the WAL should start over */
#define CATCHUP_TAIL  256  /* frames the committer copies itself, at most, to restart it */

/* Migration i (from 0) brings PRAGMA user_version from i to i + 1. Append
 * only: a migration that shipped never changes. */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE venues(id INTEGER PRIMARY KEY, body BLOB NOT NULL);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, venue INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE TABLE ga(event INTEGER NOT NULL, area INTEGER NOT NULL,"
    " capacity INTEGER NOT NULL, sold INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(event, area), CHECK(sold >= 0 AND sold <= capacity)) WITHOUT ROWID;"
    "CREATE TABLE sold(event INTEGER NOT NULL, seat INTEGER NOT NULL,"
    " PRIMARY KEY(event, seat)) WITHOUT ROWID;"
    "CREATE TABLE log(id INTEGER PRIMARY KEY, event INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE TABLE snapshots(event INTEGER PRIMARY KEY, seq INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, body BLOB NOT NULL, log_upto INTEGER NOT NULL);",
    /* 2: idempotent answers, kept for a day. */
    "CREATE TABLE idem(key TEXT PRIMARY KEY, hash BLOB NOT NULL, status INTEGER NOT NULL,"
    " body BLOB NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX idem_at ON idem(at_ms);",
    /* 3: documents (orders, check-ins, staff tokens, keys) and the outbox of
     * notifications for a mailer, which sets sent_at_ms. */
    "CREATE TABLE docs(coll TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL, PRIMARY KEY(coll, id));"
    "CREATE TABLE outbox(id TEXT PRIMARY KEY, body TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    " sent_at_ms INTEGER);",
    /* 4: settled documents (orders) stay on disk, read back by id or key;
     * group and tag (an order's event and status) counted without reading
     * bodies. Orders of earlier versions are sorted out here once. */
    "ALTER TABLE docs ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE docs ADD COLUMN grp TEXT;"
    "ALTER TABLE docs ADD COLUMN tag TEXT;"
    "ALTER TABLE docs ADD COLUMN figures TEXT;"
    "CREATE TABLE doc_keys(key TEXT PRIMARY KEY, coll TEXT NOT NULL, id TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "UPDATE docs SET grp = json_extract(body, '$.event'), tag = json_extract(body, '$.status'),"
    " figures = printf('%lld %lld %lld %lld', ifnull(json_extract(body, '$.paid'), 0),"
    " json_array_length(body, '$.tickets'), ifnull(json_extract(body, '$.amount'), 0),"
    " (SELECT count(*) FROM json_each(body, '$.tickets') WHERE json_extract(value, '$.in') > 0))"
    " WHERE coll = 'order';"
    "UPDATE docs SET settled = 1 WHERE coll = 'order'"
    " AND tag NOT IN ('pending_payment', 'refund_pending');"
    "INSERT OR REPLACE INTO doc_keys(key, coll, id) SELECT json_extract(t.value, '$.id'),"
    " 'order', d.id FROM docs d, json_each(d.body, '$.tickets') t WHERE d.coll = 'order';"
    "INSERT OR REPLACE INTO doc_keys(key, coll, id) SELECT json_extract(body, '$.intent'),"
    " 'order', id FROM docs WHERE coll = 'order' AND json_extract(body, '$.intent') <> '';"
    "INSERT OR REPLACE INTO doc_keys(key, coll, id) SELECT 'hold_' ||"
    " substr(json_extract(body, '$.event'), 5) || json_extract(body, '$.hold'), 'order', id"
    " FROM docs WHERE coll = 'order';"
    "CREATE INDEX docs_unsettled ON docs(coll) WHERE settled = 0;"
    "CREATE INDEX docs_tags ON docs(coll, grp, tag, figures);",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_VENUE] = "INSERT INTO venues(id, body) VALUES(?1, ?2)"
                " ON CONFLICT(id) DO UPDATE SET body = excluded.body",
    [S_EVENT] = "INSERT INTO events(id, venue, body) VALUES(?1, ?2, ?3)"
                " ON CONFLICT(id) DO UPDATE SET venue = excluded.venue, body = excluded.body",
    [S_GA_CAPACITY] = "INSERT INTO ga(event, area, capacity, sold) VALUES(?1, ?2, ?3, 0)"
                      " ON CONFLICT(event, area) DO UPDATE SET capacity = excluded.capacity",
    [S_LOG] = "INSERT INTO log(id, event, seq, at_ms, body) VALUES(?5, ?1, ?2, ?3, ?4)",
    [S_SOLD_ADD] = "INSERT INTO sold(event, seat) VALUES(?1, ?2)",
    [S_SOLD_DEL] = "DELETE FROM sold WHERE event = ?1 AND seat = ?2",
    [S_GA_SOLD] = "UPDATE ga SET sold = sold + ?3 WHERE event = ?1 AND area = ?2",
    [S_SNAP_GET] = "SELECT seq, log_upto FROM snapshots WHERE event = ?1",
    [S_LOG_COVER] = "DELETE FROM log WHERE id > ?1 AND event = ?2 AND seq <= ?3 RETURNING id",
    [S_SNAP_PUT] = "INSERT INTO snapshots(event, seq, at_ms, body, log_upto)"
                   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(event) DO UPDATE SET"
                   " seq = excluded.seq, at_ms = excluded.at_ms, body = excluded.body,"
                   " log_upto = excluded.log_upto",
    /* A key answered twice is a bug upstream: the constraint refuses it. */
    [S_IDEM] = "INSERT INTO idem(key, hash, status, body, at_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
    /* The oldest few expired answers (index idem_at): expiry while running. */
    [S_IDEM_EXPIRE] = "DELETE FROM idem WHERE rowid IN (SELECT rowid FROM idem WHERE at_ms < ?1"
                      " ORDER BY at_ms LIMIT ?2)",
    /* A rewritten document moves to the end (a new rowid): load order is
     * the order of last writes. */
    [S_DOC] = "REPLACE INTO docs(coll, id, body, at_ms, settled, grp, tag, figures)"
              " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_DOC_KEY] = "REPLACE INTO doc_keys(key, coll, id) VALUES(?1, ?2, ?3)",
    [S_OUTBOX] = "INSERT INTO outbox(id, body, at_ms) VALUES(?2, ?3, ?4)"
                 " ON CONFLICT(id) DO NOTHING",
};

/* ---- helpers ---------------------------------------------------------- */

static int map_err(int sqlite_rc)
{
    return (sqlite_rc & 0xff) == SQLITE_CONSTRAINT ? BO_ECORRUPT : BO_EIO;
}

/* Bind a body; an empty one stays an empty BLOB, not NULL. The record
 * outlives the statement's use of it: reset() clears the binding. */
static void bind_body(sqlite3_stmt *st, int i, const void *body, size_t len)
{
    BO_ASSERT(body != NULL || len == 0);
    sqlite3_bind_blob64(st, i, len ? body : "", len, SQLITE_STATIC);
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static void reset(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Step a statement that returns no row, then reset it. Returns 0, or
 * BO_ECORRUPT / BO_EIO. */
static int run(sqlite3_stmt *st)
{
    BO_ASSERT(st != NULL); /* prepared by prepare_all */
    int rc = sqlite3_step(st);

    reset(st);
    return rc == SQLITE_DONE ? 0 : map_err(rc);
}

/* run() for a statement that must change exactly one row: none means the
 * engine and the database disagree. */
static int run_one(struct sq *b, sqlite3_stmt *st)
{
    int rc = run(st);

    return rc ? rc : sqlite3_changes(b->db) == 1 ? 0 : BO_ECORRUPT;
}

int bo__sq_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : BO_EIO;
}

/* ---- commit ----------------------------------------------------------- */

static int put_venue(struct sq *b, const bo_rec_t *r)
{
    sqlite3_stmt *st = b->st[S_VENUE];

    BO_ASSERT(r->kind == BO_REC_VENUE);
    bind_u64(st, 1, r->id);
    bind_body(st, 2, r->body, r->body_len);
    return run(st);
}

/* Upsert the event and its GA counters (a capacity below sold is refused). */
static int put_event(struct sq *b, const bo_rec_t *r)
{
    sqlite3_stmt *st = b->st[S_EVENT];
    int rc;

    BO_ASSERT(r->kind == BO_REC_EVENT);
    BO_ASSERT(r->nga_capacity == 0 || r->ga_capacity != NULL);
    bind_u64(st, 1, r->id);
    bind_u64(st, 2, r->venue);
    bind_body(st, 3, r->body, r->body_len);
    rc = run(st);
    st = b->st[S_GA_CAPACITY];
    for (uint32_t i = 0; rc == 0 && i < r->nga_capacity; i++) {
        bind_u64(st, 1, r->id);
        sqlite3_bind_int64(st, 2, i);
        sqlite3_bind_int64(st, 3, r->ga_capacity[i]);
        rc = run(st);
    }
    return rc;
}

/* Apply the seat and GA changes of a MUT record: the last line of defence. */
static int put_sales(struct sq *b, const bo_rec_t *r)
{
    sqlite3_stmt *st;
    int rc = 0;

    BO_ASSERT(r->kind == BO_REC_MUT);
    BO_ASSERT((r->nsold_add == 0 || r->sold_add) && (r->nsold_del == 0 || r->sold_del));
    BO_ASSERT(r->nga_delta == 0 || r->ga_sold_delta != NULL);
    st = b->st[S_SOLD_ADD];
    for (uint32_t i = 0; rc == 0 && i < r->nsold_add; i++) {
        bind_u64(st, 1, r->id);
        sqlite3_bind_int64(st, 2, r->sold_add[i]);
        rc = run(st);
    }
    st = b->st[S_SOLD_DEL];
    for (uint32_t i = 0; rc == 0 && i < r->nsold_del; i++) {
        bind_u64(st, 1, r->id);
        sqlite3_bind_int64(st, 2, r->sold_del[i]);
        rc = run_one(b, st);
    }
    st = b->st[S_GA_SOLD];
    for (uint32_t i = 0; rc == 0 && i < r->nga_delta; i++) {
        if (r->ga_sold_delta[i] == 0)
            continue;
        bind_u64(st, 1, r->id);
        sqlite3_bind_int64(st, 2, i);
        sqlite3_bind_int64(st, 3, r->ga_sold_delta[i]);
        rc = run_one(b, st);
    }
    return rc;
}

static int put_mut(struct sq *b, const bo_rec_t *r)
{
    sqlite3_stmt *st = b->st[S_LOG];
    int rc;

    BO_ASSERT(r->kind == BO_REC_MUT && r->seq > 0); /* an event's seqs start at 1 */
    bind_u64(st, 1, r->id);
    bind_u64(st, 2, r->seq);
    sqlite3_bind_int64(st, 3, r->at_ms);
    bind_body(st, 4, r->body, r->body_len);
    /* Ids of a rolled-back batch are skipped: gaps are harmless. */
    sqlite3_bind_int64(st, 5, ++b->last_log_id);
    rc = run(st);
    return rc ? rc : put_sales(b, r);
}

/* Read the event's current snapshot: *found, its seq and log_upto. */
static int get_snapshot(struct sq *b, uint64_t event, bool *found, uint64_t *seq,
                        sqlite3_int64 *log_upto)
{
    sqlite3_stmt *st = b->st[S_SNAP_GET];
    int rc;

    bind_u64(st, 1, event);
    rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        *log_upto = sqlite3_column_int64(st, 1);
    }
    reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : map_err(rc);
}

/* Delete the event's log rows with seq <= seq above rowid *log_upto, and
 * raise *log_upto to the highest rowid deleted. */
static int cover_log(struct sq *b, uint64_t event, uint64_t seq, sqlite3_int64 *log_upto)
{
    sqlite3_stmt *st = b->st[S_LOG_COVER];
    int rc;

    sqlite3_bind_int64(st, 1, *log_upto);
    bind_u64(st, 2, event);
    bind_u64(st, 3, seq);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (sqlite3_column_int64(st, 0) > *log_upto)
            *log_upto = sqlite3_column_int64(st, 0);
    reset(st);
    return rc == SQLITE_DONE ? 0 : map_err(rc);
}

/* Replace the event's snapshot, unless the stored one is newer (then the
 * record changes nothing: the newer snapshot and its log are complete). */
static int put_snapshot(struct sq *b, const bo_rec_t *r)
{
    sqlite3_stmt *st = b->st[S_SNAP_PUT];
    sqlite3_int64 log_upto = 0;
    uint64_t old_seq = 0;
    bool found;
    int rc;

    BO_ASSERT(r->kind == BO_REC_SNAPSHOT);
    rc = get_snapshot(b, r->id, &found, &old_seq, &log_upto);
    if (rc || (found && old_seq > r->seq))
        return rc;
    rc = cover_log(b, r->id, r->seq, &log_upto);
    if (rc)
        return rc;
    bind_u64(st, 1, r->id);
    bind_u64(st, 2, r->seq);
    sqlite3_bind_int64(st, 3, r->at_ms);
    bind_body(st, 4, r->body, r->body_len);
    sqlite3_bind_int64(st, 5, log_upto);
    return run(st);
}

static int put_idem(struct sq *b, const bo_rec_t *r)
{
    sqlite3_stmt *st = b->st[S_IDEM];

    BO_ASSERT(r->idem_key != NULL && r->idem_hash != NULL); /* put() checked */
    sqlite3_bind_text(st, 1, r->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, r->idem_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, r->idem_status);
    bind_body(st, 4, r->idem_body, r->idem_body_len);
    sqlite3_bind_int64(st, 5, r->at_ms);
    int rc = run(st);
    if (rc == 0 && r->idem_expired_before_ms > 0) {
        st = b->st[S_IDEM_EXPIRE];
        sqlite3_bind_int64(st, 1, r->idem_expired_before_ms);
        sqlite3_bind_int(st, 2, BO_STORE_IDEM_EXPIRE_STEP);
        rc = run(st);
    }
    return rc;
}

static int put_docs(struct sq *b, const bo_rec_t *r)
{
    BO_ASSERT(r->docs != NULL && r->ndocs > 0);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < r->ndocs; i++) {
        const bo_doc_t *d = &r->docs[i];
        if (!d->coll || !d->id)
            return BO_ECORRUPT;
        sqlite3_stmt *st = b->st[strcmp(d->coll, "outbox") == 0 ? S_OUTBOX : S_DOC];
        sqlite3_bind_text(st, 1, d->coll, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, d->id, -1, SQLITE_STATIC);
        /* JSON text, readable as such by a mailer or an operator */
        sqlite3_bind_text(st, 3, d->body ? d->body : "", (int)d->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->at_ms);
        if (st == b->st[S_DOC]) {
            sqlite3_bind_int(st, 5, d->settled);
            if (d->group)
                sqlite3_bind_text(st, 6, d->group, -1, SQLITE_STATIC);
            if (d->tag)
                sqlite3_bind_text(st, 7, d->tag, -1, SQLITE_STATIC);
            if (d->figures)
                sqlite3_bind_text(st, 8, d->figures, -1, SQLITE_STATIC);
        }
        rc = run(st);
        BO_ASSERT(d->nkeys == 0 || d->keys != NULL);
        for (uint32_t k = 0; rc == 0 && k < d->nkeys; k++) {
            sqlite3_stmt *ks = b->st[S_DOC_KEY];
            sqlite3_bind_text(ks, 1, d->keys[k], -1, SQLITE_STATIC);
            sqlite3_bind_text(ks, 2, d->coll, -1, SQLITE_STATIC);
            sqlite3_bind_text(ks, 3, d->id, -1, SQLITE_STATIC);
            rc = run(ks);
        }
    }
    return rc;
}

static int put_rec(struct sq *b, const bo_rec_t *r)
{
    switch (r->kind) {
    case BO_REC_VENUE:
        return put_venue(b, r);
    case BO_REC_EVENT:
        return put_event(b, r);
    case BO_REC_MUT:
        return put_mut(b, r);
    case BO_REC_SNAPSHOT:
        return put_snapshot(b, r);
    case BO_REC_IDEM:
    case BO_REC_DOCS:
        return 0;
    }
    return BO_ECORRUPT; /* an unknown kind is an engine bug too */
}

static int put(struct sq *b, const bo_rec_t *r)
{
    int rc = put_rec(b, r);
    if (rc == 0 && (r->idem_key || r->kind == BO_REC_IDEM))
        rc = r->idem_key && r->idem_hash ? put_idem(b, r) : BO_ECORRUPT;
    if (rc == 0 && r->ndocs)
        rc = put_docs(b, r);
    return rc;
}

/*
 * Under sustained load the WAL never starts over by itself: it does only
 * when a checkpoint has copied every frame before the next commit begins,
 * and the checkpointer's passes (its own thread) always trail commits 1-2 ms
 * apart, so the file would grow without end (~8 MB/s). Past WAL_CATCHUP
 * frames the committer, the only writer, copies the tail itself right after
 * a pass (at most CATCHUP_TAIL frames, ~1 ms with the database's fsync) and
 * its next commit restarts the WAL; until then it asks for a pass now. It
 * never copies the whole WAL itself: that stalled every answer ~15 ms.
 */
static void catch_up(struct sq *b)
{
    bool wait = false; /* for a pass: the tail is still long */

    BO_ASSERT(!b->ckpt_running || !bo_mutex_held(&b->ckpt_mu)); /* the committer's, unlocked */

    if (b->ckpt_running) {
        pthread_mutex_lock(&b->ckpt_mu);
        wait = b->wal_frames - b->ckpt_frames > CATCHUP_TAIL && b->wal_frames < 4 * WAL_CATCHUP;
        if (wait) {
            b->ckpt_hurry = true;
            pthread_cond_signal(&b->ckpt_cv);
        }
        pthread_mutex_unlock(&b->ckpt_mu);
    }
    if (!wait) {
        sqlite3_wal_checkpoint_v2(b->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        b->wal_frames = 0;
    }
}

static int sq_commit(void *backend, bo_rec_t *const *recs, size_t n)
{
    struct sq *b = backend;
    int rc;

    BO_ASSERT(recs != NULL && n > 0 && n <= BO_STORE_MAX_BATCH);
    rc = run(b->st[S_BEGIN]) ? BO_EIO : 0;
    if (rc)
        goto out;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put(b, recs[i]);
    if (rc == 0)
        rc = run(b->st[S_COMMIT]) ? BO_EIO : 0;
    if (rc == 0 && b->wal_frames > WAL_CATCHUP)
        catch_up(b);
out:
    /* SQLite may have rolled back already (I/O errors, disk full). */
    if (rc && !sqlite3_get_autocommit(b->db))
        run(b->st[S_ROLLBACK]);
    return rc;
}

/* ---- open and close --------------------------------------------------- */

/* ---- checkpointer --------------------------------------------------------- */

/* Every CHECKPOINT_MS, a PASSIVE checkpoint: it copies what it can without
 * blocking the writer, and once it has copied everything the writer's next
 * commit starts the WAL over, so the file stays small. */
static void *checkpointer(void *arg)
{
    struct sq *b = arg;
    struct timespec ts;

    pthread_mutex_lock(&b->ckpt_mu);
    while (!b->ckpt_stop) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += CHECKPOINT_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        if (!b->ckpt_hurry)
            pthread_cond_timedwait(&b->ckpt_cv, &b->ckpt_mu, &ts);
        b->ckpt_hurry = false;
        if (b->ckpt_stop)
            break;
        pthread_mutex_unlock(&b->ckpt_mu);
        int copied = 0;
        sqlite3_wal_checkpoint_v2(b->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, &copied);
        pthread_mutex_lock(&b->ckpt_mu);
        b->ckpt_frames = copied;
    }
    pthread_mutex_unlock(&b->ckpt_mu);
    return NULL;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    ((struct sq *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

/* Hand checkpoints to their own thread; the writer stops doing them. Without
 * it (it could not start), SQLite's automatic checkpoints stay on. */
static void checkpointer_start(struct sq *b, const char *path)
{
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

    /* A connection finds the WAL only when it first reads: until then its
     * checkpoints do nothing (SQLite 3.40 answers them "not in WAL mode"). */
    if (sqlite3_open_v2(path, &b->ckpt_db, flags, NULL) != SQLITE_OK ||
        bo__sq_exec(b->ckpt_db, "SELECT count(*) FROM sqlite_schema")) {
        sqlite3_close_v2(b->ckpt_db);
        b->ckpt_db = NULL;
        return;
    }
    sqlite3_busy_timeout(b->ckpt_db, BUSY_TIMEOUT_MS);
    pthread_mutex_init(&b->ckpt_mu, NULL);
    pthread_cond_init(&b->ckpt_cv, NULL);
    if (pthread_create(&b->ckpt_thread, NULL, checkpointer, b) == 0) {
        b->ckpt_running = true;
        bo__sq_exec(b->db, "PRAGMA wal_autocheckpoint=0");
        sqlite3_wal_hook(b->db, wal_hook, b); /* after: the PRAGMA sets its own hook */
    }
}

static void checkpointer_stop(struct sq *b)
{
    if (b->ckpt_running) {
        pthread_mutex_lock(&b->ckpt_mu);
        b->ckpt_stop = true;
        pthread_cond_signal(&b->ckpt_cv);
        pthread_mutex_unlock(&b->ckpt_mu);
        pthread_join(b->ckpt_thread, NULL);
        pthread_mutex_destroy(&b->ckpt_mu);
        pthread_cond_destroy(&b->ckpt_cv);
        b->ckpt_running = false;
    }
    sqlite3_close_v2(b->ckpt_db);
    b->ckpt_db = NULL;
}

static void sq_close(void *backend)
{
    struct sq *b = backend;

    if (!b)
        return;
    checkpointer_stop(b);
    /* the reader first: the last connection to close removes the WAL */
    bo__sq_reader_close(b);
    if (b->db) /* leave a small file behind: copy the WAL and truncate it */
        sqlite3_wal_checkpoint_v2(b->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(b->st[i]);
    sqlite3_close_v2(b->db);
    pthread_mutex_destroy(&b->rd_mu);
    free(b);
}

static const bo_store_ops_t sqlite_ops = {
    .name = "sqlite",
    .commit = sq_commit,
    .load = bo__sq_load,
    .close = sq_close,
    .reader = &bo__sq_reader,
};
static int configure(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    bool wal;

    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return BO_EIO;
    wal = sqlite3_step(st) == SQLITE_ROW &&
          sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    return wal ? bo__sq_exec(db, "PRAGMA synchronous=FULL") : BO_EIO;
}

/* Run the migrations past PRAGMA user_version, all in one transaction. */
static int migrate(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int version = -1, rc = BO_EIO;

    if (bo__sq_exec(db, "BEGIN IMMEDIATE"))
        return BO_EIO;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0 || version > NMIGRATIONS) /* a newer boxoffice's database */
        goto out;
    for (; version < NMIGRATIONS; version++) {
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
        if (bo__sq_exec(db, migrations[version]) || bo__sq_exec(db, sql))
            goto out;
    }
    rc = bo__sq_exec(db, "COMMIT");
out:
    if (rc)
        bo__sq_exec(db, "ROLLBACK");
    return rc;
}

/* Prepare the commit statements and find the highest log id ever used. */
static int prepare_all(struct sq *b)
{
    struct bo_sq_cursor c = {0};
    int rc;

    for (int i = 0; i < S_COUNT; i++) {
        BO_ASSERT(stmt_sql[i] != NULL); /* every statement index has its SQL */
        if (sqlite3_prepare_v3(b->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &b->st[i],
                               NULL) != SQLITE_OK)
            return BO_EIO;
    }
    rc = bo__sq_cur_open(b->db, &c,
                         "SELECT max(ifnull((SELECT max(id) FROM log), 0),"
                         " ifnull((SELECT max(log_upto) FROM snapshots), 0))");
    if (rc == 0 && c.rc == SQLITE_ROW)
        b->last_log_id = sqlite3_column_int64(c.st, 0);
    sqlite3_finalize(c.st);
    return rc;
}

/* A new database holds secrets (the ticket signing key, order secrets) and
 * buyers' names and addresses: create it readable by its owner alone
 * (SQLite would make it 0644 under the usual umask), before SQLite opens
 * it; its -wal and -shm files take the database's mode. An existing file
 * keeps the mode its operator gave it. */
static void create_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd); /* an empty file is an empty database */
}

int bo__sqlite_check(const char *path, char *why, size_t cap)
{
    return bo__sqlite_check_file(path, NMIGRATIONS, why, cap);
}

int bo__sqlite_open(const char *path, const bo_store_ops_t **ops, void **backend)
{
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    struct sq *b = calloc(1, sizeof(*b));
    char why[256];
    int rc = BO_ENOMEM;

    if (!b)
        goto out;
    pthread_mutex_init(&b->rd_mu, NULL);
    if ((rc = bo__sqlite_check(path, why, sizeof(why))))
        goto out; /* bo_store_check says why */
    rc = BO_EIO;
    if (strcmp(path, ":memory:") != 0)
        create_private(path);
    if (sqlite3_open_v2(path, &b->db, flags, NULL) != SQLITE_OK)
        goto out;
    if ((rc = configure(b->db)) || (rc = migrate(b->db)) || (rc = prepare_all(b)) ||
        (rc = bo__sq_reader_open(b, path)))
        goto out;
    checkpointer_start(b, path);
    *ops = &sqlite_ops;
    *backend = b; /* the caller owns it now: ops->close */
    b = NULL;
out:
    sq_close(b);
    return rc;
}
