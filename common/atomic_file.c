#include "atomic_file.h"

#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

int vkr_atomic_begin(vkr_atomic *a, const char *final_path)
{
    a->final_path = NULL;
    a->tmp_path = NULL;
    a->fd = -1;
    char *dir = dir_of(final_path);
    char *copy = strdup(final_path);
    if (!dir || !copy) {
        free(dir);
        free(copy);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    const char *base = basename(copy);
    size_t n = strlen(dir) + strlen(base) + 32;
    a->tmp_path = malloc(n);
    a->final_path = strdup(final_path);
    if (!a->tmp_path || !a->final_path) {
        free(dir);
        free(copy);
        vkr_atomic_abort(a);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    snprintf(a->tmp_path, n, "%s/.%s.XXXXXX.tmp", dir, base);
    free(dir);
    free(copy);
    a->fd = mkstemps(a->tmp_path, 4);
    if (a->fd < 0) {
        int e = errno;
        int rc = vkr_fail(VKR_E_CANTCREATE, "%s: cannot create output: %s", final_path, strerror(e));
        free(a->tmp_path);
        a->tmp_path = NULL;
        vkr_atomic_abort(a);
        return rc;
    }
    /* mkstemp creates 0600; outputs are ordinary files. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(a->fd, 0666 & ~mask);
    return VKR_OK;
}

int vkr_atomic_commit(vkr_atomic *a)
{
    int rc = VKR_OK;
    if (a->fd < 0) {
        a->fd = open(a->tmp_path, O_WRONLY);
        if (a->fd < 0)
            rc = vkr_fail(VKR_E_CANTCREATE, "%s: cannot reopen temporary file: %s", a->final_path,
                          strerror(errno));
    }
    if (!rc && fsync(a->fd) != 0)
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: fsync failed: %s", a->final_path, strerror(errno));
    if (a->fd >= 0 && close(a->fd) != 0 && !rc)
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: close failed: %s", a->final_path, strerror(errno));
    a->fd = -1;
    if (!rc && rename(a->tmp_path, a->final_path) != 0)
        rc = vkr_fail(VKR_E_CANTCREATE, "%s: cannot rename into place: %s", a->final_path,
                      strerror(errno));
    if (rc) {
        vkr_atomic_abort(a);
        return rc;
    }
    char *dir = dir_of(a->final_path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd); /* best effort: some filesystems refuse directory fsync */
            close(dfd);
        }
        free(dir);
    }
    free(a->tmp_path);
    free(a->final_path);
    a->tmp_path = a->final_path = NULL;
    return VKR_OK;
}

void vkr_atomic_abort(vkr_atomic *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    if (a->tmp_path)
        unlink(a->tmp_path);
    free(a->tmp_path);
    free(a->final_path);
    a->tmp_path = a->final_path = NULL;
}

int vkr_write_file_atomic(const char *path, const void *data, size_t len)
{
    vkr_atomic a;
    int rc = vkr_atomic_begin(&a, path);
    if (rc)
        return rc;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(a.fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = vkr_fail(VKR_E_CANTCREATE, "%s: write failed: %s", path, strerror(errno));
            vkr_atomic_abort(&a);
            return rc;
        }
        p += w;
        len -= (size_t)w;
    }
    return vkr_atomic_commit(&a);
}

int vkr_read_file(const char *path, size_t max_len, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vkr_fail(VKR_E_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return vkr_fail(VKR_E_NOINPUT, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > max_len) {
        fclose(f);
        return vkr_fail(VKR_E_DATA, "%s: file is %lld bytes, larger than the %zu-byte limit", path,
                        (long long)st.st_size, max_len);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    int err = ferror(f);
    fclose(f);
    if (err || n != (size_t)st.st_size) {
        free(buf);
        return vkr_fail(VKR_E_NOINPUT, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return VKR_OK;
}
