/*
 * sqlite_check.c - what a file must be before the SQLite backend opens it:
 * a boxoffice store it may write, or nothing yet (then it is created). Any
 * other file is refused with one line that says why, so that a server
 * never starts on another program's database, a truncated copy or an empty
 * file taken for a new store, nor fails later with "could not commit".
 *
 * Workload: once per start, before the store opens: a stat, one 100-byte
 * read of the header and, on a file that passes those, a short-lived SQLite
 * connection that reads the schema (a few pages, whatever the file's size).
 */
#include "boxoffice/store.h"
#include "boxoffice/error.h"
#include "util/assert.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_BYTES 100 /* the database header (sqlite.org/fileformat.html) */

/* The tables each schema version has, at least (sqlite.c's migrations). */
static const struct {
    int since_version;
    const char *table;
} tables[] = {{1, "venues"}, {1, "events"}, {1, "log"},    {1, "snapshots"},
              {2, "idem"},   {3, "docs"},   {3, "outbox"}, {4, "doc_keys"}};

static int refuse(int rc, char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return rc;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The directory that holds path (its -wal and -shm files go there too). */
static void dir_of(const char *path, char *dir, size_t cap)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(dir, cap, "%s", dirname(copy));
}

/* Nothing at path: can it be created? */
static int check_new(const char *path, char *why, size_t cap)
{
    char dir[PATH_MAX];
    struct stat st;
    dir_of(path, dir, sizeof(dir));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return refuse(BO_EIO, why, cap, "it does not exist and its directory %s does not either",
                      dir);
    if (access(dir, W_OK | X_OK) != 0)
        return refuse(BO_EIO, why, cap, "it does not exist and cannot be created in %s: %s", dir,
                      strerror(errno));
    return 0;
}

/* An existing file: may this process write it and its directory? A file
 * whose owner may not write it (mode 0400, 0444) is read-only even to root,
 * who could: its operator said so. */
static int check_writable(const char *path, const struct stat *st, int *fd, char *why, size_t cap)
{
    char dir[PATH_MAX];
    if (S_ISDIR(st->st_mode))
        return refuse(BO_EIO, why, cap, "it is a directory, not a database file");
    if (!S_ISREG(st->st_mode))
        return refuse(BO_EIO, why, cap, "it is not a regular file");
    if (!(st->st_mode & S_IWUSR))
        return refuse(BO_EIO, why, cap,
                      "it is read-only (mode %04o): the store is written to; chmod u+w it",
                      (unsigned)(st->st_mode & 07777));
    if ((*fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return refuse(BO_EIO, why, cap, "it cannot be opened for writing: %s", strerror(errno));
    dir_of(path, dir, sizeof(dir));
    if (access(dir, W_OK | X_OK) != 0)
        return refuse(BO_EIO, why, cap,
                      "its directory %s is not writable (SQLite keeps its -wal and -shm files "
                      "there): %s",
                      dir, strerror(errno));
    return 0;
}

/* Is the WAL beside path non-empty (commits not yet copied into the file)? */
static bool has_wal(const char *path)
{
    char wal[PATH_MAX + 8];
    struct stat st;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    return stat(wal, &st) == 0 && st.st_size > 0;
}

/* The first bytes of the file: SQLite's, and as long as the header says. */
static int check_header(const char *path, int fd, off_t size, char *why, size_t cap)
{
    unsigned char h[HEADER_BYTES];
    if (size == 0)
        return refuse(BO_ECORRUPT, why, cap,
                      "it is empty (0 bytes), not a boxoffice store (a new store is created only "
                      "where no file exists: remove it to start one)");
    if (size < HEADER_BYTES || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        memcmp(h, "SQLite format 3", 16) != 0)
        return refuse(BO_ECORRUPT, why, cap,
                      "it is not an SQLite database, so not a boxoffice store");
    uint32_t page = (uint32_t)h[16] << 8 | h[17];
    page = page == 1 ? 65536 : page;
    /* The page count is valid when its version number matches the change
     * counter (every SQLite since 3.7.0 writes it). A WAL left by a crash
     * may hold pages a checkpoint was copying: then SQLite reads them from
     * there, and the size says nothing. */
    uint64_t want = (uint64_t)be32(h + 28) * page;
    if (be32(h + 92) == be32(h + 24) && !has_wal(path) &&
        ((uint64_t)size < want || (uint64_t)size % page != 0))
        return refuse(BO_ECORRUPT, why, cap,
                      "it is truncated: %lld bytes where its header says %llu (restore it from a "
                      "backup)",
                      (long long)size, (unsigned long long)want);
    return 0;
}

static bool has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* One integer from a query; SQLite's result code when it has none. */
static int query_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The schema: boxoffice's (PRAGMA user_version and its tables), or none. */
static int check_schema(const char *path, int newest, char *why, size_t cap)
{
    sqlite3 *db = NULL;
    int version = 0, ntables = 0, rc = 0;
    int src = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src == SQLITE_OK)
        src = query_int(db, "PRAGMA user_version", &version);
    if (src == SQLITE_OK)
        src = query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", &ntables);
    if (src != SQLITE_OK) {
        rc = refuse((src & 0xff) == SQLITE_CORRUPT || (src & 0xff) == SQLITE_NOTADB ? BO_ECORRUPT
                                                                                    : BO_EIO,
                    why, cap, "SQLite cannot read it: %s", sqlite3_errstr(src));
        goto out;
    }
    if (version > newest) {
        rc = refuse(BO_ECORRUPT, why, cap,
                    "it was written by a newer boxoffice (schema version %d; this one knows up "
                    "to %d)",
                    version, newest);
        goto out;
    }
    if (version == 0 && ntables > 0) {
        rc = refuse(BO_ECORRUPT, why, cap,
                    "it is an SQLite database but not a boxoffice store (other tables, no "
                    "boxoffice schema version)");
        goto out;
    }
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && version > 0; i++)
        if (tables[i].since_version <= version && !has_table(db, tables[i].table)) {
            rc = refuse(BO_ECORRUPT, why, cap,
                        "it is not a boxoffice store (schema version %d but no table '%s')",
                        version, tables[i].table);
            goto out;
        }
out:
    sqlite3_close_v2(db);
    return rc;
}

int bo__sqlite_check_file(const char *path, int newest_version, char *why, size_t cap)
{
    struct stat st;
    int fd = -1, rc;
    BO_ASSERT(path && why && cap > 0);
    why[0] = '\0';
    if (strcmp(path, ":memory:") == 0)
        return 0;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? check_new(path, why, cap)
                               : refuse(BO_EIO, why, cap, "%s", strerror(errno));
    if ((rc = check_writable(path, &st, &fd, why, cap)) == 0 &&
        (rc = check_header(path, fd, st.st_size, why, cap)) == 0)
        rc = check_schema(path, newest_version, why, cap);
    if (fd >= 0)
        close(fd);
    return rc;
}
