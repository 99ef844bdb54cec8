/*
 * form.c - the form encoding of gateway requests (pay_internal.h) and the
 * id alphabet. A request has a handful of short fields, so this simply
 * appends byte by byte.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boxoffice/pay.h"
#include "pay/pay_internal.h"
#include "util/assert.h"
#include "util/hex.h"

bool bo__pay_id_ok(const char *s, size_t len)
{
    if (!s || len == 0 || len >= BO_PAY_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void encode(bo_buf_t *b, const char *s, bool brackets)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c) || (brackets && (c == '[' || c == ']'))) {
            bo_buf_put(b, (const char *)&c, 1);
        } else if (c == ' ') {
            bo_buf_put(b, "+", 1);
        } else {
            char esc[3] = {'%', bo_hex_digit(c >> 4, 1), bo_hex_digit(c, 1)};
            bo_buf_put(b, esc, 3);
        }
    }
}

void bo__form_add(bo_buf_t *b, const char *key, const char *value)
{
    BO_ASSERT(b != NULL && key != NULL && key[0] != '\0' && value != NULL);
    if (b->len)
        bo_buf_put(b, "&", 1);
    encode(b, key, true);
    bo_buf_put(b, "=", 1);
    encode(b, value, false);
}

void bo__form_add_i64(bo_buf_t *b, const char *key, int64_t value)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, value);
    bo__form_add(b, key, num);
}
