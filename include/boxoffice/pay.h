/*
 * pay.h - the payment gateway adapter and the webhook verifier.
 *
 * The adapter speaks a Stripe-compatible subset over HTTPS (libcurl):
 * PaymentIntents (create, retrieve, confirm, cancel) and refunds, form-encoded
 * requests and JSON answers, the same wire for paysim and for Stripe. A few
 * calls per order, each on one of the server's payment worker threads, so
 * every call blocks; one bo_pay_t is shared by all of those threads.
 *
 * Webhooks are checked the way Stripe signs them (Stripe-Signature:
 * t=<unix s>,v1=<HMAC-SHA256 hex>) and parsed into the few fields the server
 * acts on; the server then re-fetches the intent and never trusts the
 * payload alone.
 */
#ifndef BOXOFFICE_PAY_H
#define BOXOFFICE_PAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct bo_pay bo_pay_t;

typedef struct bo_pay_config {
    const char *url;        /* "sim:http://127.0.0.1:8081" or "stripe:https://api.stripe.com";
                               the part after the first ':' is the base URL */
    const char *secret_key; /* sk_... or rk_... */
    uint32_t timeout_ms;    /* per attempt, whole request; 0: 5000 */
    uint32_t retries;       /* extra attempts on network errors, timeouts, 409, 429 and 5xx;
                               0: 2; backoff 100 ms, 200 ms, ... (+ up to 50% jitter) */
} bo_pay_config_t;

/*
 * A gateway client for cfg (its strings are copied). Returns 0 and *out (you
 * own it: bo_pay_free), BO_EINVAL for a url that is not "sim:" or "stripe:"
 * followed by an http(s) URL or a key that is not sk_/rk_ and [A-Za-z0-9_],
 * or BO_ENOMEM. Initialises libcurl and libsodium once per process.
 */
int bo_pay_new(const bo_pay_config_t *cfg, bo_pay_t **out);
/* Frees p; no call may be in flight. NULL is fine. */
void bo_pay_free(bo_pay_t *p);

#define BO_PAY_ID_MAX 96

typedef struct bo_pay_intent {
    char id[BO_PAY_ID_MAX]; /* pi_... */
    char client_secret[2 * BO_PAY_ID_MAX];
    char status[32]; /* requires_payment_method, requires_confirmation, requires_action,
                        processing, requires_capture, succeeded, canceled */
    int64_t amount, amount_received; /* minor units */
    char currency[8];
    char order_id[BO_PAY_ID_MAX]; /* metadata[order_id] */
    char latest_charge[BO_PAY_ID_MAX];
    char last_error_code[64];              /* last_payment_error.code, "" when none */
    char last_error_decline[64];           /* last_payment_error.decline_code */
    char last_error_message[256];          /* truncated to fit */
    char last_error_charge[BO_PAY_ID_MAX]; /* the failed attempt's charge */
} bo_pay_intent_t;

typedef struct bo_pay_refund {
    char id[BO_PAY_ID_MAX]; /* re_... */
    char status[32];        /* pending, requires_action, succeeded, failed, canceled */
    int64_t amount;
    char intent_id[BO_PAY_ID_MAX];
} bo_pay_refund_t;

/*
 * The gateway calls. All block for at most about
 * timeout_ms * (retries + 1) plus the backoff, are thread-safe, and send
 * every POST with idem_key as its Idempotency-Key (1 to 255 printable ASCII
 * characters, no space), the same key on every retry, so a retry after a
 * lost answer never charges or refunds twice. out is zeroed first. Returns:
 *
 *   0             out filled from the answer;
 *   BO_EDECLINED  a card decline (402): out filled from error.payment_intent
 *                 when present, error.code/decline_code/message/charge copied
 *                 into out->last_error_*;
 *   BO_ENOTFOUND  404 resource_missing;
 *   BO_ESTATE     400 with a state code (payment_intent_unexpected_state,
 *                 charge_already_refunded, charge_already_captured,
 *                 charge_disputed, charge_expired_for_capture, ...);
 *   BO_EINVAL     bad arguments, or any other 4xx (a bug or a misconfigured
 *                 key of ours: logged to stderr with the gateway's message);
 *   BO_EGATEWAY   no usable answer after the retries (network error,
 *                 timeout, 409, 429, 5xx) or an answer that does not parse;
 *   BO_ENOMEM.
 *
 * Ids (intent_id, order_id) are 1 to BO_PAY_ID_MAX-1 of [A-Za-z0-9_].
 */
/* amount_cents 1 to 99,999,999; currency three ASCII letters (sent lower
 * case); description optional (NULL), at most 1000 bytes. The intent accepts
 * cards only (payment_method_types[]=card). */
int bo_pay_create_intent(bo_pay_t *p, const char *idem_key, int64_t amount_cents,
                         const char *currency, const char *order_id, const char *description,
                         bo_pay_intent_t *out);
int bo_pay_retrieve(bo_pay_t *p, const char *intent_id, bo_pay_intent_t *out);
/* Server-side confirm with payment_method: a "pm_..." name (pm_card_visa)
 * sent as payment_method, or a raw test card number of 12 to 19 digits sent
 * as payment_method_data[type]=card&payment_method_data[card][number]=.... */
int bo_pay_confirm(bo_pay_t *p, const char *intent_id, const char *payment_method,
                   const char *idem_key, bo_pay_intent_t *out);
int bo_pay_cancel(bo_pay_t *p, const char *intent_id, const char *idem_key, bo_pay_intent_t *out);
/* Refund amount_cents of the intent (0: all that is left of it). */
int bo_pay_refund(bo_pay_t *p, const char *intent_id, int64_t amount_cents, const char *idem_key,
                  bo_pay_refund_t *out);

/* Counters for /metrics, each monotonic since bo_pay_new. */
typedef struct bo_pay_stats {
    uint64_t calls;    /* bo_pay_* gateway calls made */
    uint64_t requests; /* HTTP requests sent (first attempts and retries) */
    uint64_t retries;  /* of which retries */
    uint64_t declines; /* calls answered BO_EDECLINED */
    uint64_t rejected; /* calls answered BO_ENOTFOUND, BO_ESTATE or BO_EINVAL by the gateway */
    uint64_t failures; /* calls that ended in BO_EGATEWAY */
} bo_pay_stats_t;
void bo_pay_stats(bo_pay_t *p, bo_pay_stats_t *out);
/* HTTP requests (retries included) the calling thread has sent to any
 * gateway since it started: the difference around a piece of work is what
 * that work cost at the gateway (the reconciler's budget counts so). */
uint64_t bo_pay_thread_requests(void);

/* ---- webhooks (src/pay/webhook.c): pure functions, no I/O ---------------- */

#define BO_PAY_WEBHOOK_TOLERANCE_S 300
#define BO_PAY_WEBHOOK_HEADER_MAX  4096         /* bytes of a Stripe-Signature value */
#define BO_PAY_WEBHOOK_PAYLOAD_MAX (256 * 1024) /* bytes of a webhook body */
#define BO_PAY_WEBHOOK_DEPTH_MAX   32           /* JSON nesting of a webhook body */
#define BO_PAY_WEBHOOK_SIG_MAX     96           /* "t=<20 digits>,v1=<64 hex>" + NUL */

/*
 * Check header (the Stripe-Signature value, header_len bytes:
 * "t=<unix s>,v1=<hex>[,v1=<hex>][,v0=...]", items in any order, unknown keys
 * ignored, any matching v1 is enough) against HMAC-SHA256(secret,
 * "<t>.<payload>"), compared in constant time. Returns 0 when valid;
 * BO_EINVAL when the header is missing or malformed (no t or two, no v1, a v1
 * that is not 64 hex digits, an item without '=', longer than
 * BO_PAY_WEBHOOK_HEADER_MAX) or the secret is empty; BO_ESIGNATURE when no
 * v1 matches or |now_s - t| > tolerance_s.
 */
int bo_pay_webhook_verify(const char *secret, const char *header, size_t header_len,
                          const char *payload, size_t len, int64_t now_s, int64_t tolerance_s);

typedef struct bo_pay_event {
    char id[BO_PAY_ID_MAX]; /* evt_... */
    char type[64];   /* payment_intent.succeeded, payment_intent.payment_failed, charge.refunded,
                        or others (the caller ignores them) */
    int64_t created; /* 0 when absent */
    char intent_id[BO_PAY_ID_MAX]; /* data.object.id for a payment_intent, else
                                      data.object.payment_intent (charge.*, refund.*); "" when none
                                    */
    char order_id[BO_PAY_ID_MAX];  /* data.object.metadata.order_id, "" when absent */
} bo_pay_event_t;

/*
 * Parse a webhook body (JSON, at most BO_PAY_WEBHOOK_PAYLOAD_MAX bytes,
 * nesting at most BO_PAY_WEBHOOK_DEPTH_MAX, no duplicate keys) into ev.
 * Returns 0, or BO_EINVAL: not JSON, too big or deep, id or type missing,
 * an id too long or with characters outside [A-Za-z0-9_], a type outside
 * [a-z0-9_.].
 */
int bo_pay_webhook_parse(const char *payload, size_t len, bo_pay_event_t *ev);

/* Sign like Stripe (for tests and tools): writes "t=<t>,v1=<hex>" and a NUL
 * into out (cap bytes; BO_PAY_WEBHOOK_SIG_MAX is enough). Returns 0, or
 * BO_EINVAL (empty secret, t < 0, cap too small). */
int bo_pay_webhook_sign(const char *secret, int64_t t, const char *payload, size_t len, char *out,
                        size_t cap);

#endif
