/*
 * test_ticket.c - ticket codes and QR images (boxoffice/ticket.h): round
 * trips, the exact layout checked against libsodium's own base64 and
 * Ed25519, every alteration and truncation of a code refused, key text, and
 * the QR SVG redrawn module by module against libqrencode.
 */
#include <criterion/criterion.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/ticket.h"

static const bo_ticket_claim_t SEATED = {.ticket = 0x0123456789abcdefull,
                                         .event = 0x1111222233334444ull,
                                         .order = 0x5555666677778888ull,
                                         .seat = 4242,
                                         .ga_area = 0};
static const bo_ticket_claim_t GA = {
    .ticket = 7, .event = 8, .order = 9, .seat = BO_TICKET_GA, .ga_area = 3};

/* Keys from the seed 0, 1, ..., 31 (plus delta), so failures reproduce. */
static void seeded_keys(bo_ticket_keys_t *k, uint8_t delta)
{
    uint8_t seed[32];
    cr_assert_geq(sodium_init(), 0);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i + delta);
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

static void assert_claim_eq(const bo_ticket_claim_t *a, const bo_ticket_claim_t *b)
{
    cr_assert_eq(a->ticket, b->ticket);
    cr_assert_eq(a->event, b->event);
    cr_assert_eq(a->order, b->order);
    cr_assert_eq(a->seat, b->seat);
    cr_assert_eq(a->ga_area, b->ga_area);
}

static int in_alphabet(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

static void sign_ok(const bo_ticket_keys_t *k, const bo_ticket_claim_t *c, char *code)
{
    cr_assert_eq(bo_ticket_sign(k, c, code, BO_TICKET_CODE_MAX), BO_TICKET_CODE_LEN);
    cr_assert_eq(strlen(code), BO_TICKET_CODE_LEN);
}

Test(ticket, sign_verify_round_trip)
{
    bo_ticket_keys_t k;
    bo_ticket_claim_t out;
    char code[BO_TICKET_CODE_MAX], again[BO_TICKET_CODE_MAX];
    cr_assert_eq(bo_ticket_keys_new(&k), 0);
    const bo_ticket_claim_t *claims[] = {&SEATED, &GA};
    for (int i = 0; i < 2; i++) {
        sign_ok(&k, claims[i], code);
        cr_assert_eq(strncmp(code, "BO1", 3), 0);
        for (size_t j = 0; j < BO_TICKET_CODE_LEN; j++)
            cr_assert(in_alphabet(code[j]), "byte %zu: %c", j, code[j]);
        memset(&out, 0xa5, sizeof out);
        cr_assert_eq(bo_ticket_verify(k.pk, code, strlen(code), &out), 0);
        assert_claim_eq(&out, claims[i]);
        sign_ok(&k, claims[i], again);
        cr_assert_str_eq(code, again, "signing is deterministic");
    }
}

Test(ticket, sign_refuses_small_buffers_and_bad_claims)
{
    bo_ticket_keys_t k;
    char code[BO_TICKET_CODE_MAX];
    seeded_keys(&k, 0);
    cr_assert_eq(bo_ticket_sign(&k, &SEATED, code, BO_TICKET_CODE_LEN), BO_EINVAL);
    cr_assert_eq(bo_ticket_sign(&k, &SEATED, code, BO_TICKET_CODE_LEN + 1), BO_TICKET_CODE_LEN);
    cr_assert_eq(bo_ticket_sign(&k, &SEATED, NULL, 0), BO_EINVAL);
    bo_ticket_claim_t bad = SEATED;
    bad.ga_area = 1;
    cr_assert_eq(bo_ticket_sign(&k, &bad, code, sizeof code), BO_EINVAL, "a seat and a GA area");
    bad = GA;
    bad.ga_area = 0;
    cr_assert_eq(bo_ticket_sign(&k, &bad, code, sizeof code), BO_TICKET_CODE_LEN, "GA area 0");
}

/* The layout of ticket.h, checked with libsodium's own base64url decoder
 * and Ed25519 verifier rather than the module's. */
Test(ticket, layout_is_prefix_and_base64url_of_claim_and_signature)
{
    bo_ticket_keys_t k;
    char code[BO_TICKET_CODE_MAX];
    uint8_t body[96], msg[35];
    size_t n;
    const char *end;
    seeded_keys(&k, 0);
    sign_ok(&k, &SEATED, code);
    cr_assert_eq(sodium_base642bin(body, sizeof body, code + 3, 128, NULL, &n, &end,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                 0);
    cr_assert_eq(n, 96);
    cr_assert_eq(end, code + BO_TICKET_CODE_LEN);
    static const uint8_t claim[32] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                      0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44,
                                      0x55, 0x55, 0x66, 0x66, 0x77, 0x77, 0x88, 0x88,
                                      0x00, 0x00, 0x10, 0x92, 0x00, 0x00, 0x00, 0x00};
    cr_assert_eq(memcmp(body, claim, 32), 0);
    memcpy(msg, "BO1", 3);
    memcpy(msg + 3, claim, 32);
    cr_assert_eq(crypto_sign_verify_detached(body + 32, msg, sizeof msg, k.pk), 0);
    cr_assert_neq(crypto_sign_verify_detached(body + 32, msg + 3, 32, k.pk), 0,
                  "the version is signed too");
}

/* A fixed code: scanners in the field depend on this exact text. */
Test(ticket, known_answer)
{
    bo_ticket_keys_t k;
    bo_ticket_claim_t out;
    char code[BO_TICKET_CODE_MAX];
    static const char *want =
        "BO1AAAAAAAAAAcAAAAAAAAACAAAAAAAAAAJ_____wAAAAMKH2GEMuJnrl-dggaDV5gZDD9pDC_"
        "J37jONy53sJjpGE5l2MAWt1BkVGs-wfC6cOhzpCkS-PgU3AUtIj4xnSoH";
    seeded_keys(&k, 0);
    sign_ok(&k, &GA, code);
    cr_assert_str_eq(code, want);
    cr_assert_eq(bo_ticket_verify(k.pk, want, strlen(want), &out), 0);
    assert_claim_eq(&out, &GA);
}

Test(ticket, every_bit_flip_is_refused)
{
    bo_ticket_keys_t k;
    bo_ticket_claim_t out;
    char code[BO_TICKET_CODE_MAX], bad[BO_TICKET_CODE_MAX];
    seeded_keys(&k, 0);
    const bo_ticket_claim_t *claims[] = {&SEATED, &GA};
    for (int c = 0; c < 2; c++) {
        sign_ok(&k, claims[c], code);
        for (size_t i = 0; i < BO_TICKET_CODE_LEN; i++) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(bad, code, sizeof bad);
                bad[i] = (char)(bad[i] ^ (1 << bit));
                int rc = bo_ticket_verify(k.pk, bad, BO_TICKET_CODE_LEN, &out);
                if (i < 3 || !in_alphabet(bad[i]))
                    cr_assert_eq(rc, BO_EINVAL, "claim %d byte %zu bit %d", c, i, bit);
                else
                    cr_assert(rc == BO_ESIGNATURE || rc == BO_EINVAL,
                              "claim %d byte %zu bit %d: %d", c, i, bit, rc);
            }
        }
    }
}

Test(ticket, every_truncation_and_extension_is_refused)
{
    bo_ticket_keys_t k;
    bo_ticket_claim_t out;
    char code[BO_TICKET_CODE_MAX + 8];
    seeded_keys(&k, 0);
    sign_ok(&k, &SEATED, code);
    for (size_t len = 0; len < BO_TICKET_CODE_LEN; len++) {
        cr_assert_eq(bo_ticket_verify(k.pk, code, len, &out), BO_EINVAL, "prefix %zu", len);
        cr_assert_eq(bo_ticket_verify(k.pk, code + BO_TICKET_CODE_LEN - len, len, &out), BO_EINVAL,
                     "suffix %zu", len);
    }
    cr_assert_eq(bo_ticket_verify(k.pk, code, BO_TICKET_CODE_LEN + 1, &out), BO_EINVAL,
                 "with its NUL");
    static const char *tails[] = {"A", "=", "\n", " ", ".", "AAAA"};
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        sign_ok(&k, &SEATED, code);
        strcat(code, tails[t]);
        cr_assert_eq(bo_ticket_verify(k.pk, code, strlen(code), &out), BO_EINVAL, "tail %zu", t);
    }
    cr_assert_eq(bo_ticket_verify(k.pk, NULL, 0, &out), BO_EINVAL);
    cr_assert_eq(bo_ticket_verify(k.pk, "", 0, &out), BO_EINVAL);
    size_t big = 1 << 20;
    char *huge = malloc(big);
    cr_assert_not_null(huge);
    memset(huge, 'A', big);
    memcpy(huge, "BO1", 3);
    cr_assert_eq(bo_ticket_verify(k.pk, huge, big, &out), BO_EINVAL);
    free(huge);
}

Test(ticket, wrong_version_and_case_are_malformed)
{
    bo_ticket_keys_t k;
    bo_ticket_claim_t out;
    char code[BO_TICKET_CODE_MAX];
    seeded_keys(&k, 0);
    static const char *prefixes[] = {"BO2", "BO0", "bo1", "Bo1", "BO_", "XO1"};
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        sign_ok(&k, &SEATED, code);
        memcpy(code, prefixes[p], 3);
        cr_assert_eq(bo_ticket_verify(k.pk, code, BO_TICKET_CODE_LEN, &out), BO_EINVAL, "%s",
                     prefixes[p]);
    }
    sign_ok(&k, &SEATED, code);
    code[50] = '+'; /* standard base64, not base64url */
    cr_assert_eq(bo_ticket_verify(k.pk, code, BO_TICKET_CODE_LEN, &out), BO_EINVAL);
    sign_ok(&k, &SEATED, code);
    code[60] = '\0';
    cr_assert_eq(bo_ticket_verify(k.pk, code, BO_TICKET_CODE_LEN, &out), BO_EINVAL);
}

Test(ticket, another_key_is_a_bad_signature)
{
    bo_ticket_keys_t k, other;
    bo_ticket_claim_t out;
    char code[BO_TICKET_CODE_MAX];
    seeded_keys(&k, 0);
    seeded_keys(&other, 1);
    sign_ok(&other, &SEATED, code);
    cr_assert_eq(bo_ticket_verify(k.pk, code, BO_TICKET_CODE_LEN, &out), BO_ESIGNATURE);
    cr_assert_eq(bo_ticket_verify(other.pk, code, BO_TICKET_CODE_LEN, &out), 0);
}

/* The signature binds the claim: another seat's claim with this seat's
 * signature, or a GA code turned into a seated one, does not pass. */
Test(ticket, claims_cannot_be_moved)
{
    bo_ticket_keys_t k;
    bo_ticket_claim_t out, other_seat = SEATED;
    char a[BO_TICKET_CODE_MAX], b[BO_TICKET_CODE_MAX], spliced[BO_TICKET_CODE_MAX];
    seeded_keys(&k, 0);
    other_seat.seat++;
    sign_ok(&k, &SEATED, a);
    sign_ok(&k, &other_seat, b);
    /* 3 + 40 characters are the prefix and claim bytes 0-29 (the seat is 24-27). */
    memcpy(spliced, b, 43);
    memcpy(spliced + 43, a + 43, sizeof spliced - 43);
    cr_assert_neq(strcmp(spliced, a), 0);
    cr_assert_eq(bo_ticket_verify(k.pk, spliced, BO_TICKET_CODE_LEN, &out), BO_ESIGNATURE);
    /* Characters 35-38 hold bytes 24-26, the GA seat 0xffffff..: "____". */
    sign_ok(&k, &GA, a);
    cr_assert_eq(strncmp(a + 35, "____", 4), 0);
    a[35] = 'A';
    cr_assert_eq(bo_ticket_verify(k.pk, a, BO_TICKET_CODE_LEN, &out), BO_EINVAL,
                 "a seat with a GA area");
}

Test(ticket, another_event_is_valid_for_the_caller_to_check)
{
    bo_ticket_keys_t k;
    bo_ticket_claim_t out, c = SEATED;
    char code[BO_TICKET_CODE_MAX];
    seeded_keys(&k, 0);
    c.event = SEATED.event + 1;
    sign_ok(&k, &c, code);
    cr_assert_eq(bo_ticket_verify(k.pk, code, BO_TICKET_CODE_LEN, &out), 0);
    cr_assert_eq(out.event, SEATED.event + 1);
    cr_assert_neq(out.event, SEATED.event);
}

Test(ticket, new_keys_are_fresh_and_consistent)
{
    bo_ticket_keys_t a, b;
    cr_assert_eq(bo_ticket_keys_new(&a), 0);
    cr_assert_eq(bo_ticket_keys_new(&b), 0);
    cr_assert_neq(memcmp(a.sk, b.sk, 64), 0);
    cr_assert_eq(memcmp(a.sk + 32, a.pk, 32), 0);
}

Test(ticket, keys_text_round_trip)
{
    bo_ticket_keys_t k, back;
    char text[BO_TICKET_KEYS_TEXT_MAX + 2];
    seeded_keys(&k, 0);
    cr_assert_eq(bo_ticket_keys_format(&k, text, BO_TICKET_KEYS_TEXT_MAX - 1), BO_EINVAL);
    cr_assert_eq(bo_ticket_keys_format(&k, text, BO_TICKET_KEYS_TEXT_MAX), 0);
    cr_assert_eq(strlen(text), BO_TICKET_KEYS_TEXT_MAX - 1);
    cr_assert_eq(strncmp(text, "ed25519:000102030405060708090a0b0c0d0e0f", 40), 0);
    cr_assert_eq(bo_ticket_keys_parse(text, strlen(text), &back), 0);
    cr_assert_eq(memcmp(&back, &k, sizeof k), 0);
    strcat(text, "\n");
    cr_assert_eq(bo_ticket_keys_parse(text, strlen(text), &back), 0, "a key file's newline");
    cr_assert_eq(memcmp(&back, &k, sizeof k), 0);
    for (char *p = text + 8; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    cr_assert_eq(bo_ticket_keys_parse(text, strlen(text), &back), 0, "upper-case hex");
    cr_assert_eq(memcmp(&back, &k, sizeof k), 0);
}

Test(ticket, keys_text_garbage_is_refused)
{
    bo_ticket_keys_t k, back;
    char good[BO_TICKET_KEYS_TEXT_MAX], bad[BO_TICKET_KEYS_TEXT_MAX + 8];
    seeded_keys(&k, 0);
    cr_assert_eq(bo_ticket_keys_format(&k, good, sizeof good), 0);
    size_t n = strlen(good);
    cr_assert_eq(bo_ticket_keys_parse(NULL, 0, &back), BO_EINVAL);
    cr_assert_eq(bo_ticket_keys_parse("", 0, &back), BO_EINVAL);
    cr_assert_eq(bo_ticket_keys_parse("ed25519:", 8, &back), BO_EINVAL);
    cr_assert_eq(bo_ticket_keys_parse(good, n - 1, &back), BO_EINVAL, "short");
    snprintf(bad, sizeof bad, "%s0", good);
    cr_assert_eq(bo_ticket_keys_parse(bad, n + 1, &back), BO_EINVAL, "long");
    snprintf(bad, sizeof bad, " %s", good);
    cr_assert_eq(bo_ticket_keys_parse(bad, n + 1, &back), BO_EINVAL, "leading space");
    memcpy(bad, good, n + 1);
    memcpy(bad, "ed25518:", 8);
    cr_assert_eq(bo_ticket_keys_parse(bad, n, &back), BO_EINVAL, "tag");
    memcpy(bad, good, n + 1);
    bad[20] = 'g';
    cr_assert_eq(bo_ticket_keys_parse(bad, n, &back), BO_EINVAL, "not hex");
    memcpy(bad, good, n + 1);
    bad[100] = '\0';
    cr_assert_eq(bo_ticket_keys_parse(bad, n, &back), BO_EINVAL, "a NUL inside");
    /* The pk half (hex digits 64-127) no longer matches the seed. */
    memcpy(bad, good, n + 1);
    bad[8 + 64] = bad[8 + 64] == '0' ? '1' : '0';
    memset(&back, 0xa5, sizeof back);
    cr_assert_eq(bo_ticket_keys_parse(bad, n, &back), BO_EINVAL, "mismatched pk");
    static const bo_ticket_keys_t zero;
    cr_assert_eq(memcmp(&back, &zero, sizeof zero), 0, "nothing secret left behind");
    /* Another key's pk after this seed. */
    bo_ticket_keys_t other;
    char other_text[BO_TICKET_KEYS_TEXT_MAX];
    seeded_keys(&other, 1);
    cr_assert_eq(bo_ticket_keys_format(&other, other_text, sizeof other_text), 0);
    memcpy(bad, good, n + 1);
    memcpy(bad + 8 + 64, other_text + 8 + 64, 64);
    cr_assert_eq(bo_ticket_keys_parse(bad, n, &back), BO_EINVAL, "another key's pk");
}

Test(ticket, public_key_base64url)
{
    bo_ticket_keys_t k;
    char out[BO_TICKET_PK_B64_LEN + 1], ref[64];
    seeded_keys(&k, 0);
    cr_assert_eq(bo_ticket_pk_b64(k.pk, out, sizeof out - 1), BO_EINVAL);
    cr_assert_eq(bo_ticket_pk_b64(k.pk, out, sizeof out), 0);
    cr_assert_eq(strlen(out), BO_TICKET_PK_B64_LEN);
    sodium_bin2base64(ref, sizeof ref, k.pk, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cr_assert_str_eq(out, ref);
}

/* The number at *p, which must follow the character c; *p moves past it. */
static long number_after(const char **p, char c)
{
    char *end;
    cr_assert_eq(**p, c, "at %.20s", *p);
    long v = strtol(*p + 1, &end, 10);
    cr_assert_neq(end, *p + 1, "at %.20s", *p);
    *p = end;
    return v;
}

/* Paint the path's "MX Yh Nv1h-Nz" rectangles into a side x side grid. */
static unsigned char *paint(const char *d, const char *d_end, int side)
{
    unsigned char *grid = calloc((size_t)side * (size_t)side, 1);
    cr_assert_not_null(grid);
    while (d < d_end) {
        long x = number_after(&d, 'M'), y = number_after(&d, ' ');
        long w = number_after(&d, 'h'), one = number_after(&d, 'v');
        long back = number_after(&d, 'h');
        cr_assert_eq(*d++, 'z');
        cr_assert(one == 1 && back == -w);
        cr_assert(x >= 4 && y >= 4 && w > 0 && x + w <= side - 4 && y < side - 4);
        for (long i = 0; i < w; i++) {
            cr_assert_eq(grid[y * side + x + i], 0, "painted twice");
            grid[y * side + x + i] = 1;
        }
    }
    return grid;
}

/* The SVG of text is a complete document whose path draws exactly
 * libqrencode's 8-bit, level M symbol inside a 4-module quiet zone. */
static void check_svg(const char *text, size_t len)
{
    char *svg;
    size_t svg_len;
    int side;
    cr_assert_eq(bo_ticket_qr_svg(text, len, &svg, &svg_len), 0);
    cr_assert_eq(strlen(svg), svg_len);
    cr_assert_eq(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 40), 0);
    cr_assert_eq(strcmp(svg + svg_len - 7, "</svg>\n"), 0);
    cr_assert_not_null(strstr(svg, "shape-rendering=\"crispEdges\""));
    const char *vb = strstr(svg, "viewBox=\"0 0 ");
    cr_assert_not_null(vb);
    int side2;
    cr_assert_eq(sscanf(vb, "viewBox=\"0 0 %d %d\"", &side, &side2), 2);
    cr_assert_eq(side, side2);
    QRcode *qr = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
    cr_assert_not_null(qr);
    cr_assert_eq(side, qr->width + 8);
    const char *d = strstr(svg, " d=\"");
    cr_assert_not_null(d);
    cr_assert_null(strstr(d + 1, " d=\""), "one path");
    d += 4;
    const char *d_end = strchr(d, '"');
    unsigned char *grid = paint(d, d_end, side);
    for (int y = 0; y < qr->width; y++)
        for (int x = 0; x < qr->width; x++)
            cr_assert_eq(grid[(y + 4) * side + x + 4], qr->data[y * qr->width + x] & 1,
                         "module %d,%d", x, y);
    free(grid);
    QRcode_free(qr);
    free(svg);
}

Test(ticket, qr_svg_draws_the_symbol)
{
    bo_ticket_keys_t k;
    char code[BO_TICKET_CODE_MAX];
    seeded_keys(&k, 0);
    sign_ok(&k, &SEATED, code);
    check_svg(code, strlen(code));
    check_svg("x", 1);
    check_svg("a\0b", 3); /* 8-bit mode: NULs are data */
    char *longest = malloc(BO_TICKET_QR_TEXT_MAX);
    cr_assert_not_null(longest);
    for (size_t i = 0; i < BO_TICKET_QR_TEXT_MAX; i++)
        longest[i] = (char)('a' + i % 26);
    check_svg(longest, BO_TICKET_QR_TEXT_MAX);
    free(longest);
}

Test(ticket, qr_svg_refuses_empty_and_too_long_text)
{
    char *svg = (char *)1;
    size_t svg_len = 1;
    cr_assert_eq(bo_ticket_qr_svg("", 0, &svg, &svg_len), BO_EINVAL);
    cr_assert_null(svg);
    cr_assert_eq(svg_len, 0);
    size_t n = BO_TICKET_QR_TEXT_MAX + 1;
    char *text = malloc(n);
    cr_assert_not_null(text);
    memset(text, 'z', n);
    cr_assert_eq(bo_ticket_qr_svg(text, n, &svg, &svg_len), BO_EINVAL);
    cr_assert_null(svg);
    cr_assert_eq(bo_ticket_qr_svg(text, 100000, &svg, &svg_len), BO_EINVAL);
    free(text);
}
