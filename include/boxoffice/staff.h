/*
 * staff.h - gate staff tokens (src/order/staff.c): which token opens which
 * event's gate, kept in memory as the SHA-256 of each token (never the
 * token) with its label and times, and stored as documents of collection
 * `staff` (id: the hash in hex) through the order domain. The API's
 * check-in handlers (src/api/checkin.c) make, list and revoke them.
 *
 * A token's public id is "stt_" and the first 16 bytes of its hash in hex.
 * Any thread: one mutex, held for a walk of the list (a few dozen tokens
 * per event at most, STAFF_TOKENS_PER_EVENT in checkin.c).
 */
#ifndef BOXOFFICE_STAFF_H
#define BOXOFFICE_STAFF_H

#include <stddef.h>
#include <stdint.h>

#define BO_STAFF_NAME_MAX 100
#define BO_STAFF_ID_LEN   (4 + 32)
#define BO_STAFF_TIME_MAX 32 /* an RFC 3339 time (util/time.h BO_RFC3339_SIZE) */

/* One token as the list shows it (revoked[0] == '\0' while it is valid). */
typedef struct bo_staff_token {
    uint8_t hash[32];
    uint64_t event;
    char name[BO_STAFF_NAME_MAX + 1];
    char created[BO_STAFF_TIME_MAX];
    char revoked[BO_STAFF_TIME_MAX];
} bo_staff_token_t;

typedef struct bo_staff bo_staff_t;

/* An empty set (the caller owns it: bo_staff_free), or NULL. */
bo_staff_t *bo_staff_new(void);
void bo_staff_free(bo_staff_t *st);
/* Add a token (name, created, revoked copied; NULL: ""): 0 or BO_ENOMEM. */
int bo_staff_add(bo_staff_t *st, const uint8_t hash[32], uint64_t event, const char *name,
                 const char *created, const char *revoked);
/* A document met while the orders load (bo_orders_config_t.other_doc; arg:
 * the bo_staff_t): a `staff` one is added (BO_ECORRUPT when unreadable),
 * another collection's is ignored (a later version's). */
int bo_staff_load(void *arg, const char *coll, const char *id, const char *body, size_t len);
/* Mark the valid token of hash revoked at revoked (copied). */
void bo_staff_revoke(bo_staff_t *st, const uint8_t hash[32], const char *revoked);
/* The event a token opens, or 0 (unknown or revoked). Constant time in the
 * token. */
uint64_t bo_staff_event(bo_staff_t *st, const char *token, size_t len);
/* Tokens of event, revoked ones included. */
uint32_t bo_staff_count(bo_staff_t *st, uint64_t event);
/* fn(arg, token) for each token of event, under the set's lock (fn must
 * not call back into st). */
void bo_staff_each(bo_staff_t *st, uint64_t event, void (*fn)(void *arg, const bo_staff_token_t *t),
                   void *arg);
/* The token of event whose public id is id into *out: 1 when valid, 2
 * when revoked, 0 when there is none. */
int bo_staff_find(bo_staff_t *st, uint64_t event, const char *id, bo_staff_token_t *out);
/* The public id of hash. */
void bo_staff_id(const uint8_t hash[32], char out[BO_STAFF_ID_LEN + 1]);
/* The stored document of a token: {"event","name","created"[,"revoked"]}
 * (malloc'd text: the caller frees it; or NULL). */
char *bo_staff_doc(uint64_t event, const char *name, const char *created, const char *revoked);

#endif
