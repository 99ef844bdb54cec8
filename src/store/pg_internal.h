/*
 * pg_internal.h - what the PostgreSQL backend's files share: the
 * backend's state (struct pg), its prepared statements, and the pieces
 * pg.c (commit, reconnect), pg_batch.c (a batch as one pipeline),
 * pg_schema.c (migrations, check), pg_load.c (recovery) and pg_read.c
 * (document reads by any thread) call across.
 */
#ifndef BO_STORE_PG_INTERNAL_H
#define BO_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "boxoffice/store.h"

#define BO_PG_BACKOFF_FIRST_MS 50   /* the first wait before reconnecting */
#define BO_PG_BACKOFF_MAX_MS   2000 /* the wait doubles up to this */
#define BO_PG_CONNECT_TIMEOUT  "5"  /* seconds, per connection attempt */

/* The commit's prepared statements (pg_batch.c has their SQL). */
enum bo_pg_stmt {
    P_MARK,
    P_VENUE,
    P_EVENT,
    P_GA_CAPACITY,
    P_LOG,
    P_SOLD_ADD,
    P_SOLD_DEL,
    P_GA_SOLD,
    P_SNAP_PUT,
    P_LOG_COVER,
    P_IDEM,
    P_IDEM_EXPIRE,
    P_DOC,
    P_DOC_KEY,
    P_OUTBOX,
    P_COUNT
};

struct pg {
    char *url;       /* the conninfo, as given */
    PGconn *wr;      /* the committer's connection; NULL while down */
    uint64_t writer; /* random, per open: names this writer's row of store_commits */
    uint64_t batch;  /* the number of the latest batch sent */
    /* Reconnection: the next attempt not before next_try_us, waiting
     * delay_ms more after each failure (BO_PG_BACKOFF_*). */
    uint64_t next_try_us;
    uint32_t delay_ms;
    int down; /* atomic: 1 while the writer has no working connection */
    /* Tests: the next commit's connection is cut just before its COMMIT
     * is sent (1) or after (2), before its answer is read. Atomic. */
    int cut;
    /* Reads of documents by any thread: a connection of their own. */
    PGconn *rd;
    pthread_mutex_t rd_mu;
};

/* Connect to url (a connect timeout added); NULL when out of memory, else
 * a connection the caller checks with PQstatus and PQfinish'es. */
PGconn *bo__pg_connect(const char *url);
/* Run sql without parameters and with no rows wanted: 0 or BO_EIO. */
int bo__pg_exec(PGconn *c, const char *sql);
/* The BO_E* code of a failed result: BO_ECORRUPT for a constraint (or
 * the commit's own checks, division by zero), BO_EIO for anything else. */
int bo__pg_result_err(const PGresult *res);

/* pg_schema.c: run the migrations past schema_version (0 or BO_EIO /
 * BO_ECORRUPT for a newer store's), and check a URL (bo_store_check). */
int bo__pg_migrate(PGconn *c);
int bo__pg_check_conn(PGconn *c, char *why, size_t cap);

/* pg_batch.c: prepare the commit statements on c (0 or BO_EIO); send
 * recs[0..n) as one transaction in one pipeline, marked as batch of
 * writer, and read every answer: 0 (committed), BO_ECORRUPT or BO_EIO
 * (refused or failed: rolled back, the connection usable when *lost is
 * false), or with *in_doubt the connection failed after COMMIT was sent. */
int bo__pg_prepare(PGconn *c);
int bo__pg_send_batch(struct pg *b, bo_rec_t *const *recs, size_t n, bool *lost, bool *in_doubt);

/* pg_load.c: ops->load. */
int bo__pg_load(void *backend, const bo_store_visitor_t *v, void *ctx);

/* pg_read.c: the read connection (opened after the schema) and its reads. */
int bo__pg_reader_open(struct pg *b);
void bo__pg_reader_close(struct pg *b);
extern const bo_store_reader_t bo__pg_reader;

/* Big-endian 64-bit integer of a binary result field. */
uint64_t bo__pg_be64(const char *p);

#endif
