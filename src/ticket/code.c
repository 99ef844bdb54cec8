/*
 * code.c - signed ticket codes and the ticket key pair (ticket.h). A code is
 * signed once when its ticket is sold and verified once per gate scan, so
 * every call does exactly one Ed25519 operation and a few hundred byte
 * moves; codes arrive from outside (typed, pasted, scanned), so verify
 * checks the length first and reads nothing past it.
 */
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/ticket.h"
#include "util/assert.h"
#include "util/hex.h"

#define PREFIX       "BO1"
#define PREFIX_LEN   3
#define CLAIM_BYTES  32
#define BODY_BYTES   (CLAIM_BYTES + crypto_sign_BYTES) /* 96: 32 groups of 3 */
#define BODY_CHARS   (BODY_BYTES / 3 * 4)              /* 128 */
#define KEYS_TAG     "ed25519:"
#define KEYS_TAG_LEN 8

/* The code's length is the prefix and the base64url body, whole groups. */
_Static_assert(BODY_BYTES % 3 == 0, "the body is whole base64 groups: no padding");
_Static_assert(PREFIX_LEN + BODY_CHARS == BO_TICKET_CODE_LEN, "ticket.h's code length");
_Static_assert(KEYS_TAG_LEN + 2 * crypto_sign_SECRETKEYBYTES + 1 == BO_TICKET_KEYS_TEXT_MAX,
               "ticket.h's key text length");

_Static_assert(PREFIX_LEN + BODY_CHARS == BO_TICKET_CODE_LEN, "code length");
_Static_assert(BO_TICKET_CODE_LEN < BO_TICKET_CODE_MAX, "code fits its buffer");
_Static_assert(KEYS_TAG_LEN + 2 * crypto_sign_SECRETKEYBYTES + 1 == BO_TICKET_KEYS_TEXT_MAX,
               "key text size");

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_rc;

static void sodium_start(void)
{
    sodium_rc = sodium_init() < 0 ? BO_EIO : 0;
}

/* libsodium, initialised once per process. 0 or BO_EIO. */
static int sodium_ready(void)
{
    pthread_once(&sodium_once, sodium_start);
    return sodium_rc;
}

/* base64url of n bytes, no padding, into out (4n/3 rounded up chars, no
 * NUL); returns the number of characters written. */
static size_t b64_encode(char *out, const uint8_t *b, size_t n)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = B64[v >> 18];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = B64[v >> 6 & 63];
        out[o++] = B64[v & 63];
    }
    BO_ASSERT(o == n / 3 * 4);
    if (n - i == 1) {
        out[o++] = B64[b[i] >> 2];
        out[o++] = B64[(b[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)b[i] << 8 | b[i + 1];
        out[o++] = B64[v >> 10];
        out[o++] = B64[v >> 4 & 63];
        out[o++] = B64[(v & 15) << 2];
    }
    BO_ASSERT(o == (4 * n + 2) / 3); /* 4n/3 rounded up */
    return o;
}

/* The 6-bit value of a base64url character, or -1. */
static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* 4*groups base64url characters into 3*groups bytes; BO_EINVAL on any
 * character outside the alphabet. */
static int b64_decode_groups(uint8_t *out, const char *s, size_t groups)
{
    for (size_t g = 0; g < groups; g++) {
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            int d = b64_val((unsigned char)s[4 * g + (size_t)j]);
            if (d < 0)
                return BO_EINVAL;
            v = v << 6 | (uint32_t)d;
        }
        out[3 * g] = (uint8_t)(v >> 16);
        out[3 * g + 1] = (uint8_t)(v >> 8);
        out[3 * g + 2] = (uint8_t)v;
    }
    return 0;
}

static void put_be(uint8_t *b, uint64_t v, int bytes)
{
    BO_ASSERT(bytes == 8 || (bytes == 4 && v <= UINT32_MAX));
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *b, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | b[i];
    return v;
}

/* A GA ticket names an area and no seat; a seated one names no area. */
static int claim_ok(const bo_ticket_claim_t *c)
{
    return c->seat == BO_TICKET_GA || c->ga_area == 0;
}

/* The signed message: the prefix (the version), then the claim bytes. */
static void message(uint8_t m[PREFIX_LEN + CLAIM_BYTES], const bo_ticket_claim_t *c)
{
    memcpy(m, PREFIX, PREFIX_LEN);
    uint8_t *b = m + PREFIX_LEN;
    put_be(b, c->ticket, 8);
    put_be(b + 8, c->event, 8);
    put_be(b + 16, c->order, 8);
    put_be(b + 24, c->seat, 4);
    put_be(b + 28, c->ga_area, 4);
}

static void claim_from(bo_ticket_claim_t *c, const uint8_t b[CLAIM_BYTES])
{
    c->ticket = get_be(b, 8);
    c->event = get_be(b + 8, 8);
    c->order = get_be(b + 16, 8);
    c->seat = (uint32_t)get_be(b + 24, 4);
    c->ga_area = (uint32_t)get_be(b + 28, 4);
}

int bo_ticket_keys_new(bo_ticket_keys_t *k)
{
    if (sodium_ready())
        return BO_EIO;
    crypto_sign_keypair(k->pk, k->sk);
    return 0;
}

int bo_ticket_keys_format(const bo_ticket_keys_t *k, char *out, size_t cap)
{
    if (!out || cap < BO_TICKET_KEYS_TEXT_MAX)
        return BO_EINVAL;
    memcpy(out, KEYS_TAG, KEYS_TAG_LEN);
    char *end = bo_hex_encode(out + KEYS_TAG_LEN, k->sk, sizeof k->sk);
    *end = '\0';
    BO_ASSERT(end - out == BO_TICKET_KEYS_TEXT_MAX - 1);
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int bo_ticket_keys_parse(const char *text, size_t len, bo_ticket_keys_t *k)
{
    uint8_t seed_pk[crypto_sign_PUBLICKEYBYTES], seed_sk[crypto_sign_SECRETKEYBYTES];
    int rc = BO_EINVAL;
    memset(k, 0, sizeof *k);
    while (text && len > 0 && is_blank(text[len - 1]))
        len--;
    if (!text || len != BO_TICKET_KEYS_TEXT_MAX - 1 || memcmp(text, KEYS_TAG, KEYS_TAG_LEN) != 0)
        return BO_EINVAL;
    if (sodium_ready())
        return BO_EIO;
    if (bo_hex_decode(text + KEYS_TAG_LEN, k->sk, sizeof k->sk, 1))
        goto out;
    /* The pk half of sk must be the one its seed (the first half) makes. */
    crypto_sign_seed_keypair(seed_pk, seed_sk, k->sk);
    if (sodium_memcmp(seed_pk, k->sk + 32, sizeof seed_pk) != 0)
        goto out;
    memcpy(k->pk, seed_pk, sizeof k->pk);
    rc = 0;
out:
    sodium_memzero(seed_sk, sizeof seed_sk);
    if (rc)
        sodium_memzero(k, sizeof *k);
    return rc;
}

int bo_ticket_pk_b64(const uint8_t pk[32], char *out, size_t cap)
{
    if (!out || cap < BO_TICKET_PK_B64_LEN + 1)
        return BO_EINVAL;
    size_t n = b64_encode(out, pk, crypto_sign_PUBLICKEYBYTES);
    BO_ASSERT(n == BO_TICKET_PK_B64_LEN);
    out[n] = '\0';
    return 0;
}

int bo_ticket_sign(const bo_ticket_keys_t *k, const bo_ticket_claim_t *c, char *code, size_t cap)
{
    uint8_t m[PREFIX_LEN + CLAIM_BYTES], body[BODY_BYTES];
    BO_ASSERT(k != NULL && c != NULL);
    if (!code || cap < BO_TICKET_CODE_LEN + 1 || !claim_ok(c))
        return BO_EINVAL;
    if (sodium_ready())
        return BO_EIO;
    message(m, c);
    memcpy(body, m + PREFIX_LEN, CLAIM_BYTES);
    crypto_sign_detached(body + CLAIM_BYTES, NULL, m, sizeof m, k->sk);
    memcpy(code, PREFIX, PREFIX_LEN);
    size_t n = PREFIX_LEN + b64_encode(code + PREFIX_LEN, body, sizeof body);
    BO_ASSERT(n == BO_TICKET_CODE_LEN); /* every code has the one length verify accepts */
    code[n] = '\0';
    return BO_TICKET_CODE_LEN;
}

int bo_ticket_verify(const uint8_t pk[32], const char *code, size_t len, bo_ticket_claim_t *c)
{
    uint8_t m[PREFIX_LEN + CLAIM_BYTES], body[BODY_BYTES];
    bo_ticket_claim_t claim;
    BO_ASSERT(pk != NULL && c != NULL);
    if (!code || len != BO_TICKET_CODE_LEN || memcmp(code, PREFIX, PREFIX_LEN) != 0 ||
        b64_decode_groups(body, code + PREFIX_LEN, BODY_CHARS / 4))
        return BO_EINVAL;
    claim_from(&claim, body);
    if (!claim_ok(&claim))
        return BO_EINVAL;
    if (sodium_ready())
        return BO_EIO;
    memcpy(m, PREFIX, PREFIX_LEN);
    memcpy(m + PREFIX_LEN, body, CLAIM_BYTES);
    if (crypto_sign_verify_detached(body + CLAIM_BYTES, m, sizeof m, pk) != 0)
        return BO_ESIGNATURE;
    *c = claim;
    return 0;
}
