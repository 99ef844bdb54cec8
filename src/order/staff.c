/*
 * staff.c - gate staff tokens (boxoffice/staff.h): a list of each token's
 * hash, event, label and times behind one mutex, filled from the stored
 * `staff` documents at start and by the check-in handlers' commits.
 *
 * Workload: a scan looks its token up (one pass over the list, comparing
 * every hash in constant time); makes and revocations are rare admin
 * calls. Tokens are a few dozen per event (checkin.c
 * STAFF_TOKENS_PER_EVENT), so a list is enough.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "boxoffice/error.h"
#include "boxoffice/staff.h"
#include "util/time.h"

_Static_assert(BO_STAFF_TIME_MAX == BO_RFC3339_SIZE, "a token's times are RFC 3339 text");

struct item {
    bo_staff_token_t t;
    struct item *next;
};

struct bo_staff {
    pthread_mutex_t mu;
    struct item *head; /* under mu, newest first */
};

bo_staff_t *bo_staff_new(void)
{
    bo_staff_t *st = calloc(1, sizeof(*st));
    if (st)
        pthread_mutex_init(&st->mu, NULL);
    return st;
}

void bo_staff_free(bo_staff_t *st)
{
    if (!st)
        return;
    while (st->head) {
        struct item *s = st->head;
        st->head = s->next;
        free(s);
    }
    pthread_mutex_destroy(&st->mu);
    free(st);
}

void bo_staff_id(const uint8_t hash[32], char out[BO_STAFF_ID_LEN + 1])
{
    memcpy(out, "stt_", 4);
    sodium_bin2hex(out + 4, 33, hash, 16);
}

int bo_staff_add(bo_staff_t *st, const uint8_t hash[32], uint64_t event, const char *name,
                 const char *created, const char *revoked)
{
    struct item *s = calloc(1, sizeof(*s));
    if (!s)
        return BO_ENOMEM;
    memcpy(s->t.hash, hash, 32);
    s->t.event = event;
    snprintf(s->t.name, sizeof(s->t.name), "%s", name ? name : "");
    snprintf(s->t.created, sizeof(s->t.created), "%s", created ? created : "");
    snprintf(s->t.revoked, sizeof(s->t.revoked), "%s", revoked ? revoked : "");
    pthread_mutex_lock(&st->mu);
    s->next = st->head;
    st->head = s;
    pthread_mutex_unlock(&st->mu);
    return 0;
}

int bo_staff_load(void *arg, const char *coll, const char *id, const char *body, size_t len)
{
    if (strcmp(coll, "staff") == 0) {
        uint8_t hash[32];
        json_t *j = json_loadb(body, len, 0, NULL);
        json_int_t event = json_integer_value(json_object_get(j, "event"));
        int rc = BO_ECORRUPT;
        if (!sodium_hex2bin(hash, 32, id, strlen(id), NULL, NULL, NULL) && event)
            rc = bo_staff_add(arg, hash, (uint64_t)event,
                              json_string_value(json_object_get(j, "name")),
                              json_string_value(json_object_get(j, "created")),
                              json_string_value(json_object_get(j, "revoked")));
        json_decref(j);
        return rc;
    }
    return 0; /* a collection of a later version: kept, unused */
}

void bo_staff_revoke(bo_staff_t *st, const uint8_t hash[32], const char *revoked)
{
    pthread_mutex_lock(&st->mu);
    for (struct item *s = st->head; s; s = s->next)
        if (!memcmp(s->t.hash, hash, 32) && !s->t.revoked[0])
            snprintf(s->t.revoked, sizeof(s->t.revoked), "%s", revoked);
    pthread_mutex_unlock(&st->mu);
}

uint64_t bo_staff_event(bo_staff_t *st, const char *token, size_t len)
{
    uint8_t h[32];
    uint64_t event = 0;
    crypto_hash_sha256(h, (const uint8_t *)token, len);
    pthread_mutex_lock(&st->mu);
    for (struct item *s = st->head; s; s = s->next)
        if (sodium_memcmp(s->t.hash, h, 32) == 0 && !s->t.revoked[0])
            event = s->t.event;
    pthread_mutex_unlock(&st->mu);
    return event;
}

uint32_t bo_staff_count(bo_staff_t *st, uint64_t event)
{
    uint32_t n = 0;
    pthread_mutex_lock(&st->mu);
    for (struct item *s = st->head; s; s = s->next)
        n += s->t.event == event;
    pthread_mutex_unlock(&st->mu);
    return n;
}

void bo_staff_each(bo_staff_t *st, uint64_t event, void (*fn)(void *arg, const bo_staff_token_t *t),
                   void *arg)
{
    pthread_mutex_lock(&st->mu);
    for (struct item *s = st->head; s; s = s->next)
        if (s->t.event == event)
            fn(arg, &s->t);
    pthread_mutex_unlock(&st->mu);
}

int bo_staff_find(bo_staff_t *st, uint64_t event, const char *id, bo_staff_token_t *out)
{
    char tid[BO_STAFF_ID_LEN + 1];
    int found = 0; /* 1: valid, 2: already revoked */
    pthread_mutex_lock(&st->mu);
    for (struct item *s = st->head; s && !found; s = s->next) {
        bo_staff_id(s->t.hash, tid);
        if (s->t.event != event || !id || strcmp(tid, id) != 0)
            continue;
        found = s->t.revoked[0] ? 2 : 1;
        *out = s->t;
    }
    pthread_mutex_unlock(&st->mu);
    return found;
}

char *bo_staff_doc(uint64_t event, const char *name, const char *created, const char *revoked)
{
    json_t *doc =
        json_pack("{sIssss}", "event", (json_int_t)event, "name", name, "created", created);
    if (doc && revoked && revoked[0])
        json_object_set_new(doc, "revoked", json_string(revoked));
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}
