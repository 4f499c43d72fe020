/* libFuzzer target for the safetensors reader: any input must either be
 * rejected with VKR_E_DATA or give tensors whose every byte can be read.
 * Build (clang): see the comment in fuzz_torch_bin.c. */
#include "common/status.h"
#include "model/safetensors.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vkr_safetensors st;
    /* A private copy, so ASan flags any read past the input's end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    int rc = vkr_st_open_memory(&st, buf, size, "fuzz");
    if (rc == VKR_OK) {
        for (int i = 0; i < st.n_tensors; i++) {
            const vkr_st_tensor *t = &st.tensors[i];
            if (vkr_st_find(&st, t->name) != t)
                abort();
            float *f = malloc((size_t)t->numel * sizeof *f + 1);
            if (f)
                vkr_st_to_f32(t, f);
            free(f);
        }
        vkr_st_close(&st);
    } else if (rc != VKR_E_DATA && rc != VKR_E_INTERNAL) {
        abort();
    }
    free(buf);
    return 0;
}
