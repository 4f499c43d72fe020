#include "mapped_file.h"

#include "common/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int vkr_map_file(const char *path, size_t min_len, const char *what, void **map, size_t *len)
{
    *map = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vkr_fail(VKR_E_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    int rc = VKR_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = vkr_fail(VKR_E_NOINPUT, "%s: not a regular file", path);
    } else if ((uint64_t)sb.st_size < min_len) {
        rc = vkr_fail(VKR_E_DATA, "%s: %lld bytes, too short for %s", path, (long long)sb.st_size,
                      what);
    } else if ((uint64_t)sb.st_size > SIZE_MAX) {
        rc = vkr_fail(VKR_E_DATA, "%s: file too large to map", path);
    } else {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = vkr_fail(VKR_E_NOINPUT, "%s: mmap failed: %s", path, strerror(errno));
        } else {
            *map = m;
            *len = (size_t)sb.st_size;
        }
    }
    close(fd);
    return rc;
}

void vkr_unmap_file(void *map, size_t len)
{
    if (map)
        munmap(map, len);
}
