/*
 * webhook.c - checking and reading the gateway's webhooks (pay.h).
 *
 * Input from anyone on the network: the header and the body are bounded
 * before any work, the signature is checked in constant time, and the body
 * is only parsed once the signature holds (the caller's order). A webhook
 * arrives a few times per order, so one HMAC and one small JSON tree each
 * is cheap; none of this keeps state.
 */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/pay.h"
#include "pay/pay_internal.h"
#include "util/hex.h"
#include "util/json_depth.h"

#define MAC_BYTES crypto_auth_hmacsha256_BYTES
#define MAX_V1    64 /* more than a 4 KiB header can hold */
#define T_DIGITS  18 /* so that t never overflows an int64_t */
#define TYPE_MAX  64

/* A Stripe-Signature header, taken apart. */
struct sig {
    const char *t; /* the timestamp's digits as sent (they are signed as is) */
    size_t t_len;
    int64_t t_s;
    uint8_t v1[MAX_V1][MAC_BYTES];
    unsigned n_v1;
};

static int parse_t(struct sig *s, const char *v, size_t n)
{
    if (s->t || n == 0 || n > T_DIGITS)
        return BO_EINVAL;
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return BO_EINVAL;
        t = t * 10 + (v[i] - '0');
    }
    s->t = v;
    s->t_len = n;
    s->t_s = t;
    return 0;
}

static int parse_v1(struct sig *s, const char *v, size_t n)
{
    if (n != 2 * MAC_BYTES || s->n_v1 == MAX_V1)
        return BO_EINVAL;
    if (bo_hex_decode(v, s->v1[s->n_v1], MAC_BYTES, 1))
        return BO_EINVAL;
    s->n_v1++;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* One "key=value" item (blanks around it already trimmed). */
static int parse_item(struct sig *s, const char *item, size_t n)
{
    const char *eq = memchr(item, '=', n);
    if (!eq)
        return BO_EINVAL;
    size_t klen = (size_t)(eq - item), vlen = n - klen - 1;
    if (klen == 1 && item[0] == 't')
        return parse_t(s, eq + 1, vlen);
    if (klen == 2 && item[0] == 'v' && item[1] == '1')
        return parse_v1(s, eq + 1, vlen);
    return 0; /* v0 and keys of later schemes */
}

static int parse_header(struct sig *s, const char *h, size_t len)
{
    if (!h || len == 0 || len > BO_PAY_WEBHOOK_HEADER_MAX)
        return BO_EINVAL;
    s->t = NULL;
    s->n_v1 = 0;
    for (size_t i = 0; i < len;) {
        size_t start = i, end;
        while (i < len && h[i] != ',')
            i++;
        end = i++;
        while (start < end && is_blank(h[start]))
            start++;
        while (end > start && is_blank(h[end - 1]))
            end--;
        if (end > start && parse_item(s, h + start, end - start))
            return BO_EINVAL;
    }
    return s->t && s->n_v1 ? 0 : BO_EINVAL;
}

/* HMAC-SHA256(secret, t "." payload); the secret is the whole string. */
static void mac_of(const char *secret, const char *t, size_t t_len, const char *payload, size_t len,
                   uint8_t mac[MAC_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const uint8_t *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)t, t_len);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)".", 1);
    if (len)
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)payload, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
}

static bool fresh(int64_t now_s, int64_t t_s, int64_t tolerance_s)
{
    int64_t d;
    if (tolerance_s < 0 || __builtin_sub_overflow(now_s, t_s, &d))
        return false;
    return d <= tolerance_s && d >= -tolerance_s;
}

int bo_pay_webhook_verify(const char *secret, const char *header, size_t header_len,
                          const char *payload, size_t len, int64_t now_s, int64_t tolerance_s)
{
    struct sig s;
    uint8_t mac[MAC_BYTES];
    if (!secret || !*secret || (!payload && len) || parse_header(&s, header, header_len))
        return BO_EINVAL;
    mac_of(secret, s.t, s.t_len, payload, len, mac);
    int match = 0;
    for (unsigned i = 0; i < s.n_v1; i++)
        match |= sodium_memcmp(mac, s.v1[i], MAC_BYTES) == 0;
    if (!match || !fresh(now_s, s.t_s, tolerance_s))
        return BO_ESIGNATURE;
    return 0;
}

int bo_pay_webhook_sign(const char *secret, int64_t t, const char *payload, size_t len, char *out,
                        size_t cap)
{
    char t_txt[24];
    uint8_t mac[MAC_BYTES];
    if (!secret || !*secret || t < 0 || (!payload && len) || !out)
        return BO_EINVAL;
    int t_len = snprintf(t_txt, sizeof(t_txt), "%" PRId64, t);
    size_t need = 2 + (size_t)t_len + 4 + 2 * MAC_BYTES + 1;
    if (cap < need)
        return BO_EINVAL;
    mac_of(secret, t_txt, (size_t)t_len, payload, len, mac);
    char *p = out + snprintf(out, cap, "t=%s,v1=", t_txt);
    *bo_hex_encode(p, mac, MAC_BYTES) = '\0';
    return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/* A string id, or the "id" of an expanded object, into dst; NULL or null
 * leaves dst empty. */
static int copy_id(char dst[BO_PAY_ID_MAX], json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "id");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !bo__pay_id_ok(json_string_value(v), json_string_length(v)))
        return BO_EINVAL;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int copy_type(char dst[TYPE_MAX], json_t *v)
{
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (!s || n == 0 || n >= TYPE_MAX)
        return BO_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '.'))
            return BO_EINVAL;
    memcpy(dst, s, n + 1);
    return 0;
}

/* The intent and the order an event's data.object points to. */
static int read_object(bo_pay_event_t *ev, json_t *obj)
{
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return BO_EINVAL;
    const char *kind = json_string_value(json_object_get(obj, "object"));
    bool intent =
        kind ? strcmp(kind, "payment_intent") == 0 : strncmp(ev->type, "payment_intent.", 15) == 0;
    json_t *meta = json_object_get(obj, "metadata");
    if (meta && !json_is_null(meta) && !json_is_object(meta))
        return BO_EINVAL;
    json_t *order = meta ? json_object_get(meta, "order_id") : NULL;
    if (json_is_object(order))
        return BO_EINVAL; /* copy_id takes objects for expanded ids only */
    if (copy_id(ev->order_id, order))
        return BO_EINVAL;
    if (intent) {
        json_t *id = json_object_get(obj, "id");
        return json_is_string(id) ? copy_id(ev->intent_id, id) : BO_EINVAL;
    }
    return copy_id(ev->intent_id, json_object_get(obj, "payment_intent"));
}

int bo_pay_webhook_parse(const char *payload, size_t len, bo_pay_event_t *ev)
{
    json_error_t err;
    json_t *root = NULL, *data;
    int rc = BO_EINVAL;
    memset(ev, 0, sizeof(*ev));
    if (!payload || len > BO_PAY_WEBHOOK_PAYLOAD_MAX ||
        bo_json_depth(payload, len, BO_PAY_WEBHOOK_DEPTH_MAX) > BO_PAY_WEBHOOK_DEPTH_MAX)
        goto out;
    root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(root))
        goto out;
    json_t *id = json_object_get(root, "id"), *created = json_object_get(root, "created");
    if (!json_is_string(id) || copy_id(ev->id, id) ||
        copy_type(ev->type, json_object_get(root, "type")))
        goto out;
    if (created && !json_is_null(created)) {
        if (!json_is_integer(created))
            goto out;
        ev->created = (int64_t)json_integer_value(created);
    }
    data = json_object_get(root, "data");
    if (data && !json_is_null(data) && !json_is_object(data))
        goto out;
    rc = read_object(ev, data ? json_object_get(data, "object") : NULL);
out:
    json_decref(root);
    if (rc)
        memset(ev, 0, sizeof(*ev));
    return rc;
}
