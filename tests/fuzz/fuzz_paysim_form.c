/*
 * fuzz_paysim_form.c - libFuzzer harness for paysim's form decoder
 * (ps_form_parse, tools/paysim/form.c: every gateway call's parameters,
 * Stripe's a[b][c]=v encoding) and, on its answers, the server's form
 * encoder (bo__form_add, src/pay/form.c). The input is the form, given as
 * exactly its bytes (so an over-read shows). Checks:
 * - it parses to a tree of objects whose leaves are UTF-8 strings without
 *   NUL, at most PS_MAX_DEPTH brackets deep, or it is refused with a
 *   message;
 * - a parsed tree, written back by the server's encoder (one a[b][c]=v
 *   per leaf), parses to the same tree, unless the writing is past
 *   paysim's bounds (a "[]" index can make a name longer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/paysim/paysim.h"
#include "boxoffice/error.h"
#include "pay/pay_internal.h"
#include "util/text.h"

typedef struct walk {
    bo_buf_t out;
    unsigned leaves;
    size_t longest_name;
} walk_t;

/* Check the tree under obj (at depth brackets below a name) and write its
 * leaves, named name (len bytes), into w. */
static void walk(const json_t *obj, int depth, char *name, size_t len, walk_t *w)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj) || (depth > 0 && json_object_size(obj) == 0) ||
        depth > (int)PS_MAX_DEPTH + 1)
        abort();
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t klen = strlen(k), n = len;
        if ((depth == 0 && klen == 0) || strpbrk(k, "[]") || !bo_utf8_valid(k, klen))
            abort();
        if (n + klen + 3 > 4096)
            abort();
        if (depth == 0) {
            memcpy(name, k, klen);
            n = klen;
        } else {
            name[n++] = '[';
            memcpy(name + n, k, klen);
            n += klen;
            name[n++] = ']';
        }
        name[n] = '\0';
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            size_t slen = json_string_length(v);
            if (strlen(s) != slen || slen > PS_MAX_VALUE_BYTES || !bo_utf8_valid(s, slen))
                abort();
            bo__form_add(&w->out, name, s);
            w->leaves++;
            w->longest_name = n > w->longest_name ? n : w->longest_name;
        } else {
            walk(v, depth + 1, name, n, w);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1), err[256] = "", name[4096];
    if (!in)
        abort();
    memcpy(in, data, size);
    json_t *tree = NULL;
    int rc = ps_form_parse(in, size, &tree, err, sizeof(err));
    if (rc != 0) {
        if (rc != BO_EINVAL || tree || !err[0])
            abort();
        free(in);
        return 0;
    }
    walk_t w = {.leaves = 0};
    bo_buf_init(&w.out, 0);
    walk(tree, 0, name, 0, &w);
    size_t len;
    char *again_text = bo_buf_take(&w.out, &len);
    if (!again_text)
        abort();
    if (w.leaves > PS_MAX_PARAMS)
        abort();
    if (len <= PS_MAX_BODY_BYTES && w.longest_name <= PS_MAX_KEY_BYTES) {
        json_t *again = NULL;
        if (ps_form_parse(again_text, len, &again, err, sizeof(err)) || !json_equal(tree, again))
            abort();
        json_decref(again);
    }
    free(again_text);
    json_decref(tree);
    free(in);
    return 0;
}
