/* A whole file mapped read-only: the one place checkpoint readers open, check
 * and mmap their input, so every format reports the same errors the same way. */
#ifndef VKR_MAPPED_FILE_H
#define VKR_MAPPED_FILE_H

#include <stddef.h>

/* Maps `path` (a regular file of at least `min_len` bytes). `what` names the
 * format in the too-short message ("a safetensors header"). VKR_E_NOINPUT when
 * the file cannot be opened or mapped, VKR_E_DATA when it is too short. */
int vkr_map_file(const char *path, size_t min_len, const char *what, void **map, size_t *len);
void vkr_unmap_file(void *map, size_t len);

#endif
