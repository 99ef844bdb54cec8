/*
 * paysim.h - what the files of the payment gateway simulator share.
 *
 * boxoffice-paysim is its own process speaking the subset of Stripe's API
 * that boxoffice uses (PaymentIntents, refunds, signed webhooks), so the
 * same gateway adapter talks to it and to Stripe. It keeps everything in
 * memory behind one mutex: a simulator serves tests and demos, hundreds of
 * calls a second at most, so one lock held for microseconds is plenty and
 * keeps every operation (and its idempotent replay) atomic.
 *
 *   main.c      options, key files, wiring, signals
 *   pipeline.c  one /v1 call: auth, parameters, faults, idempotency, answer
 *   answer.c    Stripe's error bodies, response headers, delayed answers
 *   form.c      the x-www-form-urlencoded bracket syntax, strictly bounded
 *   params.c    typed reads of parsed parameters (amounts, metadata, ...)
 *   idem.c      Idempotency-Key results, kept 24 h
 *   ledger.c    intents, charges, refunds, payment methods and their JSON
 *   cards.c     Stripe's test cards and test payment methods
 *   intents.c   the PaymentIntent endpoints
 *   refunds.c   the refund and charge endpoints
 *   webhooks.c  signed event delivery with retries, duplicates, reordering
 *   sim.c       runtime settings (faults) and statistics: /_sim/...
 *   table.c     a string-keyed hash table for all of the above
 *   keys.c      random ids, secret files, the time
 */
#ifndef BOXOFFICE_PAYSIM_H
#define BOXOFFICE_PAYSIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "boxoffice/http.h"

#define PS_API_VERSION        "2024-06-20"
#define PS_MAX_BODY_BYTES     (64u << 10) /* form bodies past it: 400 */
#define PS_MAX_PARAMS         100u        /* key=value pairs per call */
#define PS_MAX_KEY_BYTES      200u        /* a decoded parameter name */
#define PS_MAX_VALUE_BYTES    5000u       /* a decoded value */
#define PS_MAX_DEPTH          4u          /* brackets after the name: a[b][c][d][e] */
#define PS_AMOUNT_MAX         99999999    /* minor units */
#define PS_ID_RANDOM          24u         /* random characters of an id */
#define PS_ID_BYTES           48u         /* room for any id here */
#define PS_IDEM_KEY_MAX       255u        /* bytes of an Idempotency-Key */
#define PS_IDEM_TTL_S         86400       /* a key's result is kept this long */
#define PS_IDEM_MAX           200000u     /* results kept; the oldest go first */
#define PS_MAX_INTENTS        1000000u    /* default bound; then 503 */
#define PS_OBJECTS_PER_INTENT 4u          /* charges + refunds + methods per intent bound */
#define PS_LIST_MAX           100u        /* limit= of a list */
#define PS_METADATA_KEYS      50u
#define PS_METADATA_KEY_MAX   40u
#define PS_METADATA_VALUE_MAX 500u
#define PS_DESCRIPTION_MAX    1000u
#define PS_URL_MAX            1000u
#define PS_DELAYED_MAX        65536u /* answers waiting for their latency */
#define PS_WEBHOOK_QUEUE_MAX  10000u /* deliveries waiting or held */

typedef struct paysim paysim_t;

/* ---- table.c: a chained hash table over nodes embedded in objects ---- */

typedef struct ps_node {
    struct ps_node *next;
    const char *key; /* owned by the object; NUL-terminated */
} ps_node_t;

typedef struct ps_table {
    ps_node_t **buckets;
    size_t mask, n;
} ps_table_t;

#define PS_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Returns 0 or BO_ENOMEM. */
int ps_table_init(ps_table_t *t);
/* The node whose key equals key, or NULL. */
ps_node_t *ps_table_get(const ps_table_t *t, const char *key);
/* Link node (node->key set, not present yet). Returns 0 or BO_ENOMEM. */
int ps_table_put(ps_table_t *t, ps_node_t *node);
/* Unlink node (present). */
void ps_table_del(ps_table_t *t, ps_node_t *node);
/* Free the buckets, not the nodes. */
void ps_table_free(ps_table_t *t);

/* ---- keys.c ---- */

/* prefix + nrandom random letters and digits into out (cap bytes). */
void ps_random_id(char *out, size_t cap, const char *prefix, unsigned nrandom);
/* A uniform double in [0, 1). */
double ps_random_unit(void);
/* Read the secret in path, or create the file (mode 0600) holding prefix +
 * 32 random characters when missing. Returns 0 and *secret (you now own
 * it: free), *created 1 when made now; else 2 after a message on stderr. */
int ps_secret_file(const char *path, const char *prefix, char **secret, int *created);
uint64_t ps_now_ms(void); /* monotonic */
int64_t ps_unix_s(void);  /* wall clock, seconds */

/* ---- form.c ---- */

/*
 * Parse an x-www-form-urlencoded string with Stripe's bracket syntax into
 * a tree of JSON objects whose leaves are strings: "a[b]=1&a[c][]=2" gives
 * {"a":{"b":"1","c":{"0":"2"}}} (a list is an object keyed "0", "1", ...).
 * Strict and bounded (PS_MAX_*). Returns 0 and *out (you own it:
 * json_decref), or BO_EINVAL with a message in err (errcap bytes).
 */
int ps_form_parse(const char *s, size_t len, json_t **out, char *err, size_t errcap);

/* ---- answers (answer.c) ---- */

/* What an operation answers: the status and the JSON body. store: a result
 * that an Idempotency-Key keeps (the operation ran: success or decline). */
typedef struct ps_answer {
    int status;
    json_t *body;
    bool store;
} ps_answer_t;

/* {"error":{type, message, code?, param?, doc_url?}}: a new object (you own
 * it) to add fields to before ps_answer_error_obj. */
json_t *ps_error_new(const char *type, const char *code, const char *param, const char *message);
/* Answer status with {"error": err} (stolen). */
void ps_answer_error_obj(ps_answer_t *a, int status, json_t *err);
/* Answer status with an error (printf-style message). */
void ps_answer_error(ps_answer_t *a, int status, const char *type, const char *code,
                     const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Answer status with body (stolen). */
void ps_answer_json(ps_answer_t *a, int status, json_t *body);

/* An answer on its way to the client, with the headers it carries. */
typedef struct ps_reply {
    int status;
    char *body; /* malloc'd JSON */
    size_t len;
    bool replayed, cors;
    char request_id[32];
    char *idem_key; /* echoed back; malloc'd or NULL */
} ps_reply_t;

/* A reply with a fresh request id, or NULL (out of memory). */
ps_reply_t *ps_reply_new(bool cors);
void ps_reply_free(ps_reply_t *rep);
/* Set rep's body: the serialised answer (a->body is consumed). Returns 0 or
 * BO_ENOMEM. */
int ps_reply_take(ps_reply_t *rep, ps_answer_t *a);
/* Send rep on r (loop thread) after delay_ms (0: now), without blocking
 * the loop. Takes rep. */
void ps_reply_send(paysim_t *ps, bo_http_req_t *r, ps_reply_t *rep, uint32_t delay_ms);
/* The thread that sends delayed answers. Returns 0 or BO_ENOMEM. */
int ps_delayer_start(paysim_t *ps);
/* Send whatever waits, now, and join the thread. */
void ps_delayer_stop(paysim_t *ps);

/* ---- the ledger (ledger.c) ---- */

typedef enum ps_pi_status {
    PS_PI_REQUIRES_PAYMENT_METHOD,
    PS_PI_REQUIRES_CONFIRMATION,
    PS_PI_SUCCEEDED,
    PS_PI_CANCELED,
    PS_PI_NSTATUS
} ps_pi_status_t;

/* A test card: what paying with it does. */
typedef struct ps_card {
    const char *pm_name, *alias; /* test payment method names (NULL: none) */
    const char *number;          /* NULL: only by name */
    const char *brand, *funding;
    const char *code;         /* NULL: the charge succeeds; else the error code */
    const char *decline_code; /* with code */
    const char *message;      /* with code */
} ps_card_t;

typedef struct ps_pm {
    ps_node_t node;
    char id[PS_ID_BYTES];
    const ps_card_t *card;
    char last4[5];
    int exp_month, exp_year;
    int64_t created;
} ps_pm_t;

struct ps_intent;

typedef struct ps_charge {
    ps_node_t node;
    char id[PS_ID_BYTES];
    struct ps_intent *pi;
    const ps_pm_t *pm;
    int64_t amount, amount_refunded, created;
    bool succeeded;
    struct ps_refund *refunds; /* newest first */
} ps_charge_t;

typedef struct ps_refund {
    ps_node_t node;
    char id[PS_ID_BYTES];
    ps_charge_t *charge;
    int64_t amount, created;
    json_t *metadata;
    const char *reason;     /* static or NULL */
    struct ps_refund *next; /* the charge's next older refund */
} ps_refund_t;

typedef struct ps_intent {
    ps_node_t node;
    char id[PS_ID_BYTES];
    char client_secret[2 * PS_ID_BYTES + 16];
    int64_t amount, amount_received, created, canceled_at;
    char currency[4];
    char *description; /* or NULL */
    json_t *metadata;  /* an object */
    const ps_pm_t *pm; /* attached, or NULL */
    ps_charge_t *latest_charge, *paid_charge;
    json_t *last_payment_error;                       /* or NULL */
    const char *cancellation_reason, *capture_method; /* static */
    ps_pi_status_t status;
    size_t index; /* in creation order */
} ps_intent_t;

typedef struct ps_ledger {
    ps_table_t intents, charges, refunds, pms;
    ps_intent_t **order; /* by creation */
    size_t n, cap, max_intents;
    size_t nobjects, max_objects; /* charges, refunds, payment methods */
} ps_ledger_t;

int ps_ledger_init(ps_ledger_t *l, size_t max_intents);
void ps_ledger_free(ps_ledger_t *l);
/* New objects with fresh unique ids, linked into the ledger; NULL when
 * the ledger is full (or out of memory). */
ps_intent_t *ps_intent_new(ps_ledger_t *l);
ps_charge_t *ps_charge_new(ps_ledger_t *l, ps_intent_t *pi, const ps_pm_t *pm);
ps_refund_t *ps_refund_new(ps_ledger_t *l, ps_charge_t *ch, int64_t amount);
ps_pm_t *ps_pm_new(ps_ledger_t *l, const ps_card_t *card, const char *number);
ps_intent_t *ps_intent_get(const ps_ledger_t *l, const char *id);
ps_charge_t *ps_charge_get(const ps_ledger_t *l, const char *id);
ps_refund_t *ps_refund_get(const ps_ledger_t *l, const char *id);
ps_pm_t *ps_pm_get(const ps_ledger_t *l, const char *id);
const char *ps_pi_status_name(ps_pi_status_t s);
/* The Stripe JSON of each (new references: you own them). */
json_t *ps_intent_json(const ps_intent_t *pi);
json_t *ps_charge_json(const ps_charge_t *ch);
json_t *ps_refund_json(const ps_refund_t *re);
json_t *ps_pm_json(const ps_pm_t *pm);
/* Totals: intents by status, captured and refunded cents, per currency. */
json_t *ps_ledger_stats(const ps_ledger_t *l);

/* ---- cards.c ---- */

/* The test card named name ("pm_card_visa"), or NULL. */
const ps_card_t *ps_card_by_name(const char *name);
/* The card for a number (digits only, Luhn-valid): a test card, or the
 * "live card in test mode" decline for any other. */
const ps_card_t *ps_card_by_number(const char *digits);
/* Whether digits pass the Luhn check. */
bool ps_luhn_ok(const char *digits);

/* ---- idem.c ---- */

typedef struct ps_idem ps_idem_t;
int ps_idem_new(ps_idem_t **out);
void ps_idem_free(ps_idem_t *d);
/* Look key up (expired results are dropped first). Returns 0 (not known),
 * 1 (known with the same fingerprint: *status and *body, a copy you own)
 * or -1 (known with other parameters). */
int ps_idem_get(ps_idem_t *d, const char *key, const unsigned char fp[32], int *status, char **body,
                size_t *len);
/* Keep a result (body copied). Returns 0 or BO_ENOMEM. */
int ps_idem_put(ps_idem_t *d, const char *key, const unsigned char fp[32], int status,
                const char *body, size_t len);
size_t ps_idem_count(const ps_idem_t *d);

/* ---- pipeline.c: one API call ---- */

typedef struct ps_call {
    paysim_t *ps;
    const char *id;       /* the route's {id}, or NULL */
    json_t *params;       /* body (POST) or query (GET) */
    const char *idem_key; /* or NULL */
    const char *request_id;
    bool by_client_secret; /* no secret key: the intent's client_secret */
} ps_call_t;

/* An operation: runs under ps->mu, fills a. */
typedef void (*ps_op_fn)(ps_call_t *c, ps_answer_t *a);

enum {
    PS_ROUTE_CLIENT_SECRET = 1u, /* the intent's client_secret may stand for the key */
    PS_ROUTE_CORS = 2u,          /* browsers of other origins may call it */
};

/* 0 when r carries the secret key (Bearer, or Basic with the key as the
 * user name); else BO_EUNAUTHORIZED and a holds Stripe's 401. */
int ps_auth(paysim_t *ps, bo_http_req_t *r, ps_answer_t *a);
/* Route method + pattern of the Stripe API to op. Returns 0 or a BO_E code. */
int ps_route(paysim_t *ps, const char *method, const char *pattern, ps_op_fn op, unsigned flags);
/* Routes answering Stripe's 404 for every other /v1 path. */
int ps_route_unknown(paysim_t *ps);

/* The endpoints of intents.c and refunds.c. Return 0 or a BO_E code. */
int ps_intents_register(paysim_t *ps);
int ps_refunds_register(paysim_t *ps);

/* ---- params.c: typed reads of a parameter tree; each returns 0, or
 * BO_EINVAL after filling a with Stripe's 400 ---- */

/* Refuse any top-level parameter not in names (NULL-terminated). */
int ps_params_allow(const json_t *params, const char *const *names, ps_answer_t *a);
/* The string parameter name, or NULL when absent; BO_EINVAL when it is not
 * a plain value. */
int ps_param_str(const json_t *params, const char *name, const char **out, ps_answer_t *a);
/* An integer in [min, max]; *present 0 when absent. */
int ps_param_int(const json_t *params, const char *name, int64_t min, int64_t max, int64_t *out,
                 bool *present, ps_answer_t *a);
/* "true" / "false"; def when absent. */
int ps_param_bool(const json_t *params, const char *name, bool def, bool *out, ps_answer_t *a);
/* The amount in minor units, 1..PS_AMOUNT_MAX; required unless optional. */
int ps_param_amount(const json_t *params, bool optional, int64_t *out, bool *present,
                    ps_answer_t *a);
/* metadata[...]: a new object (you own it; {} when absent). */
int ps_param_metadata(const json_t *params, json_t **out, ps_answer_t *a);
/* One of the values (NULL-terminated), returned as the static string;
 * *out NULL when absent. */
int ps_param_enum(const json_t *params, const char *name, const char *const *values,
                  const char **out, ps_answer_t *a);
/* A list parameter (name[]=..): its string items, each one of allowed. */
int ps_param_list(const json_t *params, const char *name, const char *const *allowed,
                  ps_answer_t *a);

/* ---- sim.c: runtime settings and statistics ---- */

typedef struct ps_settings {
    uint32_t latency_ms;              /* every /v1 answer waits this long */
    double fail_rate;                 /* POSTs answered 500 without being applied */
    double fail_after_rate;           /* POSTs applied, then answered 500 */
    double timeout_rate;              /* /v1 calls whose answer hangs timeout_ms */
    uint32_t timeout_ms;              /* 30000 */
    bool duplicate_webhooks;          /* every event delivered twice */
    bool reorder_webhooks;            /* events held, then delivered latest first */
    uint32_t reorder_ms;              /* how long events are held */
    uint32_t webhook_retry_ms;        /* first retry delay; doubles, capped */
    uint32_t webhook_attempts;        /* attempts before giving up */
    char webhook_url[PS_URL_MAX + 1]; /* "": no webhooks */
} ps_settings_t;

/* The defaults. */
void ps_settings_default(ps_settings_t *s);
/* Apply one named setting from its text value ("latency_ms", "250").
 * Returns 0 or BO_EINVAL with a message in err. */
int ps_settings_set(ps_settings_t *s, const char *name, const char *value, char *err,
                    size_t errcap);
/* A copy of the current settings (any thread). */
void ps_settings_get(paysim_t *ps, ps_settings_t *out);
/* Route /_sim/config (GET, POST), /_sim/stats and /healthz. */
int ps_sim_register(paysim_t *ps);

/* ---- webhooks.c ---- */

typedef struct ps_hooks ps_hooks_t;
int ps_webhooks_start(paysim_t *ps);
/* Stop delivering (what waits is dropped) and join the thread. */
void ps_webhooks_stop(paysim_t *ps);
/* Queue the event type about object (borrowed) for the configured URL,
 * with c's request id and idempotency key. Any thread. */
void ps_webhook_emit(paysim_t *ps, const char *type, json_t *object, const ps_call_t *c);
/* {"emitted","delivered","failed",...} (you own it). */
json_t *ps_webhooks_stats(paysim_t *ps);
/* The "v1" signature header value for body signed at t (out: 128 bytes). */
void ps_webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
                     size_t cap);

/* ---- the simulator ---- */

struct paysim {
    char *secret_key, *webhook_secret;
    bo_server_t *srv;

    pthread_mutex_t mu; /* the ledger and the idempotency results */
    ps_ledger_t ledger;
    ps_idem_t *idem;

    pthread_mutex_t settings_mu;
    ps_settings_t settings;

    struct ps_delayer *delayer;
    ps_hooks_t *hooks;

    /* counters (relaxed) */
    atomic_uint_fast64_t calls, replays, faults_failed, faults_failed_after, faults_timeouts;
};

#endif
