/*
 * table.c - a string-keyed hash table whose nodes live inside the objects
 * they index (intents, charges, refunds, payment methods, idempotency
 * results), so a lookup allocates nothing and an object is one allocation.
 *
 * Workload: up to a few million keys, every API call does one or two
 * lookups. Keys come from outside (ids in paths, Idempotency-Keys), so the
 * hash is SipHash with a random key (libsodium's crypto_shorthash): nobody
 * can aim keys at one bucket. Buckets double when the load passes 1.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "boxoffice/error.h"
#include "paysim.h"

#define INITIAL_BUCKETS 1024u

static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
    randombytes_buf(hash_key, sizeof(hash_key));
}

static uint64_t hash_of(const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, (const unsigned char *)key, strlen(key), hash_key);
    memcpy(&h, out, sizeof(h));
    return h;
}

int ps_table_init(ps_table_t *t)
{
    pthread_once(&hash_key_once, hash_key_init);
    t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
    t->mask = INITIAL_BUCKETS - 1;
    t->n = 0;
    return t->buckets ? 0 : BO_ENOMEM;
}

ps_node_t *ps_table_get(const ps_table_t *t, const char *key)
{
    for (ps_node_t *n = t->buckets[hash_of(key) & t->mask]; n; n = n->next)
        if (!strcmp(n->key, key))
            return n;
    return NULL;
}

/* Double the buckets; on failure keep the old ones (longer chains). */
static void grow(ps_table_t *t)
{
    size_t nb = (t->mask + 1) * 2;
    ps_node_t **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        ps_node_t *n = t->buckets[i];
        while (n) {
            ps_node_t *next = n->next;
            size_t j = hash_of(n->key) & (nb - 1);
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = nb - 1;
}

int ps_table_put(ps_table_t *t, ps_node_t *node)
{
    if (t->n > t->mask)
        grow(t);
    ps_node_t **slot = &t->buckets[hash_of(node->key) & t->mask];
    node->next = *slot;
    *slot = node;
    t->n++;
    return 0;
}

void ps_table_del(ps_table_t *t, ps_node_t *node)
{
    for (ps_node_t **p = &t->buckets[hash_of(node->key) & t->mask]; *p; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            t->n--;
            return;
        }
    }
}

void ps_table_free(ps_table_t *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->mask = t->n = 0;
}
