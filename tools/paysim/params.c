/*
 * params.c - typed reads of the parameter tree that form.c builds, with
 * Stripe's 400 answers (invalid_request_error, the offending param named)
 * for whatever does not fit: unknown names, missing or malformed amounts,
 * booleans other than true/false, metadata past Stripe's limits (50 keys,
 * keys of 40 characters, values of 500).
 *
 * Workload: a handful of reads per call on a tree of a few nodes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "paysim.h"

static bool listed(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(name, *names))
            return true;
    return false;
}

int ps_params_allow(const json_t *params, const char *const *names, ps_answer_t *a)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        if (!listed(key, names)) {
            ps_answer_error(a, 400, "invalid_request_error", "parameter_unknown", key,
                            "Received unknown parameter: %s", key);
            return BO_EINVAL;
        }
    }
    return 0;
}

int ps_param_str(const json_t *params, const char *name, const char **out, ps_answer_t *a)
{
    json_t *v = json_object_get(params, name);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, name,
                        "Invalid string: %s must be a plain value, not a hash.", name);
        return BO_EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

/* Decimal digits with an optional '-', nothing else, within int64. */
static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int ps_param_int(const json_t *params, const char *name, int64_t min, int64_t max, int64_t *out,
                 bool *present, ps_answer_t *a)
{
    const char *s;
    *present = false;
    if (ps_param_str(params, name, &s, a))
        return BO_EINVAL;
    if (!s)
        return 0;
    if (parse_i64(s, out)) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_invalid_integer", name,
                        "Invalid integer: %.40s", s);
        return BO_EINVAL;
    }
    if (*out < min || *out > max) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_invalid_integer", name,
                        "Invalid integer: %s must be between %lld and %lld.", name, (long long)min,
                        (long long)max);
        return BO_EINVAL;
    }
    *present = true;
    return 0;
}

int ps_param_amount(const json_t *params, bool optional, int64_t *out, bool *present,
                    ps_answer_t *a)
{
    const char *s;
    *present = false;
    if (ps_param_str(params, "amount", &s, a))
        return BO_EINVAL;
    if (!s && optional)
        return 0;
    if (!s) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_missing", "amount",
                        "Missing required param: amount.");
        return BO_EINVAL;
    }
    if (parse_i64(s, out)) {
        ps_answer_error(a, 400, "invalid_request_error", "parameter_invalid_integer", "amount",
                        "Invalid integer: %.40s", s);
        return BO_EINVAL;
    }
    if (*out < 1) {
        ps_answer_error(a, 400, "invalid_request_error", "amount_too_small", "amount",
                        "Amount must be at least 1 (in the currency's minor unit).");
        return BO_EINVAL;
    }
    if (*out > PS_AMOUNT_MAX) {
        ps_answer_error(a, 400, "invalid_request_error", "amount_too_large", "amount",
                        "Amount must be no more than %d (in the currency's minor unit).",
                        PS_AMOUNT_MAX);
        return BO_EINVAL;
    }
    *present = true;
    return 0;
}

int ps_param_bool(const json_t *params, const char *name, bool def, bool *out, ps_answer_t *a)
{
    const char *s;
    *out = def;
    if (ps_param_str(params, name, &s, a))
        return BO_EINVAL;
    if (!s)
        return 0;
    if (strcmp(s, "true") && strcmp(s, "false")) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, name,
                        "Invalid boolean: %.40s (true or false)", s);
        return BO_EINVAL;
    }
    *out = !strcmp(s, "true");
    return 0;
}

static int metadata_entry(json_t *md, const char *key, json_t *v, ps_answer_t *a)
{
    if (!json_is_string(v)) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "metadata",
                        "Invalid metadata: the value of %.40s must be a string.", key);
        return BO_EINVAL;
    }
    if (strlen(key) > PS_METADATA_KEY_MAX) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "metadata",
                        "Metadata keys must be at most %u characters long.", PS_METADATA_KEY_MAX);
        return BO_EINVAL;
    }
    if (json_string_length(v) > PS_METADATA_VALUE_MAX) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "metadata",
                        "Metadata values must be at most %u characters long.",
                        PS_METADATA_VALUE_MAX);
        return BO_EINVAL;
    }
    if (json_string_length(v) == 0) /* Stripe: an empty value unsets the key */
        return 0;
    if (json_object_size(md) >= PS_METADATA_KEYS) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, "metadata",
                        "Metadata can have at most %u keys.", PS_METADATA_KEYS);
        return BO_EINVAL;
    }
    return json_object_set(md, key, v) ? BO_ENOMEM : 0;
}

int ps_param_metadata(const json_t *params, json_t **out, ps_answer_t *a)
{
    json_t *v = json_object_get(params, "metadata"), *md = json_object();
    const char *key;
    json_t *item;
    *out = NULL;
    if (!md)
        return BO_ENOMEM;
    if (v && json_is_string(v) && json_string_length(v) > 0) {
        json_decref(md);
        ps_answer_error(a, 400, "invalid_request_error", NULL, "metadata",
                        "Invalid object: metadata must be a hash (metadata[key]=value).");
        return BO_EINVAL;
    }
    if (v && json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            if (metadata_entry(md, key, item, a)) {
                json_decref(md);
                return BO_EINVAL;
            }
        }
    }
    *out = md;
    return 0;
}

int ps_param_enum(const json_t *params, const char *name, const char *const *values,
                  const char **out, ps_answer_t *a)
{
    const char *s;
    *out = NULL;
    if (ps_param_str(params, name, &s, a))
        return BO_EINVAL;
    if (!s)
        return 0;
    for (; *values; values++) {
        if (!strcmp(s, *values)) {
            *out = *values;
            return 0;
        }
    }
    ps_answer_error(a, 400, "invalid_request_error", NULL, name, "Invalid %s: %.60s", name, s);
    return BO_EINVAL;
}

int ps_param_list(const json_t *params, const char *name, const char *const *allowed,
                  ps_answer_t *a)
{
    json_t *v = json_object_get(params, name);
    if (!v)
        return 0;
    if (!json_is_object(v)) {
        ps_answer_error(a, 400, "invalid_request_error", NULL, name,
                        "Invalid array: %s must be a list (%s[]=...).", name, name);
        return BO_EINVAL;
    }
    for (size_t i = 0; i < json_object_size(v); i++) {
        char key[24];
        snprintf(key, sizeof(key), "%zu", i);
        json_t *item = json_object_get(v, key);
        if (!item || !json_is_string(item)) {
            ps_answer_error(a, 400, "invalid_request_error", NULL, name,
                            "Invalid array: %s must be a list of strings indexed from 0.", name);
            return BO_EINVAL;
        }
        if (allowed && !listed(json_string_value(item), allowed)) {
            ps_answer_error(a, 400, "invalid_request_error", NULL, name,
                            "Invalid %s: %.60s is not supported here.", name,
                            json_string_value(item));
            return BO_EINVAL;
        }
    }
    return 0;
}
