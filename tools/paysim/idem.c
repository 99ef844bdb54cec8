/*
 * idem.c - Idempotency-Key results, as Stripe keeps them: the first POST
 * with a key runs and its answer (status and body) is saved with a
 * fingerprint of the call (method, path, parameters); a later POST with the
 * same key and fingerprint gets that very answer again, one with the same
 * key and another fingerprint is refused. Results live 24 hours.
 *
 * Workload: one lookup per POST that carries a key (boxoffice sends one on
 * every POST). Results are kept in creation order, which is also expiry
 * order (one TTL for all), so expiring is popping the oldest; past
 * PS_IDEM_MAX results the oldest go early. The caller holds ps->mu.
 */
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "paysim.h"

typedef struct entry {
    ps_node_t node;
    struct entry *newer;
    char *key;
    unsigned char fp[32];
    int status;
    char *body;
    size_t len;
    int64_t created_s;
} entry_t;

struct ps_idem {
    ps_table_t table;
    entry_t *oldest, *newest;
};

int ps_idem_new(ps_idem_t **out)
{
    ps_idem_t *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (!d || ps_table_init(&d->table)) {
        free(d);
        return BO_ENOMEM;
    }
    *out = d;
    return 0;
}

static void drop_oldest(ps_idem_t *d)
{
    entry_t *e = d->oldest;
    d->oldest = e->newer;
    if (!d->oldest)
        d->newest = NULL;
    ps_table_del(&d->table, &e->node);
    free(e->key);
    free(e->body);
    free(e);
}

void ps_idem_free(ps_idem_t *d)
{
    if (!d)
        return;
    while (d->oldest)
        drop_oldest(d);
    ps_table_free(&d->table);
    free(d);
}

static void expire(ps_idem_t *d)
{
    int64_t now = ps_unix_s();
    while (d->oldest && (d->oldest->created_s + PS_IDEM_TTL_S <= now || d->table.n > PS_IDEM_MAX))
        drop_oldest(d);
}

int ps_idem_get(ps_idem_t *d, const char *key, const unsigned char fp[32], int *status, char **body,
                size_t *len)
{
    expire(d);
    ps_node_t *n = ps_table_get(&d->table, key);
    if (!n)
        return 0;
    entry_t *e = PS_CONTAINER(n, entry_t, node);
    if (memcmp(e->fp, fp, sizeof(e->fp)))
        return -1;
    *body = malloc(e->len + 1);
    if (!*body)
        return 0; /* out of memory: the call runs again, as if unknown */
    memcpy(*body, e->body, e->len + 1);
    *len = e->len;
    *status = e->status;
    return 1;
}

int ps_idem_put(ps_idem_t *d, const char *key, const unsigned char fp[32], int status,
                const char *body, size_t len)
{
    if (d->table.n >= PS_IDEM_MAX)
        drop_oldest(d);
    entry_t *e = calloc(1, sizeof(*e));
    if (!e || !(e->key = strdup(key)) || !(e->body = malloc(len + 1))) {
        if (e)
            free(e->key);
        free(e);
        return BO_ENOMEM;
    }
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    e->len = len;
    e->status = status;
    memcpy(e->fp, fp, sizeof(e->fp));
    e->created_s = ps_unix_s();
    e->node.key = e->key;
    ps_table_put(&d->table, &e->node);
    if (d->newest)
        d->newest->newer = e;
    else
        d->oldest = e;
    d->newest = e;
    return 0;
}

size_t ps_idem_count(const ps_idem_t *d)
{
    return d->table.n;
}
