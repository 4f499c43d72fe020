/* The runtime around the kernels: validation messages are caught, device
 * selection (specs, CUDA_VISIBLE_DEVICES), error mapping, the activation
 * allocator, the barrier policy (including reuse of freed memory), descriptor
 * pools without push descriptors, the on-disk pipeline cache, the profiler. */
#include "gpu_test.h"

#include "gpu/gpu_internal.h"
#include "gpu/ops_eltwise.h"

#include <dirent.h>
#include <unistd.h>

static void test_validation_is_caught(vkr_gpu *gpu)
{
    /* size 0 violates VUID-VkBufferCreateInfo-size-00912 */
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = 0,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    VkBuffer buf = VK_NULL_HANDLE;
    unsigned before = vkr_gpu_validation_count(gpu, NULL);
    if (vkCreateBuffer(gpu->device, &bci, NULL, &buf) == VK_SUCCESS && buf)
        vkDestroyBuffer(gpu->device, buf, NULL);
    CHECK(vkr_gpu_validation_count(gpu, NULL) > before, "an invalid vkCreateBuffer raised no validation message");
    gpu->validation_count = before; /* expected: do not fail the test for it */
}

static vkr_device_info fake(const char *name, int type, uint32_t vendor, uint8_t uuid0, uint64_t heap, uint32_t bus)
{
    vkr_device_info d = {.type = type, .vendor_id = vendor, .usable = 1, .n_heaps = 1, .has_uuid = 1, .has_pci = 1};
    snprintf(d.name, sizeof d.name, "%s", name);
    d.heap_size[0] = heap;
    d.heap_device_local[0] = 1;
    for (int i = 0; i < 16; i++)
        d.uuid[i] = (uint8_t)(uuid0 + i);
    d.pci_bus = bus;
    return d;
}

static void test_device_pick(void)
{
    unsetenv("VKREEL_DEVICE");
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("SLURM_JOB_GPUS");
    vkr_device_info devs[3] = {
        fake("llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU, 0x10005, 0x00, 1ull << 30, 0),
        fake("NVIDIA A", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, 0x10de, 0x10, 8ull << 30, 0x81),
        fake("NVIDIA B", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, 0x10de, 0x20, 16ull << 30, 0x41),
    };
    int p = -1;
    GT_OK(vkr_device_pick(devs, 3, NULL, &p));
    CHECK_EQ_INT(p, 2); /* discrete with the bigger heap */
    GT_OK(vkr_device_pick(devs, 3, "llvm", &p));
    CHECK_EQ_INT(p, 0);
    GT_OK(vkr_device_pick(devs, 3, "1", &p));
    CHECK_EQ_INT(p, 1);
    GT_OK(vkr_device_pick(devs, 3, "10111213-1415-1617-1819-1a1b1c1d1e1f", &p));
    CHECK_EQ_INT(p, 1);
    CHECK_EQ_INT(vkr_device_pick(devs, 3, "7", &p), VKR_E_USAGE);
    CHECK_EQ_INT(vkr_device_pick(devs, 3, "radeon", &p), VKR_E_USAGE);

    setenv("CUDA_VISIBLE_DEVICES", "GPU-10111213-1415", 1); /* truncated nvidia-smi UUID */
    GT_OK(vkr_device_pick(devs, 3, NULL, &p));
    CHECK_EQ_INT(p, 1);
    setenv("CUDA_VISIBLE_DEVICES", "1", 1); /* ordinal in PCI bus order: B (0x41), A (0x81) */
    GT_OK(vkr_device_pick(devs, 3, NULL, &p));
    CHECK_EQ_INT(p, 1);
    setenv("CUDA_VISIBLE_DEVICES", "", 1); /* no NVIDIA GPU: the CPU device remains */
    GT_OK(vkr_device_pick(devs, 3, NULL, &p));
    CHECK_EQ_INT(p, 0);
    unsetenv("CUDA_VISIBLE_DEVICES");
    setenv("SLURM_JOB_GPUS", "0", 1);
    GT_OK(vkr_device_pick(devs, 3, NULL, &p));
    CHECK_EQ_INT(p, 2);
    unsetenv("SLURM_JOB_GPUS");
    devs[0].usable = devs[1].usable = devs[2].usable = 0;
    CHECK_EQ_INT(vkr_device_pick(devs, 3, NULL, &p), VKR_E_TEMPFAIL);

    /* the real list */
    vkr_device_info *list = NULL;
    int n = 0;
    GT_OK(vkr_gpu_list_devices(NULL, &list, &n, &p));
    CHECK(n >= 1 && p >= 0 && p < n, "%d devices, picked %d", n, p);
    if (n >= 1) {
        char uuid[37];
        vkr_uuid_format(list[0].uuid, uuid);
        vkr_device_info *list2 = NULL;
        int n2 = 0, q = -1;
        GT_OK(vkr_gpu_list_devices(list[0].has_uuid ? uuid : "0", &list2, &n2, &q));
        CHECK_EQ_INT(q, 0);
        free(list2);
    }
    free(list);
}

static void test_error_mapping(void)
{
    CHECK_EQ_INT(vkr_vk_check(NULL, VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory"), VKR_E_TEMPFAIL);
    CHECK(strstr(vkr_last_error(), "VK_ERROR_OUT_OF_DEVICE_MEMORY") != NULL, "message: %s", vkr_last_error());
    CHECK_EQ_INT(vkr_vk_check(NULL, VK_ERROR_DEVICE_LOST, "vkQueueSubmit"), VKR_E_TEMPFAIL);
    CHECK_EQ_INT(vkr_vk_check(NULL, VK_ERROR_FORMAT_NOT_SUPPORTED, "x"), VKR_E_INTERNAL);
    CHECK_EQ_INT(vkr_vk_check(NULL, VK_SUCCESS, "x"), VKR_OK);
}

static void test_allocator(vkr_gpu *gpu)
{
    const int64_t ne[5] = {1, 1, 1, 100, 100}, small[5] = {1, 1, 1, 10, 10};
    vkr_tensor a, b, c, d;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &a));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &b));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &c));
    uint64_t b_off = b.offset;
    CHECK(a.block == b.block && b.offset >= a.offset + 40000, "a/b layout");
    vkr_tensor_free(gpu, &b);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F16, small, &d));
    CHECK(d.offset == b_off, "first fit: freed hole reused (%llu vs %llu)", (unsigned long long)d.offset,
          (unsigned long long)b_off);
    vkr_gpu_mem_stats st;
    vkr_gpu_memory_stats(gpu, &st);
    CHECK(st.tensors_in_use_peak >= 3 * 40000, "peak %llu", (unsigned long long)st.tensors_in_use_peak);
    struct vkr_mem_block *blk = a.block;
    vkr_tensor_free(gpu, &a);
    vkr_tensor_free(gpu, &c);
    vkr_tensor_free(gpu, &d);
    CHECK(blk->n_free == 1 && blk->free[0].off == 0 && blk->free[0].size == blk->size,
          "free list coalesces back to one range (%u ranges)", blk->n_free);
    vkr_gpu_memory_stats(gpu, &st);
    CHECK_EQ_INT(st.tensors_in_use, 0);
    CHECK(st.device_allocated > 0 && st.device_allocated_peak >= st.device_allocated, "device stats");
    GT_OK(vkr_gpu_trim(gpu));
    vkr_gpu_memory_stats(gpu, &st);
    CHECK_EQ_INT(st.device_blocks, 0);

    /* weights: bump, then reset */
    vkr_tensor w1, w2;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, ne, &w1));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, ne, &w2));
    CHECK(w2.block == w1.block && w2.offset >= w1.offset + 20000, "weights are bump-allocated");
    vkr_gpu_weights_reset(gpu);
    vkr_gpu_memory_stats(gpu, &st);
    CHECK_EQ_INT(st.tensors_in_use, 0);
    CHECK_EQ_INT(st.device_blocks, 0);
    vkr_tensor huge;
    const int64_t too_big[5] = {1, 1, 1 << 16, 1 << 16, 1 << 10};
    CHECK_EQ_INT(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, too_big, &huge), VKR_E_TEMPFAIL);
}

/* Weights go to the first block tail that holds them: a tensor too big for
 * the current tail opens a new block, and later small ones still fill the
 * older tail (no block is left part-empty when something fits). */
static void test_weights_tails(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.block_size = 1 << 20});
    if (!gpu)
        return;
    const int64_t big[5] = {1, 1, 1, 768, 512}, mid[5] = {1, 1, 1, 900, 512}, small[5] = {1, 1, 1, 200, 512};
    vkr_tensor w1, w2, w3;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, big, &w1));   /* 768 KiB of block 1 */
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, mid, &w2));   /* 900 KiB: block 2 */
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, small, &w3)); /* 200 KiB: block 1's tail */
    CHECK(w2.block != w1.block, "a tensor larger than the tail opens a block");
    CHECK(w3.block == w1.block && w3.offset >= w1.offset + 768 * 1024, "small weights fill the older tail");
    vkr_gpu_mem_stats st;
    vkr_gpu_memory_stats(gpu, &st);
    CHECK_EQ_INT(st.device_blocks, 2);
    vkr_gpu_weights_reset(gpu);
    gt_close(gpu);
}

/* Barriers only where needed, and reuse of freed memory is ordered. */
static void test_barriers(vkr_gpu *gpu)
{
    const int64_t ne[5] = {1, 1, 1, 17, 33};
    size_t n = gt_nelem(ne);
    float x[561], got[561], want[561];
    uint64_t seed = 99;
    gt_rand(x, n, -2, 2, &seed);
    vkr_tensor a, b, c, d, e;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &a));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &b));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &c));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &d));
    GT_OK(vkr_tensor_upload(gpu, &a, x, VKR_F32));
    GT_OK(vkr_tensor_upload(gpu, &c, x, VKR_F32));
    uint64_t b0 = gpu->n_barriers;
    uint64_t a_off = a.offset;
    GT_OK(vkr_op_silu(gpu, &a, &b)); /* reads uploaded a: barrier */
    GT_OK(vkr_op_relu(gpu, &c, &d)); /* independent: none */
    CHECK_EQ_INT(gpu->n_barriers - b0, 1);
    /* free a (still to be read by the recorded silu) and reuse its memory */
    vkr_tensor_free(gpu, &a);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &e));
    CHECK(e.offset == a_off, "freed memory is reused first");
    GT_OK(vkr_op_tanh(gpu, &c, &e)); /* writes what silu reads: WAR barrier */
    CHECK_EQ_INT(gpu->n_barriers - b0, 2);
    GT_OK(vkr_op_add(gpu, &b, &d, &b)); /* b, d were written before that barrier: none */
    CHECK_EQ_INT(gpu->n_barriers - b0, 2);
    GT_OK(vkr_op_relu(gpu, &b, &b)); /* RAW on b: barrier */
    CHECK_EQ_INT(gpu->n_barriers - b0, 3);
    GT_OK(vkr_tensor_download(gpu, &b, got, VKR_F32));
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double s = v / (1 + exp(-v)) + (v > 0 ? v : 0);
        want[i] = (float)(s > 0 ? s : 0);
    }
    gt_compare("silu(a) + relu(c) with barrier policy", VKR_F32, got, want, ne, NULL);
    GT_OK(vkr_tensor_download(gpu, &e, got, VKR_F32));
    for (size_t i = 0; i < n; i++)
        want[i] = tanhf(x[i]);
    gt_compare("tanh into reused memory", VKR_F32, got, want, ne, NULL);
    vkr_tensor_free(gpu, &b);
    vkr_tensor_free(gpu, &c);
    vkr_tensor_free(gpu, &d);
    vkr_tensor_free(gpu, &e);

    uint32_t g[3];
    GT_OK(vkr_grid_1d(gpu, 5000000000ull, g));
    const uint32_t *m = gpu->info.max_workgroup_count;
    CHECK(g[0] <= m[0] && g[1] <= m[1] && g[2] <= m[2] && (uint64_t)g[0] * g[1] * g[2] >= 5000000000ull,
          "grid %u x %u x %u", g[0], g[1], g[2]);
}

static void silu_roundtrip(vkr_gpu *gpu, const char *what)
{
    const int64_t ne[5] = {1, 1, 1, 3, 257};
    float x[771], got[771], want[771];
    uint64_t seed = 5;
    gt_rand(x, 771, -3, 3, &seed);
    vkr_tensor a, b;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &a));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &b));
    GT_OK(vkr_tensor_upload(gpu, &a, x, VKR_F32));
    for (int i = 0; i < 3; i++)
        GT_OK(vkr_op_silu(gpu, &a, &b));
    GT_OK(vkr_tensor_download(gpu, &b, got, VKR_F32));
    for (int i = 0; i < 771; i++)
        want[i] = (float)(x[i] / (1 + exp(-(double)x[i])));
    gt_compare(what, VKR_F32, got, want, ne, NULL);
    vkr_tensor_free(gpu, &a);
    vkr_tensor_free(gpu, &b);
}

/* Transfers bigger than the staging ring (64 KiB here) flush mid-way; host
 * dtype conversion in both directions; view API errors. */
static void test_transfers(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.staging_size = 64 << 10});
    const int64_t ne[5] = {1, 3, 1, 257, 333}; /* 1 MB in f32 */
    size_t n = gt_nelem(ne);
    float *x = malloc(n * 4), *got = malloc(n * 4);
    uint16_t *h16 = malloc(n * 2), *g16 = malloc(n * 2);
    uint64_t seed = 11;
    gt_rand(x, n, -50, 50, &seed);
    vkr_tensor w, a;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, ne, &w));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &a));
    for (size_t i = 0; i < n; i++)
        h16[i] = vkr_f32_to_bf16(x[i]);
    GT_OK(vkr_tensor_upload(gpu, &w, h16, VKR_BF16)); /* bf16 host -> f16 device */
    GT_OK(vkr_op_copy(gpu, &w, &a));                   /* f16 -> f32 on the device */
    GT_OK(vkr_tensor_download(gpu, &a, got, VKR_F32));
    for (size_t i = 0; i < n; i++)
        x[i] = vkr_f16_to_f32(vkr_f32_to_f16(vkr_bf16_to_f32(h16[i])));
    gt_tol exact = {0, 0, 0};
    gt_compare("bf16 upload -> f16 -> f32 through a small ring", VKR_F32, got, x, ne, &exact);
    GT_OK(vkr_tensor_download(gpu, &w, g16, VKR_F16));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += g16[i] != vkr_f32_to_f16(x[i]);
    CHECK(bad == 0, "f16 download: %zu elements differ", bad);

    vkr_tensor v;
    const int bad_perm[5] = {0, 1, 2, 3, 3};
    CHECK_EQ_INT(vkr_tensor_slice(&a, VKR_DIM_W, 300, 34, &v), VKR_E_INTERNAL);
    CHECK_EQ_INT(vkr_tensor_permute(&a, bad_perm, &v), VKR_E_INTERNAL);
    const int perm[5] = {0, 1, 2, 4, 3};
    GT_OK(vkr_tensor_permute(&a, perm, &v));
    const int64_t flat[5] = {1, 1, 1, 1, (int64_t)n};
    CHECK_EQ_INT(vkr_tensor_reshape(&v, flat, &v), VKR_E_INTERNAL); /* not contiguous */
    GT_OK(vkr_tensor_reshape(&a, flat, &v));
    const int64_t want_shape[5] = {1, 3, 1, 257, 333};
    GT_OK(vkr_check_shape("test", "a", &a, want_shape));
    const int64_t other[5] = {-1, -1, -1, 256, -1};
    CHECK_EQ_INT(vkr_check_shape("test", "a", &a, other), VKR_E_INTERNAL);
    CHECK(strstr(vkr_last_error(), "1x3x1x257x333") != NULL, "message: %s", vkr_last_error());
    vkr_tensor_free(gpu, &a);
    free(x), free(got), free(h16), free(g16);
    gt_close(gpu);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, "pipelines-", 10) == 0;
    closedir(d);
    return n;
}

static void test_contexts(void)
{
    /* descriptor pools instead of push descriptors */
    setenv("VKREEL_NO_PUSH_DESCRIPTOR", "1", 1);
    vkr_gpu *gpu = gt_open(NULL);
    CHECK(!gpu->use_push_descriptor, "VKREEL_NO_PUSH_DESCRIPTOR ignored");
    silu_roundtrip(gpu, "silu with descriptor pools");
    gt_close(gpu);
    unsetenv("VKREEL_NO_PUSH_DESCRIPTOR");

    /* pipeline cache file */
    char tmpl[] = "/tmp/vkreel-cache-XXXXXX", dir[600];
    CHECK(mkdtemp(tmpl) != NULL, "mkdtemp");
    setenv("XDG_CACHE_HOME", tmpl, 1);
    snprintf(dir, sizeof dir, "%s/vkreel", tmpl);
    gpu = gt_open(NULL);
    silu_roundtrip(gpu, "silu (cache cold)");
    gt_close(gpu);
    CHECK_EQ_INT(count_files(dir), 1);
    gpu = gt_open(NULL);
    silu_roundtrip(gpu, "silu (cache warm)");
    gt_close(gpu);
    CHECK_EQ_INT(count_files(dir), 1);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[900];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    rmdir(tmpl);
    unsetenv("XDG_CACHE_HOME");

    /* profiler */
    gpu = gt_open(&(vkr_gpu_options){.profile = 1});
    silu_roundtrip(gpu, "silu (profiled)");
    int found = 0;
    for (uint32_t i = 0; i < gpu->n_rows; i++)
        if (strcmp(gpu->rows[i].name, "silu") == 0)
            found = gpu->rows[i].calls == 3 && (gpu->rows[i].total_ns > 0 || !gpu->info.timestamps);
    CHECK(found, "profiler row for silu (3 calls, timed)");
    gt_close(gpu);

    /* a lost device stays lost: every later call is a temporary failure */
    gpu = gt_open(NULL);
    vkr_vk_check(gpu, VK_ERROR_DEVICE_LOST, "test");
    vkr_tensor t;
    const int64_t ne[5] = {1, 1, 1, 1, 4};
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &t));
    CHECK_EQ_INT(vkr_op_relu(gpu, &t, &t), VKR_E_TEMPFAIL);
    gt_close(gpu);
}

int main(void)
{
    test_error_mapping();
    test_device_pick();
    vkr_gpu *gpu = gt_open(NULL);
    test_validation_is_caught(gpu);
    test_allocator(gpu);
    test_barriers(gpu);
    gt_close(gpu);
    test_transfers();
    test_weights_tails();
    test_contexts();
    return check_summary("test_gpu_runtime");
}
