/* Writes small F32 safetensors files for tests that build a block's weights
 * by name (shapes of up to 4 dims). */
#ifndef VKR_TESTS_ST_WRITER_H
#define VKR_TESTS_ST_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[128];
    int ndim;
    int64_t shape[4];
    float *data;
} st_param;

static inline size_t st_nelem(const st_param *p)
{
    size_t n = 1;
    for (int i = 0; i < p->ndim; i++)
        n *= (size_t)p->shape[i];
    return n;
}

/* 0 on success. The header is built in a growing buffer, so any count fits. */
static inline int st_write(const char *path, const st_param *p, int n)
{
    size_t cap = 256 + (size_t)n * 256, len = 0, off = 0;
    char *h = malloc(cap);
    if (!h)
        return -1;
    len += (size_t)snprintf(h + len, cap - len, "{");
    for (int i = 0; i < n; i++) {
        size_t bytes = st_nelem(&p[i]) * 4;
        len += (size_t)snprintf(h + len, cap - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "",
                                p[i].name);
        for (int d = 0; d < p[i].ndim; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "", (long long)p[i].shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    FILE *f = fopen(path, "wb");
    int ok = f != NULL;
    uint64_t hl = len;
    ok = ok && fwrite(&hl, 8, 1, f) == 1 && fwrite(h, 1, len, f) == len;
    for (int i = 0; i < n && ok; i++)
        ok = fwrite(p[i].data, 4, st_nelem(&p[i]), f) == st_nelem(&p[i]);
    if (f && fclose(f) != 0)
        ok = 0;
    free(h);
    return ok ? 0 : -1;
}

#endif
