/* ZIP central-directory reader (APPNOTE 6.3: EOCD, zip64 EOCD locator and
 * record, central headers, zip64 extended information extra field, local
 * headers). Every offset read from the file is checked against the buffer
 * before it is dereferenced. */
#include "zip_reader.h"

#include "common/status.h"

#include <stdlib.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_ZIP64_EOCD 0x06064b50u
#define SIG_ZIP64_LOCATOR 0x07064b50u
#define EOCD_LEN 22
#define CENTRAL_LEN 46
#define LOCAL_LEN 30
#define ZIP64_LOCATOR_LEN 20
#define ZIP64_EOCD_LEN 56

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const vkr_zip_entry *)a)->name, ((const vkr_zip_entry *)b)->name);
}

/* Finds the end-of-central-directory record: it is followed only by its
 * comment, so scan backwards over at most 64 KiB of comment. */
static int find_eocd(const uint8_t *b, size_t len, size_t *pos)
{
    if (len < EOCD_LEN)
        return 0;
    size_t lo = len - EOCD_LEN > 0xffff ? len - EOCD_LEN - 0xffff : 0;
    for (size_t p = len - EOCD_LEN + 1; p-- > lo;)
        if (rd32(b + p) == SIG_EOCD && p + EOCD_LEN + rd16(b + p + 20) <= len) {
            *pos = p;
            return 1;
        }
    return 0;
}

/* Applies the zip64 extended-information extra field (id 1) to the fields
 * that hold their 0xffffffff / 0xffff marker, in the order the spec fixes. */
static int apply_zip64_extra(const char *what, const char *name, const uint8_t *ex, size_t ex_len,
                             uint64_t *usize, uint64_t *csize, uint64_t *local_off,
                             uint32_t *disk)
{
    size_t i = 0;
    while (i + 4 <= ex_len) {
        uint16_t id = rd16(ex + i), sz = rd16(ex + i + 2);
        if (sz > ex_len - i - 4)
            return vkr_fail(VKR_E_DATA, "%s: zip entry '%s': extra field overruns its header",
                            what, name);
        if (id == 1) {
            const uint8_t *f = ex + i + 4;
            size_t k = 0;
            uint64_t *fields[3] = {usize, csize, local_off};
            for (int j = 0; j < 3; j++) {
                if (*fields[j] != 0xffffffffu)
                    continue;
                if (k + 8 > sz)
                    return vkr_fail(VKR_E_DATA,
                                    "%s: zip entry '%s': zip64 extra field too short", what, name);
                *fields[j] = rd64(f + k);
                k += 8;
            }
            if (*disk == 0xffff) {
                if (k + 4 > sz)
                    return vkr_fail(VKR_E_DATA,
                                    "%s: zip entry '%s': zip64 extra field too short", what, name);
                *disk = rd32(f + k);
            }
        }
        i += 4 + (size_t)sz;
    }
    return VKR_OK;
}

static int parse_central(vkr_zip *z, const uint8_t *b, size_t len, size_t cd_off, size_t cd_end,
                         uint64_t n)
{
    const char *what = z->what;
    size_t p = cd_off;
    for (uint64_t k = 0; k < n; k++) {
        if (cd_end - p < CENTRAL_LEN || rd32(b + p) != SIG_CENTRAL)
            return vkr_fail(VKR_E_DATA,
                            "%s: zip central directory entry %llu is truncated or has a bad "
                            "signature",
                            what, (unsigned long long)k);
        const uint8_t *c = b + p;
        size_t name_len = rd16(c + 28), extra_len = rd16(c + 30), comment_len = rd16(c + 32);
        if (cd_end - p - CENTRAL_LEN < name_len + extra_len + comment_len)
            return vkr_fail(VKR_E_DATA,
                            "%s: zip central directory entry %llu overruns the directory", what,
                            (unsigned long long)k);
        if (memchr(c + CENTRAL_LEN, 0, name_len))
            return vkr_fail(VKR_E_DATA, "%s: zip entry %llu has a NUL byte in its name", what,
                            (unsigned long long)k);
        vkr_zip_entry *e = &z->entries[z->n_entries];
        e->name = strndup((const char *)c + CENTRAL_LEN, name_len);
        if (!e->name)
            return vkr_fail(VKR_E_INTERNAL, "%s: out of memory", what);
        z->n_entries++;
        e->flags = rd16(c + 8);
        e->method = rd16(c + 10);
        uint64_t csize = rd32(c + 20), usize = rd32(c + 24), local = rd32(c + 42);
        uint32_t disk = rd16(c + 34);
        int rc = apply_zip64_extra(what, e->name, c + CENTRAL_LEN + name_len, extra_len, &usize,
                                   &csize, &local, &disk);
        if (rc)
            return rc;
        if (disk != 0)
            return vkr_fail(VKR_E_DATA, "%s: zip entry '%s': multi-disk archives are not supported",
                            what, e->name);
        if (local > len || len - local < LOCAL_LEN || rd32(b + local) != SIG_LOCAL)
            return vkr_fail(VKR_E_DATA,
                            "%s: zip entry '%s': local header at offset %llu is missing or "
                            "outside the file",
                            what, e->name, (unsigned long long)local);
        uint64_t data = local + LOCAL_LEN + rd16(b + local + 26) + rd16(b + local + 28);
        if (data > len || csize > len - data)
            return vkr_fail(VKR_E_DATA,
                            "%s: zip entry '%s': data [%llu, +%llu) extends past the end of the "
                            "file (%zu bytes; truncated?)",
                            what, e->name, (unsigned long long)data, (unsigned long long)csize,
                            len);
        e->data = b + data;
        e->size = csize;
        e->uncompressed_size = usize;
        p += CENTRAL_LEN + name_len + extra_len + comment_len;
    }
    return VKR_OK;
}

int vkr_zip_open(vkr_zip *z, const void *buf, size_t len, const char *what)
{
    memset(z, 0, sizeof *z);
    z->what = what;
    const uint8_t *b = buf;
    int rc;
    size_t eocd;
    if (!find_eocd(b, len, &eocd))
        return vkr_fail(VKR_E_DATA, "%s: not a zip archive (no end of central directory record)",
                        what);
    uint64_t n = rd16(b + eocd + 10), cd_size = rd32(b + eocd + 12), cd_off = rd32(b + eocd + 16);
    size_t dir_end = eocd; /* the central directory must end before this */
    if (rd16(b + eocd + 4) != 0 && rd16(b + eocd + 4) != 0xffff)
        return vkr_fail(VKR_E_DATA, "%s: multi-disk zip archives are not supported", what);
    if (eocd >= ZIP64_LOCATOR_LEN && rd32(b + eocd - ZIP64_LOCATOR_LEN) == SIG_ZIP64_LOCATOR) {
        uint64_t z64 = rd64(b + eocd - ZIP64_LOCATOR_LEN + 8);
        if (z64 > eocd - ZIP64_LOCATOR_LEN || eocd - ZIP64_LOCATOR_LEN - z64 < ZIP64_EOCD_LEN ||
            rd32(b + z64) != SIG_ZIP64_EOCD)
            return vkr_fail(VKR_E_DATA, "%s: zip64 end of central directory record is missing",
                            what);
        n = rd64(b + z64 + 32);
        cd_size = rd64(b + z64 + 40);
        cd_off = rd64(b + z64 + 48);
        dir_end = (size_t)z64;
    } else if (n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        return vkr_fail(VKR_E_DATA, "%s: zip64 markers without a zip64 locator", what);
    }
    if (cd_off > dir_end || cd_size > dir_end - cd_off)
        return vkr_fail(VKR_E_DATA,
                        "%s: zip central directory [%llu, +%llu) lies outside the file (truncated?)",
                        what, (unsigned long long)cd_off, (unsigned long long)cd_size);
    if (n > cd_size / CENTRAL_LEN)
        return vkr_fail(VKR_E_DATA, "%s: zip claims %llu entries in a %llu-byte directory", what,
                        (unsigned long long)n, (unsigned long long)cd_size);
    z->entries = calloc(n ? (size_t)n : 1, sizeof *z->entries);
    if (!z->entries)
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory", what);
    rc = parse_central(z, b, len, (size_t)cd_off, (size_t)(cd_off + cd_size), n);
    if (rc)
        goto fail;
    qsort(z->entries, (size_t)z->n_entries, sizeof *z->entries, cmp_entry);
    for (int i = 1; i < z->n_entries; i++)
        if (strcmp(z->entries[i - 1].name, z->entries[i].name) == 0) {
            rc = vkr_fail(VKR_E_DATA, "%s: zip entry '%s' appears twice", what,
                          z->entries[i].name);
            goto fail;
        }
    return VKR_OK;
fail:
    vkr_zip_close(z);
    return rc;
}

void vkr_zip_close(vkr_zip *z)
{
    for (int i = 0; i < z->n_entries; i++)
        free(z->entries[i].name);
    free(z->entries);
    z->entries = NULL;
    z->n_entries = 0;
}

const vkr_zip_entry *vkr_zip_find(const vkr_zip *z, const char *name)
{
    int lo = 0, hi = z->n_entries - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, z->entries[mid].name);
        if (c == 0)
            return &z->entries[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

int vkr_zip_stored(const vkr_zip *z, const vkr_zip_entry *e, const uint8_t **data, size_t *size)
{
    if (e->flags & 1)
        return vkr_fail(VKR_E_DATA, "%s: zip entry '%s' is encrypted", z->what, e->name);
    if (e->method != 0)
        return vkr_fail(VKR_E_DATA,
                        "%s: zip entry '%s' is compressed (method %u); only stored entries are "
                        "supported, as torch.save writes them (re-save the checkpoint with "
                        "torch.save or convert it to safetensors)",
                        z->what, e->name, e->method);
    if (e->uncompressed_size != e->size)
        return vkr_fail(VKR_E_DATA,
                        "%s: zip entry '%s' is stored but its sizes differ (%llu vs %llu)",
                        z->what, e->name, (unsigned long long)e->size,
                        (unsigned long long)e->uncompressed_size);
    *data = e->data;
    *size = (size_t)e->size;
    return VKR_OK;
}
