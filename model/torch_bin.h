/* PyTorch checkpoint (.bin / .pt / .pth written by torch.save >= 1.6) reader.
 *
 * The file is a ZIP archive of stored entries: <prefix>/data.pkl (the pickled
 * state dict, read by the restricted unpickler in torch_pickle.h) and
 * <prefix>/data/<key> (raw little-endian storages). The file is mmap'd; each
 * tensor is exposed as a vkr_st_tensor, exactly like a safetensors tensor, so
 * callers do not care which format they read. Tensors that are C-contiguous
 * views point into the mapping; other views (transposes, strided slices) are
 * gathered into a private contiguous copy. Every storage key, offset, shape
 * and stride is checked against the archive, so a corrupt or hostile file
 * gives VKR_E_DATA naming the tensor, never an out-of-bounds read.
 *
 * The legacy pre-1.6 format (a bare pickle stream or a tar file) is detected
 * and rejected with a message saying so. */
#ifndef VKR_TORCH_BIN_H
#define VKR_TORCH_BIN_H

#include "model/safetensors.h"

typedef struct {
    char *path;
    void *map;
    size_t map_len;
    vkr_st_tensor *tensors; /* sorted by name */
    void **copies;          /* copies[i]: the gathered data of tensors[i], or NULL */
    int n_tensors;
} vkr_torch_bin;

/* VKR_E_NOINPUT when the file cannot be opened, VKR_E_DATA when it is not a
 * readable torch.save archive of a tensor state dict. */
int vkr_tb_open(vkr_torch_bin *tb, const char *path);
void vkr_tb_close(vkr_torch_bin *tb);

/* NULL when absent. Binary search. */
const vkr_st_tensor *vkr_tb_find(const vkr_torch_bin *tb, const char *name);

/* Opens buf[0..len) (not copied; must outlive tb): the same as vkr_tb_open
 * minus the mapping. For fuzzing and tests. */
int vkr_tb_open_memory(vkr_torch_bin *tb, const void *buf, size_t len, const char *what);

#endif
