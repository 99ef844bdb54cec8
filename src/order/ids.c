/*
 * ids.c - formatting and parsing the API's ids (ids.h). Every request parses
 * one or two; all of it is a few dozen instructions.
 */
#include <sodium.h>
#include <string.h>

#include "order/ids.h"
#include "boxoffice/error.h"
#include "util/hex.h"

static void u64_be(uint8_t b[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

static void prefixed(char *out, const char *prefix, uint64_t v)
{
    uint8_t b[8];
    u64_be(b, v);
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    *bo_hex_encode(out + n, b, 8) = '\0';
}

void bo_id_event(char out[BO_ID_EVENT_LEN + 1], uint64_t event)
{
    prefixed(out, "evt_", event);
}

void bo_id_venue(char out[BO_ID_VENUE_LEN + 1], uint64_t venue)
{
    prefixed(out, "ven_", venue);
}

void bo_id_order(char out[BO_ID_ORDER_LEN + 1], uint64_t order)
{
    prefixed(out, "ord_", order);
}

void bo_id_ticket(char out[BO_ID_TICKET_LEN + 1], uint64_t ticket)
{
    prefixed(out, "tkt_", ticket);
}

void bo_id_hold(char out[BO_ID_HOLD_LEN + 1], uint64_t event, const bo_hold_id_t *hold)
{
    prefixed(out, "hold_", event);
    *bo_hex_encode(out + 21, hold->b, 16) = '\0';
}

static int parse_prefixed(const char *s, const char *prefix, size_t total, uint64_t *out)
{
    size_t n = strlen(prefix);
    uint8_t b[8];
    if (!s || strlen(s) != total || strncmp(s, prefix, n) != 0 || bo_hex_decode(s + n, b, 8, 0))
        return BO_ENOTFOUND;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    *out = v;
    return v ? 0 : BO_ENOTFOUND;
}

int bo_id_parse_event(const char *s, uint64_t *event)
{
    return parse_prefixed(s, "evt_", BO_ID_EVENT_LEN, event);
}

int bo_id_parse_venue(const char *s, uint64_t *venue)
{
    return parse_prefixed(s, "ven_", BO_ID_VENUE_LEN, venue);
}

int bo_id_parse_hold(const char *s, uint64_t *event, bo_hold_id_t *hold)
{
    char head[22];
    if (!s || strlen(s) != BO_ID_HOLD_LEN)
        return BO_ENOTFOUND;
    memcpy(head, s, 21);
    head[21] = '\0';
    if (parse_prefixed(head, "hold_", 21, event))
        return BO_ENOTFOUND;
    return bo_hex_decode(s + 21, hold->b, 16, 0) ? BO_ENOTFOUND : 0;
}

uint64_t bo_id_random(void)
{
    uint64_t v = 0;
    while (v == 0) {
        randombytes_buf(&v, sizeof(v));
        v &= INT64_MAX;
    }
    return v;
}

/* Hold ids are made on the hot path (one per hold): 16 bytes at a time of a
 * per-thread ChaCha20 keystream under a random key, made 512 bytes (32 ids)
 * at a time with a fresh nonce each, instead of a getrandom() system call,
 * or a cipher call of ~1,000 instructions, per id. */
void bo_id_random_hold(bo_hold_id_t *hold)
{
    static _Thread_local uint8_t key[crypto_stream_chacha20_KEYBYTES];
    static _Thread_local uint8_t stream[32 * sizeof(hold->b)];
    static _Thread_local size_t used = sizeof(stream);
    static _Thread_local uint64_t refills;
    static _Thread_local int seeded;
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    if (!seeded) {
        randombytes_buf(key, sizeof(key));
        seeded = 1;
    }
    if (used == sizeof(stream)) {
        memcpy(nonce, &refills, sizeof(nonce));
        refills++;
        crypto_stream_chacha20(stream, sizeof(stream), nonce, key);
        used = 0;
    }
    memcpy(hold->b, stream + used, sizeof(hold->b));
    sodium_memzero(stream + used, sizeof(hold->b)); /* an id handed out is not kept here */
    used += sizeof(hold->b);
}

uint64_t bo_id_from_key(const char *scope, const char *key)
{
    uint8_t out[8];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(out));
    crypto_generichash_update(&st, (const uint8_t *)scope, strlen(scope) + 1);
    crypto_generichash_update(&st, (const uint8_t *)key, strlen(key));
    crypto_generichash_final(&st, out, sizeof(out));
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | out[i];
    v &= INT64_MAX;
    return v ? v : 1;
}

int bo_id_parse_order(const char *s, uint64_t *order)
{
    return parse_prefixed(s, "ord_", BO_ID_ORDER_LEN, order);
}

int bo_id_parse_ticket(const char *s, uint64_t *ticket)
{
    return parse_prefixed(s, "tkt_", BO_ID_TICKET_LEN, ticket);
}
