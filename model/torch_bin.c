/* torch.save archive reader: zip directory -> restricted unpickler ->
 * tensors checked against their storages. See torch_bin.h. */
#include "torch_bin.h"

#include "mapped_file.h"

#include "common/status.h"
#include "model/torch_pickle.h"
#include "model/zip_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const vkr_st_tensor *)a)->name, ((const vkr_st_tensor *)b)->name);
}

/* The archive's records live under one top-level folder whose name torch
 * takes from the file name ("archive", "pytorch_model", ...). */
static int find_prefix(const vkr_zip *z, const char *what, char *prefix, size_t cap)
{
    const char *found = NULL;
    for (int i = 0; i < z->n_entries; i++) {
        const char *n = z->entries[i].name, *slash = strchr(n, '/');
        if (!slash || strcmp(slash, "/data.pkl") != 0)
            continue;
        if (found)
            return vkr_fail(VKR_E_DATA, "%s: several data.pkl records ('%s', '%s')", what, found,
                            n);
        found = n;
    }
    if (!found)
        return vkr_fail(VKR_E_DATA,
                        "%s: zip archive without a <name>/data.pkl record: not a torch.save file",
                        what);
    size_t len = (size_t)(strchr(found, '/') - found);
    if (len + 1 > cap)
        return vkr_fail(VKR_E_DATA, "%s: archive folder name too long", what);
    memcpy(prefix, found, len);
    prefix[len] = 0;
    return VKR_OK;
}

/* Copies a strided view into contiguous memory (row-major, last index fastest). */
static void gather(const vkr_pickled_tensor *p, const uint8_t *storage, size_t esize, uint8_t *dst,
                   int64_t numel)
{
    int64_t idx[VKR_MAX_DIMS] = {0};
    int64_t src = p->offset;
    for (int64_t k = 0; k < numel; k++) {
        memcpy(dst + (size_t)k * esize, storage + (size_t)src * esize, esize);
        for (int d = p->ndim - 1; d >= 0; d--) {
            src += p->stride[d];
            if (++idx[d] < p->shape[d])
                break;
            src -= p->stride[d] * p->shape[d];
            idx[d] = 0;
        }
    }
}

/* Checks one pickled tensor against its storage entry and fills t (and
 * *copy when the view is not contiguous). */
static int materialize(const char *what, const vkr_zip *z, const char *prefix,
                       const vkr_pickled_tensor *p, vkr_st_tensor *t, void **copy)
{
    char entry_name[512];
    const char *name = p->name;
    if (snprintf(entry_name, sizeof entry_name, "%s/data/%s", prefix, p->storage_key) >=
        (int)sizeof entry_name)
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': storage key too long", what, name);
    const vkr_zip_entry *e = vkr_zip_find(z, entry_name);
    if (!e)
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': storage record '%s' is missing", what, name,
                        entry_name);
    const uint8_t *data;
    size_t size;
    int rc = vkr_zip_stored(z, e, &data, &size);
    if (rc)
        return vkr_fail_context(rc, "tensor '%s'", name);
    size_t esize = vkr_dtype_size(p->dtype);
    if ((uint64_t)p->storage_numel > SIZE_MAX / esize || (size_t)p->storage_numel * esize != size)
        return vkr_fail(VKR_E_DATA,
                        "%s: tensor '%s': storage '%s' holds %zu bytes but %lld %s elements "
                        "need %llu",
                        what, name, entry_name, size, (long long)p->storage_numel,
                        vkr_dtype_name(p->dtype),
                        (unsigned long long)p->storage_numel * (unsigned long long)esize);

    /* numel, the last element reached, and contiguity, all overflow-checked. */
    int64_t numel = 1, last = p->offset, expect = 1;
    int contiguous = 1;
    for (int d = p->ndim - 1; d >= 0; d--) {
        int64_t n = p->shape[d], s = p->stride[d];
        if (n != 0 && numel > INT64_MAX / n)
            return vkr_fail(VKR_E_DATA, "%s: tensor '%s': shape overflows", what, name);
        numel *= n;
        if (n > 1) {
            if (s != 0 && n - 1 > (INT64_MAX - last) / s)
                return vkr_fail(VKR_E_DATA, "%s: tensor '%s': strides overflow", what, name);
            last += (n - 1) * s;
            if (s != expect)
                contiguous = 0;
        }
        if (n != 0 && expect > INT64_MAX / n)
            expect = INT64_MAX; /* only compared against strides; numel already overflowed */
        else
            expect *= n;
    }
    if (numel > 0 && last >= p->storage_numel)
        return vkr_fail(VKR_E_DATA,
                        "%s: tensor '%s': view (offset %lld, shape/stride) reaches element %lld "
                        "of a %lld-element storage",
                        what, name, (long long)p->offset, (long long)last,
                        (long long)p->storage_numel);
    if ((uint64_t)numel > SIZE_MAX / esize)
        return vkr_fail(VKR_E_DATA, "%s: tensor '%s': too large", what, name);

    t->dtype = p->dtype;
    t->ndim = p->ndim;
    memcpy(t->shape, p->shape, sizeof t->shape);
    t->numel = numel;
    t->nbytes = (size_t)numel * esize;
    if (numel == 0) {
        t->data = data;
    } else if (contiguous) {
        t->data = data + (size_t)p->offset * esize;
    } else {
        uint8_t *c = malloc(t->nbytes);
        if (!c)
            return vkr_fail(VKR_E_INTERNAL, "%s: out of memory copying tensor '%s'", what, name);
        gather(p, data, esize, c, numel);
        t->data = c;
        *copy = c;
    }
    t->name = strdup(name);
    if (!t->name)
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory", what);
    return VKR_OK;
}

static int check_format(const uint8_t *b, size_t len, const char *what)
{
    if (len >= 4 && memcmp(b, "PK\3\4", 4) == 0)
        return VKR_OK;
    if (len >= 2 && b[0] == 0x80 && b[1] <= 5)
        return vkr_fail(VKR_E_DATA,
                        "%s: legacy (pre-1.6) torch.save format is not supported; re-save it "
                        "with a current torch.save or convert it to safetensors",
                        what);
    if (len >= 262 && memcmp(b + 257, "ustar", 5) == 0)
        return vkr_fail(VKR_E_DATA,
                        "%s: legacy tar-based torch.save format is not supported; convert it to "
                        "safetensors",
                        what);
    return vkr_fail(VKR_E_DATA, "%s: not a PyTorch checkpoint (no zip signature)", what);
}

static int parse(vkr_torch_bin *tb, const void *buf, size_t len, const char *what)
{
    vkr_zip z = {0};
    vkr_pickled_tensor *pt = NULL;
    int npt = 0, rc;
    char prefix[256];
    if ((rc = check_format(buf, len, what)) || (rc = vkr_zip_open(&z, buf, len, what)) ||
        (rc = find_prefix(&z, what, prefix, sizeof prefix)))
        goto fail;

    char rec[300];
    snprintf(rec, sizeof rec, "%s/byteorder", prefix);
    const vkr_zip_entry *e = vkr_zip_find(&z, rec);
    const uint8_t *data;
    size_t size;
    if (e) {
        if ((rc = vkr_zip_stored(&z, e, &data, &size)))
            goto fail;
        if (size != 6 || memcmp(data, "little", 6) != 0) {
            rc = vkr_fail(VKR_E_DATA, "%s: byteorder is not 'little'", what);
            goto fail;
        }
    }
    snprintf(rec, sizeof rec, "%s/data.pkl", prefix);
    e = vkr_zip_find(&z, rec);
    if ((rc = vkr_zip_stored(&z, e, &data, &size)) ||
        (rc = vkr_torch_unpickle(data, size, what, &pt, &npt)))
        goto fail;

    tb->tensors = calloc(npt ? (size_t)npt : 1, sizeof *tb->tensors);
    tb->copies = calloc(npt ? (size_t)npt : 1, sizeof *tb->copies);
    if (!tb->tensors || !tb->copies) {
        rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory", what);
        goto fail;
    }
    for (int i = 0; i < npt; i++) {
        rc = materialize(what, &z, prefix, &pt[i], &tb->tensors[i], &tb->copies[i]);
        tb->n_tensors = i + 1; /* so close() frees a partly filled entry */
        if (rc)
            goto fail;
    }
    /* Sort tensors and their copies together. */
    {
        typedef struct {
            vkr_st_tensor t;
            void *copy;
        } pair;
        pair *pp = malloc((size_t)(tb->n_tensors ? tb->n_tensors : 1) * sizeof *pp);
        if (!pp) {
            rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory", what);
            goto fail;
        }
        for (int i = 0; i < tb->n_tensors; i++) {
            pp[i].t = tb->tensors[i];
            pp[i].copy = tb->copies[i];
        }
        qsort(pp, (size_t)tb->n_tensors, sizeof *pp, cmp_name); /* t is the first member */
        for (int i = 0; i < tb->n_tensors; i++) {
            tb->tensors[i] = pp[i].t;
            tb->copies[i] = pp[i].copy;
        }
        free(pp);
    }
    for (int i = 1; i < tb->n_tensors; i++)
        if (strcmp(tb->tensors[i - 1].name, tb->tensors[i].name) == 0) {
            rc = vkr_fail(VKR_E_DATA, "%s: tensor '%s' appears twice in the state dict", what,
                          tb->tensors[i].name);
            goto fail;
        }
    rc = VKR_OK;
fail:
    vkr_pickled_tensors_free(pt, npt);
    vkr_zip_close(&z);
    return rc;
}

int vkr_tb_open(vkr_torch_bin *tb, const char *path)
{
    memset(tb, 0, sizeof *tb);
    tb->path = strdup(path);
    if (!tb->path)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = vkr_map_file(path, 22, "a PyTorch checkpoint", &tb->map, &tb->map_len);
    if (!rc)
        rc = parse(tb, tb->map, tb->map_len, tb->path);
    if (rc)
        vkr_tb_close(tb);
    return rc;
}

int vkr_tb_open_memory(vkr_torch_bin *tb, const void *buf, size_t len, const char *what)
{
    memset(tb, 0, sizeof *tb);
    int rc = parse(tb, buf, len, what);
    if (rc)
        vkr_tb_close(tb);
    return rc;
}

void vkr_tb_close(vkr_torch_bin *tb)
{
    vkr_unmap_file(tb->map, tb->map_len);
    for (int i = 0; i < tb->n_tensors; i++) {
        free(tb->tensors[i].name);
        if (tb->copies)
            free(tb->copies[i]);
    }
    free(tb->tensors);
    free(tb->copies);
    free(tb->path);
    memset(tb, 0, sizeof *tb);
}

const vkr_st_tensor *vkr_tb_find(const vkr_torch_bin *tb, const char *name)
{
    int lo = 0, hi = tb->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, tb->tensors[mid].name);
        if (c == 0)
            return &tb->tensors[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}
