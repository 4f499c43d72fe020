/* Uniform weight source over safetensors and torch .bin files (weights.h). */
#include "weights.h"

#include "common/status.h"
#include "model/torch_bin.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int is_torch;
    vkr_safetensors st;
    vkr_torch_bin tb;
} source;

typedef struct {
    const vkr_st_tensor *t;
    int used;
} entry;

struct vkr_weights {
    char *name;
    source *src;
    int n_src;
    entry *entries; /* sorted by tensor name */
    int n_entries;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->t->name, ((const entry *)b)->t->name);
}

/* torch.save archives are zips; safetensors files start with a length. */
static int is_zip(const char *path)
{
    unsigned char magic[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* the real open reports the error */
    ssize_t n = read(fd, magic, 4);
    close(fd);
    return n == 4 && memcmp(magic, "PK\3\4", 4) == 0;
}

int vkr_weights_open_files(vkr_weights **out, const char *const *paths, int n, const char *what)
{
    *out = NULL;
    int rc;
    vkr_weights *w = calloc(1, sizeof *w);
    if (!w)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    w->name = strdup(what ? what : n > 0 ? paths[0] : "(no files)");
    w->src = calloc(n > 0 ? (size_t)n : 1, sizeof *w->src);
    if (!w->name || !w->src) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        source *s = &w->src[i];
        s->is_torch = is_zip(paths[i]);
        rc = s->is_torch ? vkr_tb_open(&s->tb, paths[i]) : vkr_st_open(&s->st, paths[i]);
        if (rc)
            goto fail;
        w->n_src = i + 1;
        total += (size_t)(s->is_torch ? s->tb.n_tensors : s->st.n_tensors);
    }
    if (total > INT32_MAX) {
        rc = vkr_fail(VKR_E_DATA, "%s: too many tensors", w->name);
        goto fail;
    }
    w->entries = calloc(total ? total : 1, sizeof *w->entries);
    if (!w->entries) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    for (int i = 0; i < w->n_src; i++) {
        const source *s = &w->src[i];
        int k = s->is_torch ? s->tb.n_tensors : s->st.n_tensors;
        for (int j = 0; j < k; j++)
            w->entries[w->n_entries++].t = s->is_torch ? &s->tb.tensors[j] : &s->st.tensors[j];
    }
    qsort(w->entries, (size_t)w->n_entries, sizeof *w->entries, cmp_entry);
    for (int i = 1; i < w->n_entries; i++)
        if (strcmp(w->entries[i - 1].t->name, w->entries[i].t->name) == 0) {
            rc = vkr_fail(VKR_E_DATA, "%s: tensor '%s' is in more than one file", w->name,
                          w->entries[i].t->name);
            goto fail;
        }
    *out = w;
    return VKR_OK;
fail:
    vkr_weights_close(w);
    return rc;
}

int vkr_weights_open(vkr_weights **w, const char *path)
{
    return vkr_weights_open_files(w, &path, 1, NULL);
}

void vkr_weights_close(vkr_weights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_src; i++) {
        if (w->src[i].is_torch)
            vkr_tb_close(&w->src[i].tb);
        else
            vkr_st_close(&w->src[i].st);
    }
    free(w->src);
    free(w->entries);
    free(w->name);
    free(w);
}

const char *vkr_weights_name(const vkr_weights *w) { return w->name; }
int vkr_weights_count(const vkr_weights *w) { return w->n_entries; }

const vkr_st_tensor *vkr_weights_at(const vkr_weights *w, int i)
{
    return i >= 0 && i < w->n_entries ? w->entries[i].t : NULL;
}

static entry *lookup(const vkr_weights *w, const char *name)
{
    int lo = 0, hi = w->n_entries - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, w->entries[mid].t->name);
        if (c == 0)
            return &w->entries[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const vkr_st_tensor *vkr_weights_find(const vkr_weights *w, const char *name)
{
    const entry *e = lookup(w, name);
    return e ? e->t : NULL;
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *dims)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++) {
        if (dims[i] < 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s*", i ? ", " : "");
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

int vkr_weights_get(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                    const vkr_st_tensor **out)
{
    entry *e = lookup(w, name);
    if (!e)
        return vkr_fail(VKR_E_DATA, "%s: missing tensor '%s'", w->name, name);
    const vkr_st_tensor *t = e->t;
    int match = t->ndim == ndim;
    for (int i = 0; match && i < ndim; i++)
        match = dims[i] < 0 || dims[i] == t->shape[i];
    if (!match) {
        char got[256], want[256];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, dims);
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s' has shape %s, expected %s", w->name, name,
                        got, want);
    }
    e->used = 1;
    *out = t;
    return VKR_OK;
}

static int is_float(vkr_dtype d) { return d == VKR_F32 || d == VKR_F16 || d == VKR_BF16 || d == VKR_F64; }

int vkr_weights_read_f32(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                         float *dst)
{
    const vkr_st_tensor *t;
    int rc = vkr_weights_get(w, name, ndim, dims, &t);
    if (rc)
        return rc;
    if (!is_float(t->dtype))
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s' has dtype %s, expected a float type",
                        w->name, name, vkr_dtype_name(t->dtype));
    return vkr_st_to_f32(t, dst);
}

int vkr_weights_load_f32(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                         float **out)
{
    *out = NULL;
    const vkr_st_tensor *t;
    int rc = vkr_weights_get(w, name, ndim, dims, &t);
    if (rc)
        return rc;
    float *buf = malloc(t->numel ? (size_t)t->numel * sizeof *buf : 1);
    if (!buf)
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory for tensor '%s'", w->name, name);
    rc = vkr_weights_read_f32(w, name, ndim, dims, buf);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    return VKR_OK;
}

int vkr_weights_load_i64(vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                         int64_t **out)
{
    *out = NULL;
    const vkr_st_tensor *t;
    int rc = vkr_weights_get(w, name, ndim, dims, &t);
    if (rc)
        return rc;
    int64_t *buf = malloc(t->numel ? (size_t)t->numel * sizeof *buf : 1);
    if (!buf)
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory for tensor '%s'", w->name, name);
    rc = vkr_st_to_i64(t, buf);
    if (rc) {
        free(buf);
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s' has dtype %s, expected an integer type",
                        w->name, name, vkr_dtype_name(t->dtype));
    }
    *out = buf;
    return VKR_OK;
}

int vkr_weights_skip(vkr_weights *w, const char *name)
{
    entry *e = lookup(w, name);
    if (e)
        e->used = 1;
    return e != NULL;
}

int vkr_weights_skip_prefix(vkr_weights *w, const char *prefix)
{
    size_t n = strlen(prefix);
    int count = 0;
    for (int i = 0; i < w->n_entries; i++)
        if (strncmp(w->entries[i].t->name, prefix, n) == 0) {
            w->entries[i].used = 1;
            count++;
        }
    return count;
}

int vkr_weights_unused(const vkr_weights *w, const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < w->n_entries; i++)
        if (!w->entries[i].used) {
            if (n < max)
                names[n] = w->entries[i].t->name;
            n++;
        }
    return n;
}

int vkr_weights_check_all_used(const vkr_weights *w)
{
    const char *names[8];
    int n = vkr_weights_unused(w, names, 8);
    if (n == 0)
        return VKR_OK;
    char list[1024];
    size_t len = 0;
    list[0] = 0;
    for (int i = 0; i < n && i < 8 && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    return vkr_fail(VKR_E_DATA, "%s: %d unexpected tensor%s: %s%s", w->name, n, n == 1 ? "" : "s",
                    list, n > 8 ? ", ..." : "");
}
