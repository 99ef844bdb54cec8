/*
 * text.h - what text from outside may hold. Every name, e-mail address and
 * free text a request brings in (a buyer's name and address, venue, event,
 * section and category names, descriptions, staff-token names, block
 * reasons) goes through bo_text_check before it is kept: it will end up in
 * e-mail headers, logs, CSV exports and other people's screens, where a
 * CR/LF, an escape sequence or a bidi override does harm.
 *
 * Refused: invalid UTF-8 (overlongs, surrogates, past U+10FFFF), the C0
 * controls U+0000..U+001F (LF and TAB allowed in multi-line text only),
 * DEL, the C1 controls U+0080..U+009F, the line and paragraph separators
 * U+2028/U+2029, and the bidi embeddings, overrides and isolates
 * U+202A..U+202E, U+2066..U+2069 (the "Trojan Source" characters). The
 * bidi marks U+200E/U+200F/U+061C stay allowed: right-to-left names need
 * them and they cannot reorder text past themselves.
 */
#ifndef BOXOFFICE_UTIL_TEXT_H
#define BOXOFFICE_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define BO_TEXT_MULTILINE 1u /* allow LF and TAB (descriptions) */

/* The byte offset in s (len bytes) of the first character text may not
 * hold (see above), or len when there is none. */
size_t bo_text_check(const char *s, size_t len, unsigned flags);

static inline bool bo_text_ok(const char *s, size_t len, unsigned flags)
{
    return bo_text_check(s, len, flags) == len;
}

/* Whether s (len bytes) is well-formed UTF-8 (NUL bytes allowed). */
bool bo_utf8_valid(const char *s, size_t len);

#endif
