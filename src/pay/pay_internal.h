/*
 * pay_internal.h - helpers shared by the gateway adapter and the webhook
 * parser (src/pay/): the id alphabet and the form encoder of the requests.
 */
#ifndef BOXOFFICE_PAY_INTERNAL_H
#define BOXOFFICE_PAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Whether s[0..len) is a gateway id as boxoffice accepts it: 1 to
 * BO_PAY_ID_MAX-1 characters of [A-Za-z0-9_]. */
bool bo__pay_id_ok(const char *s, size_t len);

/*
 * Append one application/x-www-form-urlencoded field to b, with a '&' first
 * when b is not empty. Every byte of value outside [A-Za-z0-9._~-] is
 * percent-encoded (%XX, upper case) except the space, which becomes '+'. The
 * key is boxoffice's own (a Stripe parameter name): encoded the same way but
 * for '[' and ']', which stay as they are (metadata[order_id]), as in
 * Stripe's own examples.
 */
void bo__form_add(bo_buf_t *b, const char *key, const char *value);
void bo__form_add_i64(bo_buf_t *b, const char *key, int64_t value);

#endif
