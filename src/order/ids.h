/*
 * ids.h - the API's opaque ids (here, below src/api/, since orders render
 * them too): "evt_" and "ven_" + 16 lowercase hex digits of the internal
 * 64-bit id; "hold_" + 16 hex of the event + 32 hex of the
 * hold's 128 random bits (the buyer's capability: unguessable, and it names
 * its event so a hold is found without a global index).
 */
#ifndef BOXOFFICE_ORDER_IDS_H
#define BOXOFFICE_ORDER_IDS_H

#include <stdint.h>

#include "boxoffice/engine.h"

#define BO_ID_EVENT_LEN  20 /* "evt_" + 16 */
#define BO_ID_VENUE_LEN  20
#define BO_ID_HOLD_LEN   53 /* "hold_" + 48 */
#define BO_ID_ORDER_LEN  20 /* "ord_" + 16 */
#define BO_ID_TICKET_LEN 20

/* Write the id, NUL-terminated, into out (LEN + 1 bytes). */
void bo_id_event(char out[BO_ID_EVENT_LEN + 1], uint64_t event);
void bo_id_venue(char out[BO_ID_VENUE_LEN + 1], uint64_t venue);
void bo_id_hold(char out[BO_ID_HOLD_LEN + 1], uint64_t event, const bo_hold_id_t *hold);
void bo_id_order(char out[BO_ID_ORDER_LEN + 1], uint64_t order);
void bo_id_ticket(char out[BO_ID_TICKET_LEN + 1], uint64_t ticket);
/* Parse an id; 0, or BO_ENOTFOUND for anything malformed (an id that cannot
 * exist names nothing). */
int bo_id_parse_event(const char *s, uint64_t *event);
int bo_id_parse_venue(const char *s, uint64_t *venue);
int bo_id_parse_hold(const char *s, uint64_t *event, bo_hold_id_t *hold);
int bo_id_parse_order(const char *s, uint64_t *order);
int bo_id_parse_ticket(const char *s, uint64_t *ticket);
/* A fresh random nonzero 63-bit id (libsodium). */
uint64_t bo_id_random(void);
/* A fresh random hold id. */
void bo_id_random_hold(bo_hold_id_t *hold);
/* The id that an idempotent create derives from its key (so a retry finds
 * what the first attempt made): nonzero, 63 bits, keyed hash. */
uint64_t bo_id_from_key(const char *scope, const char *key);

#endif
