/*
 * json_depth.h - the one pre-scan of JSON nesting, run on outside JSON
 * (request bodies, gateway webhooks) before jansson parses it: jansson's
 * own limit (2048) is far above anything either reads, and a shallow
 * limit refuses a deep body without building a tree.
 */
#ifndef BOXOFFICE_UTIL_JSON_DEPTH_H
#define BOXOFFICE_UTIL_JSON_DEPTH_H

#include <stddef.h>

/* The deepest nesting of arrays and objects in s[0..len), brackets inside
 * strings skipped; the scan stops once it is past limit (so the answer is
 * then limit + 1). Text that is not JSON gets some number: the parser
 * refuses it anyway. */
unsigned bo_json_depth(const char *s, size_t len, unsigned limit);

#endif
