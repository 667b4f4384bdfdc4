/* What the fuzz targets that split their input into parts share. */
#pragma once
#include "str.h"
#include <stdlib.h>
#include <string.h>

/* abort() rather than assert(): an invariant must hold in every build type. */
static inline void fuzz_require(bool ok)
{
    if (!ok)
        abort();
}

/* A heap copy of exactly s.len bytes, so ASan sees any read past the part. */
static inline char *fuzz_copy(masd_str s)
{
    char *p = malloc(s.len ? s.len : 1);
    fuzz_require(p != NULL);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    return p;
}
