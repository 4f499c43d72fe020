/* safetensors reader. See safetensors.h for the guarantees.
 *
 * The file is trusted for nothing: every number in the header is checked
 * before it is used to form a pointer, so that the only memory ever read is
 * inside the mapping. */
#include "safetensors.h"

#include "mapped_file.h"

#include "common/status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint readers assume a little-endian host"
#endif

/* A real header is a few MB at most (one line per tensor); the cap stops a
 * hostile length from making us parse gigabytes of JSON. */
#define ST_MAX_HEADER (100u << 20)
/* JSON numbers are doubles: above 2^53 integers are no longer exact. */
#define ST_MAX_INT 9007199254740992.0

/* Reads a JSON number that must be an exact non-negative integer. */
static int json_uint(const cJSON *j, int64_t *out)
{
    if (!cJSON_IsNumber(j))
        return 0;
    double d = j->valuedouble;
    if (!(d >= 0.0) || d > ST_MAX_INT || d != floor(d))
        return 0;
    *out = (int64_t)d;
    return 1;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const vkr_st_tensor *)a)->name, ((const vkr_st_tensor *)b)->name);
}

typedef struct {
    size_t begin, end;
    int index;
} st_range;

static int cmp_range(const void *a, const void *b)
{
    const st_range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Fills t from one header entry; data is the start of the data section. */
static int parse_entry(const char *path, const cJSON *e, const uint8_t *data, size_t data_len,
                       vkr_st_tensor *t, size_t *begin_out, size_t *end_out)
{
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': header entry is not an object", path, name);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dt))
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': missing or non-string \"dtype\"", path, name);
    if (!vkr_dtype_from_name(dt->valuestring, &t->dtype))
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': unsupported dtype \"%s\"", path, name,
                        dt->valuestring);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!cJSON_IsArray(shape))
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': missing or non-array \"shape\"", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > VKR_MAX_DIMS)
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': %d dimensions, at most %d supported", path,
                        name, ndim, VKR_MAX_DIMS);
    t->ndim = ndim;
    /* numel * element size must fit in the file anyway; checking against
     * INT64_MAX before each multiplication keeps the arithmetic defined. */
    int64_t numel = 1;
    const cJSON *d;
    int i = 0;
    cJSON_ArrayForEach(d, shape)
    {
        int64_t v;
        if (!json_uint(d, &v))
            return vkr_fail(VKR_E_DATA,
                            "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name,
                            i);
        t->shape[i++] = v;
        if (v != 0 && numel > INT64_MAX / v)
            return vkr_fail(VKR_E_DATA, "%s: tensor '%s': shape overflows (too many elements)",
                            path, name);
        numel *= v;
    }
    t->numel = numel;
    int64_t esize = (int64_t)vkr_dtype_size(t->dtype);
    if (numel > INT64_MAX / esize)
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': shape overflows (too many bytes)", path,
                        name);
    int64_t nbytes = numel * esize;

    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    int64_t begin, end;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &begin) ||
        !json_uint(off->child->next, &end))
        return vkr_fail(VKR_E_DATA,
                        "%s: tensor '%s': \"data_offsets\" is not [begin, end] (non-negative "
                        "integers)",
                        path, name);
    if (begin > end)
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': data_offsets [%lld, %lld] end before begin",
                        path, name, (long long)begin, (long long)end);
    if ((uint64_t)end > data_len)
        return vkr_fail(VKR_E_DATA,
                        "%s: tensor '%s': data_offsets [%lld, %lld] past the end of the data "
                        "section (%zu bytes; file truncated?)",
                        path, name, (long long)begin, (long long)end, data_len);
    if (end - begin != nbytes)
        return vkr_fail(VKR_E_DATA,
                        "%s: tensor '%s': data_offsets span %lld bytes but %s x %lld elements "
                        "needs %lld",
                        path, name, (long long)(end - begin), vkr_dtype_name(t->dtype),
                        (long long)numel, (long long)nbytes);
    t->data = data + begin;
    t->nbytes = (size_t)nbytes;
    *begin_out = (size_t)begin;
    *end_out = (size_t)end;
    return VKR_OK;
}

static int parse_header(vkr_safetensors *st, const char *hdr, size_t hdr_len, const uint8_t *data,
                        size_t data_len)
{
    const char *path = st->path;
    st_range *ranges = NULL;
    int rc;
    cJSON *root = cJSON_ParseWithLength(hdr, hdr_len);
    if (!root)
        return vkr_fail(VKR_E_DATA, "%s: header is not valid JSON (near byte %td)", path,
                        cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - hdr : (ptrdiff_t)-1);
    if (!cJSON_IsObject(root)) {
        rc = vkr_fail(VKR_E_DATA, "%s: header is not a JSON object", path);
        goto fail;
    }

    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) n++;
    st->tensors = calloc(n ? (size_t)n : 1, sizeof *st->tensors);
    ranges = calloc(n ? (size_t)n : 1, sizeof *ranges);
    if (!st->tensors || !ranges) {
        rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory for %d tensor entries", path, n);
        goto fail;
    }

    int have_meta = 0;
    cJSON_ArrayForEach(e, root)
    {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (have_meta++) {
                rc = vkr_fail(VKR_E_DATA, "%s: duplicate \"__metadata__\"", path);
                goto fail;
            }
            if (!cJSON_IsObject(e)) {
                rc = vkr_fail(VKR_E_DATA, "%s: \"__metadata__\" is not an object", path);
                goto fail;
            }
            st->metadata_json = cJSON_PrintUnformatted(e);
            if (!st->metadata_json) {
                rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory", path);
                goto fail;
            }
            continue;
        }
        vkr_st_tensor *t = &st->tensors[st->n_tensors];
        st_range *r = &ranges[st->n_tensors];
        rc = parse_entry(path, e, data, data_len, t, &r->begin, &r->end);
        if (rc)
            goto fail;
        t->name = strdup(e->string);
        if (!t->name) {
            rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory", path);
            goto fail;
        }
        r->index = st->n_tensors++;
    }

    /* Overlap check: sorted by begin, each non-empty range must start at or
     * after the end of every earlier one. Empty tensors own no bytes. */
    qsort(ranges, (size_t)st->n_tensors, sizeof *ranges, cmp_range);
    size_t max_end = 0;
    int max_idx = -1;
    for (int i = 0; i < st->n_tensors; i++) {
        if (ranges[i].begin == ranges[i].end)
            continue;
        if (max_idx >= 0 && ranges[i].begin < max_end) {
            rc = vkr_fail(VKR_E_DATA,
                          "%s: tensor '%s': data_offsets [%zu, %zu] overlap tensor '%s' (ends at "
                          "%zu)",
                          path, st->tensors[ranges[i].index].name, ranges[i].begin, ranges[i].end,
                          st->tensors[max_idx].name, max_end);
            goto fail;
        }
        max_end = ranges[i].end;
        max_idx = ranges[i].index;
    }

    qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, cmp_name);
    for (int i = 1; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0) {
            rc = vkr_fail(VKR_E_DATA, "%s: tensor '%s': duplicate name in header", path,
                          st->tensors[i].name);
            goto fail;
        }
    rc = VKR_OK;
fail:
    free(ranges);
    cJSON_Delete(root);
    return rc;
}

/* Length field, header and data section of buf[0..len); st->path is set. */
static int parse_buffer(vkr_safetensors *st, const uint8_t *p, size_t len)
{
    const char *path = st->path;
    if (len < 8)
        return vkr_fail(VKR_E_DATA, "%s: %zu bytes, too short for a safetensors header", path,
                        len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen > len - 8)
        return vkr_fail(VKR_E_DATA,
                        "%s: header length %llu exceeds the file (%zu bytes; truncated or not a "
                        "safetensors file)",
                        path, (unsigned long long)hlen, len);
    if (hlen > ST_MAX_HEADER)
        return vkr_fail(VKR_E_DATA, "%s: header length %llu exceeds the %u MiB limit", path,
                        (unsigned long long)hlen, ST_MAX_HEADER >> 20);
    return parse_header(st, (const char *)p + 8, (size_t)hlen, p + 8 + hlen, len - 8 - (size_t)hlen);
}

int vkr_st_open_memory(vkr_safetensors *st, const void *buf, size_t len, const char *what)
{
    memset(st, 0, sizeof *st);
    st->path = strdup(what);
    if (!st->path)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = parse_buffer(st, buf, len);
    if (rc)
        vkr_st_close(st);
    return rc;
}

int vkr_st_open(vkr_safetensors *st, const char *path)
{
    memset(st, 0, sizeof *st);
    st->path = strdup(path);
    if (!st->path)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = vkr_map_file(path, 8, "a safetensors header", &st->map, &st->map_len);
    if (!rc)
        rc = parse_buffer(st, st->map, st->map_len);
    if (rc)
        vkr_st_close(st);
    return rc;
}

void vkr_st_close(vkr_safetensors *st)
{
    vkr_unmap_file(st->map, st->map_len);
    for (int i = 0; i < st->n_tensors; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    free(st->path);
    cJSON_free(st->metadata_json);
    memset(st, 0, sizeof *st);
}

const vkr_st_tensor *vkr_st_find(const vkr_safetensors *st, const char *name)
{
    int lo = 0, hi = st->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->tensors[mid].name);
        if (c == 0)
            return &st->tensors[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Element loads go through memcpy: offsets in the file need not be aligned. */
#define CONVERT(type, expr)                                                                        \
    for (size_t i = 0; i < n; i++) {                                                               \
        type v;                                                                                    \
        memcpy(&v, (const uint8_t *)p + i * sizeof v, sizeof v);                                   \
        out[i] = (expr);                                                                           \
    }

int vkr_st_to_f32(const vkr_st_tensor *t, float *out)
{
    const void *p = t->data;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case VKR_F32:
        if (n)
            memcpy(out, p, n * 4);
        break;
    case VKR_F16:
        CONVERT(uint16_t, vkr_f16_to_f32(v))
        break;
    case VKR_BF16:
        CONVERT(uint16_t, vkr_bf16_to_f32(v))
        break;
    case VKR_F64:
        CONVERT(double, (float)v)
        break;
    case VKR_I64:
        CONVERT(int64_t, (float)v)
        break;
    case VKR_I32:
        CONVERT(int32_t, (float)v)
        break;
    case VKR_I16:
        CONVERT(int16_t, (float)v)
        break;
    case VKR_I8:
        CONVERT(int8_t, (float)v)
        break;
    case VKR_U8:
        CONVERT(uint8_t, (float)v)
        break;
    case VKR_BOOL:
        CONVERT(uint8_t, v ? 1.0f : 0.0f)
        break;
    default:
        return vkr_fail(VKR_E_INTERNAL, "tensor '%s': bad dtype %d", t->name, (int)t->dtype);
    }
    return VKR_OK;
}

int vkr_st_to_i64(const vkr_st_tensor *t, int64_t *out)
{
    const void *p = t->data;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case VKR_I64:
        if (n)
            memcpy(out, p, n * 8);
        break;
    case VKR_I32:
        CONVERT(int32_t, v)
        break;
    case VKR_I16:
        CONVERT(int16_t, v)
        break;
    case VKR_I8:
        CONVERT(int8_t, v)
        break;
    case VKR_U8:
        CONVERT(uint8_t, v)
        break;
    case VKR_BOOL:
        CONVERT(uint8_t, v != 0)
        break;
    default:
        return vkr_fail(VKR_E_DATA, "tensor '%s': dtype %s is not an integer type", t->name,
                        vkr_dtype_name(t->dtype));
    }
    return VKR_OK;
}

float *vkr_st_load_f32(const vkr_safetensors *st, const char *name, int64_t *numel)
{
    const vkr_st_tensor *t = vkr_st_find(st, name);
    if (!t) {
        vkr_fail(VKR_E_DATA, "%s: missing tensor '%s'", st->path, name);
        return NULL;
    }
    if ((uint64_t)t->numel > SIZE_MAX / sizeof(float)) {
        vkr_fail(VKR_E_DATA, "%s: tensor '%s' too large", st->path, name);
        return NULL;
    }
    float *out = malloc(t->numel ? (size_t)t->numel * sizeof(float) : 1);
    if (!out) {
        vkr_fail(VKR_E_INTERNAL, "%s: out of memory for tensor '%s' (%lld elements)", st->path,
                 name, (long long)t->numel);
        return NULL;
    }
    vkr_st_to_f32(t, out);
    if (numel)
        *numel = t->numel;
    return out;
}
