/*
 * pg_schema.c - the PostgreSQL store's schema: numbered migrations, the
 * version in schema_version (one row), and the check that a database is a
 * boxoffice store this build may write, or has nothing of ours yet.
 *
 * The schema mirrors the SQLite backend's (sqlite.c) concept for concept:
 * venues and events; the append-only log of MUT records per event (here
 * keyed by (event, seq), so a seq written twice is refused too), replaced
 * up to a seq by the event's snapshot; the last line of defence, sold's
 * primary key per event and ga's CHECK (sold <= capacity); idempotent
 * answers with their time (expiry); documents with their keys, settled
 * flag, group, tag and figures, and the append-only outbox. Added here:
 * store_commits, each writer's latest batch (pg.c: unknown outcomes).
 *
 * Workload: once per start (and per bo_store_check), a few catalog reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "store/pg_internal.h"
#include "util/assert.h"

/* Migration i (from 0) brings schema_version from i to i + 1. Append
 * only: a migration that shipped never changes. */
static const char *const migrations[] = {
    /* 1: the whole schema of the SQLite store's version 4, at once. */
    "CREATE TABLE venues(id bigint PRIMARY KEY, body bytea NOT NULL);"
    "CREATE TABLE events(id bigint PRIMARY KEY, venue bigint NOT NULL, body bytea NOT NULL);"
    "CREATE TABLE ga(event bigint NOT NULL, area int NOT NULL, capacity bigint NOT NULL,"
    " sold bigint NOT NULL DEFAULT 0, PRIMARY KEY(event, area),"
    " CHECK(sold >= 0 AND sold <= capacity));"
    "CREATE TABLE sold(event bigint NOT NULL, seat int NOT NULL, PRIMARY KEY(event, seat));"
    "CREATE TABLE log(event bigint NOT NULL, seq bigint NOT NULL, at_ms bigint NOT NULL,"
    " body bytea NOT NULL, PRIMARY KEY(event, seq));"
    "CREATE TABLE snapshots(event bigint PRIMARY KEY, seq bigint NOT NULL,"
    " at_ms bigint NOT NULL, body bytea NOT NULL);"
    "CREATE TABLE idem(key text PRIMARY KEY, hash bytea NOT NULL, status int NOT NULL,"
    " body bytea NOT NULL, at_ms bigint NOT NULL);"
    "CREATE INDEX idem_at ON idem(at_ms);"
    "CREATE SEQUENCE docs_wseq;"
    "CREATE TABLE docs(coll text NOT NULL, id text NOT NULL, body text NOT NULL,"
    " at_ms bigint NOT NULL, settled boolean NOT NULL DEFAULT false, grp text, tag text,"
    " figures text, wseq bigint NOT NULL DEFAULT nextval('docs_wseq'), PRIMARY KEY(coll, id));"
    "CREATE INDEX docs_unsettled ON docs(coll, wseq) WHERE NOT settled;"
    "CREATE INDEX docs_tags ON docs(coll, grp, tag, figures);"
    "CREATE TABLE doc_keys(key text PRIMARY KEY, coll text NOT NULL, id text NOT NULL);"
    "CREATE TABLE outbox(id text PRIMARY KEY, body text NOT NULL, at_ms bigint NOT NULL,"
    " sent_at_ms bigint);"
    "CREATE TABLE store_commits(writer bigint PRIMARY KEY, batch bigint NOT NULL);",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The tables each schema version has, at least. */
static const struct {
    int since_version;
    const char *table;
} tables[] = {{1, "venues"},   {1, "events"},    {1, "ga"},           {1, "sold"},
              {1, "log"},      {1, "snapshots"}, {1, "idem"},         {1, "docs"},
              {1, "doc_keys"}, {1, "outbox"},    {1, "store_commits"}};

/* The first column of the first row of sql as an integer, or -1. */
static long long query_int(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static bool has_table(PGconn *c, const char *name)
{
    char sql[192];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM information_schema.tables"
             " WHERE table_schema = current_schema() AND table_name = '%s'",
             name);
    return query_int(c, sql) > 0;
}

int bo__pg_migrate(PGconn *c)
{
    char sql[96];
    int rc = BO_EIO;
    long long version;

    if (bo__pg_exec(c, "CREATE TABLE IF NOT EXISTS schema_version(id int PRIMARY KEY"
                       " CHECK (id = 1), version int NOT NULL)") ||
        bo__pg_exec(c, "BEGIN") ||
        bo__pg_exec(c, "INSERT INTO schema_version VALUES(1, 0) ON CONFLICT(id) DO NOTHING"))
        goto out;
    /* Locked: another node opening the same store waits here. */
    version = query_int(c, "SELECT version FROM schema_version WHERE id = 1 FOR UPDATE");
    if (version < 0)
        goto out;
    if (version > NMIGRATIONS) { /* a newer boxoffice's database */
        rc = BO_ECORRUPT;
        goto out;
    }
    for (; version < NMIGRATIONS; version++) {
        snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %lld", version + 1);
        if (bo__pg_exec(c, migrations[version]) || bo__pg_exec(c, sql))
            goto out;
    }
    rc = bo__pg_exec(c, "COMMIT");
out:
    if (rc)
        bo__pg_exec(c, "ROLLBACK");
    return rc;
}

int bo__pg_check_conn(PGconn *c, char *why, size_t cap)
{
    long long version;

    if (query_int(c, "SELECT CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END") != 0) {
        snprintf(why, cap, "a read-only standby (or an unreadable server)");
        return BO_EIO;
    }
    if (!has_table(c, "schema_version")) {
        if (query_int(c, "SELECT count(*) FROM information_schema.tables"
                         " WHERE table_schema = current_schema()") == 0)
            return 0; /* nothing yet: bo_store_open creates the schema */
        snprintf(why, cap, "another program's database (tables, but no schema_version)");
        return BO_ECORRUPT;
    }
    /* no row: a first open that died before its migrations committed */
    version = query_int(c, "SELECT coalesce(max(version), 0) FROM schema_version");
    if (version < 0 || version > NMIGRATIONS) {
        snprintf(why, cap, "schema version %lld: a newer boxoffice's store (this one knows %d)",
                 version, NMIGRATIONS);
        return BO_ECORRUPT;
    }
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (version >= tables[i].since_version && !has_table(c, tables[i].table)) {
            snprintf(why, cap, "schema version %lld but no table %s: not a boxoffice store",
                     version, tables[i].table);
            return BO_ECORRUPT;
        }
    return 0;
}
