/*
 * ticket.h - signed ticket codes and their QR images.
 *
 * A ticket code carries its claim (ticket, event, order, seat) and an
 * Ed25519 signature over it, so a gate scanner holding only the public key
 * can check it offline. Codes are made once per sold ticket and checked once
 * per scan: a few per second at a busy gate, so each call simply does its
 * one signature operation.
 *
 * Code layout (version 1), always BO_TICKET_CODE_LEN (131) characters:
 *
 *     "BO1" || base64url(claim || sig)        (RFC 4648 section 5, no '=')
 *
 *     claim  32 bytes, integers big-endian:
 *            ticket u64 | event u64 | order u64 | seat u32 | ga_area u32
 *     sig    64 bytes: Ed25519 over the message "BO1" || claim
 *
 * The 96 bytes encode to exactly 128 base64url characters, with no spare
 * bits, so every byte string has one spelling. The "BO1" prefix is the
 * version and is signed with the claim: a code cannot be moved to another
 * seat, event, order or format version. The alphabet is [A-Za-z0-9_-]
 * (URL, filename and QR friendly).
 */
#ifndef BOXOFFICE_TICKET_H
#define BOXOFFICE_TICKET_H

#include <stddef.h>
#include <stdint.h>

#define BO_TICKET_CODE_MAX      160        /* bytes of a code, NUL included */
#define BO_TICKET_CODE_LEN      131        /* characters of a version 1 code */
#define BO_TICKET_GA            UINT32_MAX /* claim.seat of a GA ticket */
#define BO_TICKET_KEYS_TEXT_MAX 137        /* "ed25519:" + 128 hex + NUL */
#define BO_TICKET_PK_B64_LEN    43         /* base64url of a public key */
#define BO_TICKET_QR_TEXT_MAX   2331       /* 8-bit bytes of a version 40-M QR code */

typedef struct bo_ticket_keys {
    uint8_t pk[32];
    uint8_t sk[64]; /* libsodium layout: seed (32) then pk (32) */
} bo_ticket_keys_t;

typedef struct bo_ticket_claim {
    uint64_t ticket;  /* ticket id (the number behind "tkt_" + 16 hex) */
    uint64_t event;   /* event id (behind "evt_") */
    uint64_t order;   /* order id (behind "ord_") */
    uint32_t seat;    /* layout seat index, or BO_TICKET_GA */
    uint32_t ga_area; /* GA area index when seat == BO_TICKET_GA, else 0 */
} bo_ticket_claim_t;

/* A fresh key pair (libsodium crypto_sign_keypair). Returns 0, or BO_EIO
 * when libsodium cannot initialise. */
int bo_ticket_keys_new(bo_ticket_keys_t *k);

/*
 * Keys as text for storage: "ed25519:" + 128 lowercase hex digits of sk (the
 * sk holds the pk), NUL-terminated. out must hold BO_TICKET_KEYS_TEXT_MAX
 * bytes (cap). Returns 0, or BO_EINVAL when cap is too small. The text is
 * secret: the caller wipes it (sodium_memzero) when done.
 */
int bo_ticket_keys_format(const bo_ticket_keys_t *k, char *out, size_t cap);

/*
 * Parse len bytes of text written by bo_ticket_keys_format (hex digits of
 * either case; trailing spaces, tabs and newlines are ignored, so a key file
 * may end with a newline). The pk inside must be the one the seed makes.
 * Returns 0 and *k, or BO_EINVAL (BO_EIO if libsodium cannot initialise);
 * on failure *k is zeroed.
 */
int bo_ticket_keys_parse(const char *text, size_t len, bo_ticket_keys_t *k);

/* The public key as base64url without padding (BO_TICKET_PK_B64_LEN chars)
 * and a NUL, for scanners. Returns 0, or BO_EINVAL when cap < 44. */
int bo_ticket_pk_b64(const uint8_t pk[32], char *out, size_t cap);

/*
 * Sign claim c into code (the layout above), NUL-terminated. Returns the
 * length (BO_TICKET_CODE_LEN), or BO_EINVAL when cap is too small or the
 * claim breaks the GA rule (seat != BO_TICKET_GA with ga_area != 0), or
 * BO_EIO if libsodium cannot initialise. The same keys and claim always give
 * the same code.
 */
int bo_ticket_sign(const bo_ticket_keys_t *k, const bo_ticket_claim_t *c, char *code, size_t cap);

/*
 * Verify len bytes of code (outside input: any bytes, any length; code may
 * be NULL when len is 0; nothing past len is read) with public key pk.
 * Returns 0 and *c; BO_EINVAL when the code is malformed (length, prefix or
 * version, alphabet, the GA rule); BO_ESIGNATURE when it is well formed but
 * its signature does not verify with pk (forged, altered, or another key's);
 * BO_EIO if libsodium cannot initialise.
 * *c is written only on success. The event is not checked: the caller
 * compares c->event with the event it admits to.
 */
int bo_ticket_verify(const uint8_t pk[32], const char *code, size_t len, bo_ticket_claim_t *c);

/*
 * An SVG document of a QR code (8-bit mode, error correction level M, the
 * smallest version that fits) encoding len bytes of text: viewBox in
 * modules ("0 0 N N", N = QR width + 8 for a white quiet zone of 4 modules
 * each side), a white background, the black modules as one <path>,
 * shape-rendering crispEdges; it starts with "<svg" and ends with "</svg>\n".
 * On success *svg is malloc'd and NUL-terminated (you now own it: free()),
 * *svg_len its length. Returns 0, BO_EINVAL (empty text or more than
 * BO_TICKET_QR_TEXT_MAX bytes), or BO_ENOMEM; *svg is NULL on failure.
 */
int bo_ticket_qr_svg(const char *text, size_t len, char **svg, size_t *svg_len);

#endif
