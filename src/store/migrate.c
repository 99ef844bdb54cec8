/*
 * migrate.c - bo_store_migrate: copy a SQLite store into an empty
 * PostgreSQL store, table by table, and count both sides.
 *
 * The copy is of the stored rows themselves, not of replayed records:
 * venues, events, GA counters, sold seats, the log and snapshots, the
 * idempotent answers, every document (settled ones with their keys, group,
 * tag and figures), the outbox. The source is read in one read transaction
 * (a consistent picture); the destination is written with COPY FROM STDIN
 * in one transaction, so either all of it lands or nothing does, and its
 * constraints (a sold seat's key per event, GA sold <= capacity, one log
 * row per (event, seq), one answer per key) check the copy as it goes.
 * Documents are copied in the order of their last write (SQLite's rowid),
 * which the destination keeps in docs.wseq (recovery's order).
 *
 * Workload: once, offline (the server is stopped): one pass over each
 * table, streamed in 64 KiB chunks; memory does not grow with the store.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boxoffice/error.h"
#include "boxoffice/store.h"
#include "store/pg_internal.h"
#include "util/assert.h"

#define CHUNK 65536 /* bytes of COPY data sent at once */

/* One table: the SQLite query (columns in the COPY list's order), the
 * destination's COPY column list, and each column's kind: i integer,
 * b blob (bytea), t text, z boolean; upper case: may be NULL. */
static const struct table {
    const char *name;
    const char *select;
    const char *columns;
    const char *kinds;
} tables[] = {
    {"venues", "SELECT id, body FROM venues ORDER BY id", "id, body", "ib"},
    {"events", "SELECT id, venue, body FROM events ORDER BY id", "id, venue, body", "iib"},
    {"ga", "SELECT event, area, capacity, sold FROM ga ORDER BY event, area",
     "event, area, capacity, sold", "iiii"},
    {"sold", "SELECT event, seat FROM sold ORDER BY event, seat", "event, seat", "ii"},
    {"log", "SELECT event, seq, at_ms, body FROM log ORDER BY event, seq",
     "event, seq, at_ms, body", "iiib"},
    {"snapshots", "SELECT event, seq, at_ms, body FROM snapshots ORDER BY event",
     "event, seq, at_ms, body", "iiib"},
    {"idem", "SELECT key, hash, status, body, at_ms FROM idem ORDER BY at_ms",
     "key, hash, status, body, at_ms", "tbibi"},
    {"docs", "SELECT coll, id, body, at_ms, settled, grp, tag, figures FROM docs ORDER BY rowid",
     "coll, id, body, at_ms, settled, grp, tag, figures", "tttizTTT"},
    {"doc_keys", "SELECT key, coll, id FROM doc_keys ORDER BY key", "key, coll, id", "ttt"},
    {"outbox", "SELECT id, body, at_ms, sent_at_ms FROM outbox ORDER BY rowid",
     "id, body, at_ms, sent_at_ms", "ttiI"},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* A growing buffer of COPY text, sent when it passes CHUNK. */
struct copybuf {
    PGconn *pg;
    char *p;
    size_t len, cap;
    int rc;
};

static void put(struct copybuf *cb, const char *s, size_t n)
{
    if (cb->rc)
        return;
    if (cb->len + n > cb->cap) {
        size_t cap = cb->cap ? cb->cap : CHUNK * 2;
        while (cap < cb->len + n)
            cap *= 2;
        char *p = realloc(cb->p, cap);
        if (!p) {
            cb->rc = BO_ENOMEM;
            return;
        }
        cb->p = p;
        cb->cap = cap;
    }
    memcpy(cb->p + cb->len, s, n);
    cb->len += n;
}

static void flush(struct copybuf *cb, bool always)
{
    if (cb->rc || cb->len == 0 || (!always && cb->len < CHUNK))
        return;
    if (PQputCopyData(cb->pg, cb->p, (int)cb->len) != 1)
        cb->rc = BO_EIO;
    cb->len = 0;
}

/* Text as COPY's text format wants it: backslash, tab, newline, CR escaped. */
static void put_text(struct copybuf *cb, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '\\'   ? "\\\\"
                          : s[i] == '\t' ? "\\t"
                          : s[i] == '\n' ? "\\n"
                          : s[i] == '\r' ? "\\r"
                                         : NULL;
        if (esc)
            put(cb, esc, 2);
        else
            put(cb, (const char *)s + i, 1);
    }
}

/* A blob as bytea's hex form, its backslash escaped for COPY: \\x0a1b... */
static void put_bytea(struct copybuf *cb, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char two[2];
    put(cb, "\\\\x", 3);
    for (size_t i = 0; i < n; i++) {
        two[0] = hex[s[i] >> 4];
        two[1] = hex[s[i] & 15];
        put(cb, two, 2);
    }
}

/* One column of the row st is on, in COPY's text format. */
static void put_column(struct copybuf *cb, sqlite3_stmt *st, int col, char kind)
{
    char num[32];
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        BO_ASSERT(kind >= 'A' && kind <= 'Z'); /* the schema's NOT NULL columns */
        put(cb, "\\N", 2);
        return;
    }
    switch (kind | 0x20) { /* lower case */
    case 'i':
        snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, col));
        put(cb, num, strlen(num));
        break;
    case 'z':
        put(cb, sqlite3_column_int64(st, col) ? "t" : "f", 1);
        break;
    case 'b':
        put_bytea(cb, sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col));
        break;
    default:
        put_text(cb, sqlite3_column_text(st, col), (size_t)sqlite3_column_bytes(st, col));
    }
}

/* Stream one table from src into the destination's COPY; *rows copied. */
static int copy_table(sqlite3 *src, PGconn *pg, const struct table *t, uint64_t *rows, char *why,
                      size_t cap)
{
    struct copybuf cb = {.pg = pg};
    sqlite3_stmt *st = NULL;
    char sql[256];
    PGresult *res;
    int rc = BO_EIO, step;

    *rows = 0;
    snprintf(sql, sizeof(sql), "COPY %s(%s) FROM STDIN", t->name, t->columns);
    res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN)
        goto out;
    if (sqlite3_prepare_v2(src, t->select, -1, &st, NULL) != SQLITE_OK) {
        PQputCopyEnd(pg, "the source could not be read");
        goto drain;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW && !cb.rc) {
        for (int i = 0; t->kinds[i]; i++) {
            if (i)
                put(&cb, "\t", 1);
            put_column(&cb, st, i, t->kinds[i]);
        }
        put(&cb, "\n", 1);
        flush(&cb, false);
        (*rows)++;
    }
    flush(&cb, true);
    if (step != SQLITE_DONE || cb.rc) {
        PQputCopyEnd(pg, "the source could not be read");
        rc = cb.rc ? cb.rc : BO_EIO;
        goto drain;
    }
    rc = PQputCopyEnd(pg, NULL) == 1 ? 0 : BO_EIO;
drain:
    PQclear(res);
    while ((res = PQgetResult(pg))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
            rc = bo__pg_result_err(res);
            snprintf(why, cap, "copying %s: %s", t->name, PQresultErrorMessage(res));
        }
        PQclear(res);
    }
out:
    if (rc && !*why)
        snprintf(why, cap, "copying %s: %s", t->name,
                 cb.rc == BO_ENOMEM ? "out of memory" : PQerrorMessage(pg));
    PQclear(res);
    sqlite3_finalize(st);
    free(cb.p);
    return rc;
}

/* The first column of every row of sql, joined with commas: a count, or
 * "k=n,k=n,..." for a grouped one. What passes cap is cut from out but
 * still hashed into *h (FNV-1a), which the comparison uses too. */
static void join_row(char *out, size_t cap, size_t *len, uint64_t *h, const char *v)
{
    for (const char *p = v; *p; p++)
        *h = (*h ^ (unsigned char)*p) * 0x100000001b3ull;
    *h = (*h ^ ',') * 0x100000001b3ull;
    if (*len + strlen(v) + 2 < cap)
        *len += (size_t)snprintf(out + *len, cap - *len, "%s%s", *len ? "," : "", v);
}

static int sq_text(sqlite3 *db, const char *sql, char *out, size_t cap, uint64_t *h)
{
    sqlite3_stmt *st = NULL;
    size_t len = 0;
    int step;
    out[0] = '\0';
    *h = 0xcbf29ce484222325ull;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return BO_EIO;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        join_row(out, cap, &len, h, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : BO_EIO;
}

static int pg_text(PGconn *pg, const char *sql, char *out, size_t cap, uint64_t *h)
{
    PGresult *res = PQexec(pg, sql);
    size_t len = 0;
    int rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : BO_EIO;
    out[0] = '\0';
    *h = 0xcbf29ce484222325ull;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        join_row(out, cap, &len, h, PQgetvalue(res, i, 0));
    PQclear(res);
    return rc;
}

/* What is counted on both sides after the copy: each table's rows, log
 * records per event, documents per collection. */
static const struct tally {
    const char *kind;
    const char *sql; /* the same text on both engines */
    bool hidden;     /* compared, not said (one entry per event) */
} tallies[] = {
    {"venues", "SELECT count(*) FROM venues", false},
    {"events", "SELECT count(*) FROM events", false},
    {"GA areas", "SELECT count(*) FROM ga", false},
    {"GA places sold", "SELECT coalesce(sum(sold), 0) FROM ga", false},
    {"sold seats", "SELECT count(*) FROM sold", false},
    {"log records", "SELECT count(*) FROM log", false},
    {"log records per event",
     "SELECT event || '=' || count(*) FROM log GROUP BY event ORDER BY event", true},
    {"snapshots", "SELECT count(*) FROM snapshots", false},
    {"idempotency answers", "SELECT count(*) FROM idem", false},
    {"documents", "SELECT count(*) FROM docs", false},
    {"documents per collection",
     "SELECT coll || '=' || count(*) FROM docs GROUP BY coll ORDER BY coll", false},
    {"settled documents", "SELECT count(*) FROM docs WHERE settled", false},
    {"document keys", "SELECT count(*) FROM doc_keys", false},
    {"outbox", "SELECT count(*) FROM outbox", false},
};

/* Count both sides: 0 when every tally agrees (each said), else BO_ESTATE
 * (why names the first that differs) or BO_EIO. */
static int verify_counts(sqlite3 *src, PGconn *pg, bo_migrate_say_fn say, void *arg, char *why,
                         size_t cap)
{
    char a[1024], b[1024], line[1200];
    uint64_t ha, hb;
    for (size_t i = 0; i < sizeof(tallies) / sizeof(tallies[0]); i++) {
        if (sq_text(src, tallies[i].sql, a, sizeof(a), &ha) ||
            pg_text(pg, tallies[i].sql, b, sizeof(b), &hb)) {
            snprintf(why, cap, "counting %s failed", tallies[i].kind);
            return BO_EIO;
        }
        if (ha != hb || strcmp(a, b) != 0) {
            snprintf(why, cap, "%s differ: %.400s in the source, %.400s in the destination",
                     tallies[i].kind, a, b);
            return BO_ESTATE;
        }
        if (tallies[i].hidden)
            continue;
        snprintf(line, sizeof(line), "%s: %s", tallies[i].kind, a[0] ? a : "none");
        say(arg, line);
    }
    return 0;
}

/* The source: an existing file holding a boxoffice store (checked read-
 * only, then opened once as the server would, which runs pending
 * migrations), then opened read-only in *db. */
static int open_source(const char *url, sqlite3 **db, char *why, size_t cap)
{
    const char *path = url + strlen("sqlite:");
    struct stat sb;
    bo_store_t *s = NULL;
    int version = 0, rc;

    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, cap, "the source %s is not a file", path);
        return BO_EINVAL;
    }
    if ((rc = bo_store_check(url, why, cap)))
        return rc == BO_EIO ? BO_EINVAL : rc;
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(*db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(*db);
    *db = NULL;
    if (version < 1) {
        snprintf(why, cap, "the source %s is not a boxoffice store (no schema)", path);
        return BO_ECORRUPT;
    }
    if ((rc = bo_store_open(url, &s))) {
        snprintf(why, cap, "the source %s cannot be opened: %s", path, bo_strerror(rc));
        return rc;
    }
    bo_store_close(s);
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(why, cap, "the source %s cannot be read", path);
        return BO_EIO;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

/* The destination: a PostgreSQL database with no boxoffice data yet (its
 * schema created as the server would), connected in *pg. */
static int open_dest(const char *url, PGconn **pg, char *why, size_t cap)
{
    bo_store_t *s = NULL;
    char n[64];
    uint64_t h;
    int rc;

    if ((rc = bo_store_check(url, why, cap)))
        return rc == BO_EIO ? BO_EINVAL : rc;
    if ((rc = bo_store_open(url, &s))) {
        snprintf(why, cap, "the destination cannot be opened: %s", bo_strerror(rc));
        return rc == BO_EIO ? BO_EINVAL : rc;
    }
    bo_store_close(s);
    *pg = bo__pg_connect(url);
    if (!*pg || PQstatus(*pg) != CONNECTION_OK) {
        snprintf(why, cap, "the destination cannot be reached");
        return BO_EINVAL;
    }
    if (pg_text(*pg,
                "SELECT (SELECT count(*) FROM venues) + (SELECT count(*) FROM events) +"
                " (SELECT count(*) FROM log) + (SELECT count(*) FROM snapshots) +"
                " (SELECT count(*) FROM idem) + (SELECT count(*) FROM docs) +"
                " (SELECT count(*) FROM doc_keys) + (SELECT count(*) FROM outbox)",
                n, sizeof(n), &h)) {
        snprintf(why, cap, "the destination cannot be read");
        return BO_EIO;
    }
    if (strcmp(n, "0") != 0) {
        snprintf(why, cap, "the destination already holds a boxoffice store with data (%s rows)",
                 n);
        return BO_EEXIST;
    }
    return 0;
}

static bool is_pg(const char *url)
{
    return !strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11);
}

/* Copy every table in one transaction of the destination, reading the
 * source in one read transaction. */
static int copy_all(sqlite3 *src, PGconn *pg, bo_migrate_say_fn say, void *arg, char *why,
                    size_t cap)
{
    char line[160];
    uint64_t rows;
    int rc = BO_EIO;

    if (sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK || bo__pg_exec(pg, "BEGIN")) {
        snprintf(why, cap, "cannot begin the copy");
        return BO_EIO;
    }
    for (size_t i = 0; i < NTABLES; i++) {
        if ((rc = copy_table(src, pg, &tables[i], &rows, why, cap)))
            goto out;
        snprintf(line, sizeof(line), "copied %s: %llu rows", tables[i].name,
                 (unsigned long long)rows);
        say(arg, line);
    }
    if ((rc = bo__pg_exec(pg, "COMMIT")))
        snprintf(why, cap, "the destination's COMMIT failed: %s", PQerrorMessage(pg));
out:
    if (rc)
        bo__pg_exec(pg, "ROLLBACK");
    if (rc == BO_ECORRUPT) /* a constraint refused the copy: said in why */
        rc = BO_EIO;
    sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
    return rc;
}

/* Drop a trailing newline (libpq's messages end with one). */
static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

int bo_store_migrate(const char *from, const char *to, bo_migrate_say_fn say, void *arg, char *why,
                     size_t cap)
{
    sqlite3 *src = NULL;
    PGconn *pg = NULL;
    int rc = BO_EINVAL;

    BO_ASSERT(from && to && say && why && cap > 0);
    why[0] = '\0';
    if (strncmp(from, "sqlite:", 7) != 0 || !is_pg(to))
        snprintf(why, cap, "--from takes sqlite:PATH and --to postgresql://...");
    else if (strcmp(from, to) == 0)
        snprintf(why, cap, "--from and --to name the same store");
    else if (!(rc = open_source(from, &src, why, cap)) && !(rc = open_dest(to, &pg, why, cap)) &&
             !(rc = copy_all(src, pg, say, arg, why, cap)))
        rc = verify_counts(src, pg, say, arg, why, cap);
    trim(why);
    if (pg)
        PQfinish(pg);
    sqlite3_close(src);
    return rc;
}
