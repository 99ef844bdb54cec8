/*
 * email.h - a buyer's e-mail address, checked and hashed (email.c).
 */
#ifndef BOXOFFICE_UTIL_EMAIL_H
#define BOXOFFICE_UTIL_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BO_EMAIL_MAX       254u /* bytes of an e-mail address (order.h BO_ORDER_EMAIL_MAX) */
#define BO_EMAIL_MAX_LOCAL 64u  /* bytes before its '@' */

/*
 * Whether email is an acceptable buyer address: at most 254 bytes, one '@',
 * a local part of 1..64 bytes (letters, digits, !#$%&'*+/=?^_`{|}~.- and
 * UTF-8; no leading, trailing or double dot) and a domain of two or more
 * dot-separated labels of 1..63 bytes (letters, digits, '-' and UTF-8; no
 * '-' at either end). Writes the customer hash (nonzero: BLAKE2b of the
 * address in ASCII lower case, 8 bytes) to *customer when not NULL.
 */
bool bo_email_customer(const char *email, size_t len, uint64_t *customer);

#endif
