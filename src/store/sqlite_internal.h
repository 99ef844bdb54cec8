/*
 * sqlite_internal.h - what the SQLite backend's files share: the
 * connection's state (struct sq), its prepared statements, and the pieces
 * sqlite.c (schema, commit, checkpointer, open), sqlite_load.c (recovery)
 * and sqlite_read.c (document reads by any thread) call across.
 */
#ifndef BO_STORE_SQLITE_INTERNAL_H
#define BO_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "boxoffice/store.h"

#define BUSY_TIMEOUT_MS 5000

enum stmt {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_VENUE,
    S_EVENT,
    S_GA_CAPACITY,
    S_LOG,
    S_SOLD_ADD,
    S_SOLD_DEL,
    S_GA_SOLD,
    S_SNAP_GET,
    S_LOG_COVER,
    S_SNAP_PUT,
    S_IDEM,
    S_IDEM_EXPIRE,
    S_DOC,
    S_DOC_KEY,
    S_OUTBOX,
    S_COUNT
};

struct sq {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    sqlite3_int64 last_log_id; /* the highest log rowid ever used */
    /* The checkpointer: copies the WAL into the database on its own
     * connection and thread, so the committer never stalls on it. */
    sqlite3 *ckpt_db;
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    bool ckpt_running, ckpt_stop;
    bool ckpt_hurry; /* the committer wants a pass now, not in CHECKPOINT_MS */
    int ckpt_frames; /* WAL frames the last pass had copied (guarded by ckpt_mu) */
    int wal_frames;  /* the WAL's size after the last commit (its hook) */
    /* Reads of documents by any thread (bo_store_reader_t): a read-only
     * connection of their own, one reader at a time (point lookups). */
    sqlite3 *rd_db; /* NULL for an in-memory database */
    pthread_mutex_t rd_mu;
    sqlite3_stmt *rd_get, *rd_key;
};

/* A statement read row by row; rc is the last sqlite3_step result. */
struct bo_sq_cursor {
    sqlite3_stmt *st;
    int rc;
};

/* Prepare sql and step to its first row: 0 or BO_EIO; the caller
 * finalizes c->st either way. */
int bo__sq_cur_open(sqlite3 *db, struct bo_sq_cursor *c, const char *sql);
/* sqlite3_exec without rows: 0 or BO_EIO. */
int bo__sq_exec(sqlite3 *db, const char *sql);

/* ops->load (sqlite_load.c): every record, body and document, in order. */
int bo__sq_load(void *backend, const bo_store_visitor_t *v, void *ctx);

/* The read connection (sqlite_read.c): opened after the schema, closed
 * before the writer; its reads are bo__sq_reader's. */
int bo__sq_reader_open(struct sq *b, const char *path);
void bo__sq_reader_close(struct sq *b);
extern const bo_store_reader_t bo__sq_reader;

#endif
