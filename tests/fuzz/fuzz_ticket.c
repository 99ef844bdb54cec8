/*
 * fuzz_ticket.c - libFuzzer harness for the ticket code parser
 * (bo_ticket_verify: codes come from gate staff and QR scans) and the key
 * text parser (bo_ticket_keys_parse).
 *
 * The key pair comes from the fixed seed 0, 1, ..., 31 (the one the unit
 * tests use), and the seed corpus tests/fuzz/corpus/fuzz_ticket/ holds
 * codes signed with it, so mutations start from codes that verify. Checks:
 * any input gives 0, BO_EINVAL or BO_ESIGNATURE; an input that verifies is
 * exactly the code that signing its claim again gives (one spelling per
 * claim); a key text that parses formats back to the same text.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/ticket.h"

static bo_ticket_keys_t keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t seed[32];
    if (sodium_init() < 0)
        abort();
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    crypto_sign_seed_keypair(keys.pk, keys.sk, seed);
    return 0;
}

static void check_code(const uint8_t *data, size_t size)
{
    bo_ticket_claim_t claim;
    char code[BO_TICKET_CODE_MAX];
    int rc = bo_ticket_verify(keys.pk, (const char *)data, size, &claim);
    if (rc == BO_EINVAL || rc == BO_ESIGNATURE)
        return;
    if (rc != 0)
        abort();
    int n = bo_ticket_sign(&keys, &claim, code, sizeof code);
    if (n < 0 || (size_t)n != size || memcmp(code, data, size) != 0)
        abort();
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static void check_keys(const uint8_t *data, size_t size)
{
    bo_ticket_keys_t k;
    char text[BO_TICKET_KEYS_TEXT_MAX];
    int rc = bo_ticket_keys_parse((const char *)data, size, &k);
    if (rc == BO_EINVAL)
        return;
    if (rc != 0 || bo_ticket_keys_format(&k, text, sizeof text) != 0 ||
        size < BO_TICKET_KEYS_TEXT_MAX - 1)
        abort();
    for (size_t i = 0; i < BO_TICKET_KEYS_TEXT_MAX - 1; i++)
        if (lower(data[i]) != text[i])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_code(data, size);
    check_keys(data, size);
    return 0;
}
