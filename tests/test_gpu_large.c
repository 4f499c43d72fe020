/* A tensor larger than maxStorageBufferRange (128 MiB on lavapipe): the
 * elementwise ops must split it over several binding windows. ~134 MB per
 * tensor; the test stays under ~1 GiB of memory in all (device memory is host
 * memory on lavapipe). */
#include "gpu_test.h"

#include "gpu/gpu_internal.h"
#include "gpu/ops_eltwise.h"

int main(void)
{
    const int64_t ne[5] = {1, 1, 4, 4096, 2049}, bne[5] = {1, 1, 1, 1, 2049};
    size_t n = gt_nelem(ne);
    uint64_t bytes = n * sizeof(float);
    /* one block per tensor, no slack */
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.block_size = (bytes + (1 << 20)) & ~((1ull << 20) - 1)});
    CHECK(bytes > vkr_gpu_max_range(gpu) || vkr_gpu_max_range(gpu) >= (1ull << 32) - 4096,
          "tensor of %llu bytes does not exceed the binding window (%llu): test proves nothing",
          (unsigned long long)bytes, (unsigned long long)vkr_gpu_max_range(gpu));
    float *x = malloc(bytes), *got = malloc(bytes), b[2049];
    uint64_t seed = 7;
    if (!x || !got) {
        CHECK(0, "out of host memory");
        return check_summary("test_gpu_large");
    }
    gt_rand(x, n, -4, 4, &seed);
    gt_rand(b, 2049, -1, 1, &seed);
    vkr_tensor tx, ty, tb;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &tx));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &ty));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F32, bne, &tb));
    GT_OK(vkr_tensor_upload(gpu, &tx, x, VKR_F32));
    GT_OK(vkr_tensor_upload(gpu, &tb, b, VKR_F32));
    uint64_t d0 = gpu->n_dispatches;
    GT_OK(vkr_op_silu(gpu, &tx, &ty));
    GT_OK(vkr_op_add(gpu, &ty, &tb, &ty));
    CHECK(gpu->n_dispatches - d0 >= 4, "ops were not split (%llu dispatches)",
          (unsigned long long)(gpu->n_dispatches - d0));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    for (size_t i = 0; i < n; i++) /* reference in place of x */
        x[i] = (float)(x[i] / (1.0 + exp(-(double)x[i])) + b[i % 2049]);
    gt_compare("silu + row bias over a >128 MiB tensor", VKR_F32, got, x, ne, NULL);
    vkr_gpu_mem_stats st;
    vkr_gpu_memory_stats(gpu, &st);
    printf("device memory: peak %.1f MiB allocated, peak %.1f MiB in tensors, staging %.1f MiB\n",
           st.device_allocated_peak / 1048576.0, st.tensors_in_use_peak / 1048576.0, st.staging_size / 1048576.0);
    vkr_tensor_free(gpu, &tx);
    vkr_tensor_free(gpu, &ty);
    free(x);
    free(got);
    gt_close(gpu);
    return check_summary("test_gpu_large");
}
