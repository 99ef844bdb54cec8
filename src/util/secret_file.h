/*
 * secret_file.h - secrets kept in files (the admin token, the gateway's
 * keys): one printable word per file, mode 0600, created with a fresh value
 * on first start by whoever owns it.
 */
#ifndef BOXOFFICE_UTIL_SECRET_FILE_H
#define BOXOFFICE_UTIL_SECRET_FILE_H

#include <stddef.h>

#define BO_SECRET_MAX_BYTES 4096

/*
 * The one printable word in path, surrounding white space trimmed, at least
 * min_chars long. Warns on stderr (prefixed by who) when the file is
 * readable by others. Returns 0 and *out (malloc'd: the caller frees it),
 * BO_EIO (errno says why), BO_EINVAL (not one word of min_chars printable
 * characters) or BO_ENOMEM.
 */
int bo_secret_read(const char *path, size_t min_chars, const char *who, char **out);
/* Create path (mode 0600; never over an existing file) holding text and a
 * newline, fsync'd. Returns 0, BO_EEXIST, or BO_EIO (nothing left behind). */
int bo_secret_create(const char *path, const char *text);

#endif
