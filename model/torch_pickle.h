/* Restricted unpickler for the data.pkl of a torch.save'd state dict.
 *
 * Python's pickle is a program: GLOBAL + REDUCE can call any function. This
 * interpreter implements only the opcodes a state dict uses and resolves only
 * an allow-list of globals (collections.OrderedDict, torch._utils.
 * _rebuild_tensor_v2 / _rebuild_parameter and the torch.*Storage types), so a
 * hostile file can at worst be rejected. Tensors are returned as records that
 * reference a storage by key; torch_bin.c maps them onto the archive. */
#ifndef VKR_TORCH_PICKLE_H
#define VKR_TORCH_PICKLE_H

#include "model/safetensors.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *name;          /* state-dict key */
    vkr_dtype dtype;     /* from the storage type (torch.FloatStorage -> F32, ...) */
    char *storage_key;   /* persistent id key: archive/data/<key> */
    int64_t storage_numel; /* elements in the storage, per the persistent id */
    int64_t offset;      /* storage offset, in elements */
    int ndim;
    int64_t shape[VKR_MAX_DIMS];
    int64_t stride[VKR_MAX_DIMS]; /* in elements */
} vkr_pickled_tensor;

/* Runs the restricted unpickler on pkl[0..len). The pickle must produce a
 * dict (or OrderedDict) of tensors, or a dict whose only entry "state_dict"
 * is one. On success *out holds *n_out records in pickle order (free with
 * vkr_pickled_tensors_free). VKR_E_DATA names the opcode, global or key that
 * is not allowed, and the byte offset. `what` names the file in messages. */
int vkr_torch_unpickle(const uint8_t *pkl, size_t len, const char *what,
                       vkr_pickled_tensor **out, int *n_out);
void vkr_pickled_tensors_free(vkr_pickled_tensor *t, int n);

#endif
