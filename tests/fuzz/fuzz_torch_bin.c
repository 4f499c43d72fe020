/* libFuzzer target for the PyTorch .bin reader (zip directory + restricted
 * unpickler + view checks). Seeds: the .bin files in tests/model and tests/model/bad.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_torch_bin.c \
 *     model/torch_bin.c model/torch_pickle.c model/zip_reader.c model/safetensors.c \
 *     common/dtype.c common/status.c -lcjson -lm -o fuzz_torch_bin
 *   ./fuzz_torch_bin -max_total_time=60 corpus/ tests/model tests/model/bad
 */
#include "common/status.h"
#include "model/torch_bin.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    vkr_torch_bin tb;
    int rc = vkr_tb_open_memory(&tb, buf, size, "fuzz");
    if (rc == VKR_OK) {
        for (int i = 0; i < tb.n_tensors; i++) {
            const vkr_st_tensor *t = &tb.tensors[i];
            float *f = malloc((size_t)t->numel * sizeof *f + 1);
            if (f)
                vkr_st_to_f32(t, f);
            free(f);
        }
        vkr_tb_close(&tb);
    } else if (rc != VKR_E_DATA && rc != VKR_E_INTERNAL) {
        abort();
    }
    free(buf);
    return 0;
}
