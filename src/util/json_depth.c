/*
 * json_depth.c - the nesting pre-scan of json_depth.h. One pass over a
 * body of at most a few hundred kB (the largest a request or a webhook may
 * be), no allocation.
 */
#include <stdbool.h>

#include "util/json_depth.h"

unsigned bo_json_depth(const char *s, size_t len, unsigned limit)
{
    unsigned depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len && max <= limit; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if ((c == '}' || c == ']') && depth) {
            depth--;
        }
    }
    return max;
}
