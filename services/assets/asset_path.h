/* Request paths below /assets/ turned into index keys. Everything that could name a file outside
 * the asset tree, or that is not the one canonical spelling of a key, is refused: the index holds
 * only canonical keys, so a refused path is simply "not found". */
#pragma once
#include "str.h"
#include <stdbool.h>
#include <stddef.h>

#define ASSET_KEY_MAX     1024 /* bytes of a decoded key */
#define ASSET_SEGMENT_MAX 255  /* bytes of one path segment (NAME_MAX) */

/* Decodes `rest`, the request path after "/assets/" (percent-encoded, no query), into the key
 * "dir/file.js" written NUL-terminated to out. Returns the key length, or:
 *   -EISDIR        the path names a directory ("", "dir/"): no listings, no index.html;
 *   -ENAMETOOLONG  longer than ASSET_KEY_MAX, or a segment longer than ASSET_SEGMENT_MAX;
 *   -EINVAL        anything else that is refused: bad or double percent-encoding, an encoded
 *                  '/', a NUL or control byte, a backslash, an empty segment, a segment that
 *                  starts with '.' (".", "..", dotfiles), or bytes that are not UTF-8. */
int asset_path_key(masd_str rest, char out[ASSET_KEY_MAX + 1]);

/* True when `name`, one path segment as found on disk, is reachable by some request: the
 * index skips everything else, so what it holds and what asset_path_key() yields agree. */
bool asset_path_segment_ok(const char *name, size_t len);
