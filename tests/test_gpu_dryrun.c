/* Dry-run contexts (vkr_gpu_options.dry_run) and per-stage peaks:
 *  - vkr_gpu_memory_reset_peak restarts both peaks at the current values;
 *  - a dry run of the golden text-to-video and AudioLDM pipelines (every
 *    stage of pipeline/bench_models.c: loads, text encoder, UNet3D, VAE decode
 *    whole and frame-chunked, vocoder) reports exactly the same per-stage
 *    tensors_in_use peaks, weight bytes and device-memory peaks as a real run,
 *    and records the same number of dispatches;
 *  - in a dry run nothing executes: a download returns zeros, not the
 *    uploaded values;
 *  - dry_run_limit replaces maxMemoryAllocationSize / maxStorageBufferRange
 *    in a dry run only; dry_run_heap makes blocks beyond it fail (75) and the
 *    allocator recovers by releasing empty blocks. */
#include "gpu_test.h"

#include "gpu/gpu_internal.h"
#include "gpu/ops_eltwise.h"
#include "pipeline/bench_models.h"

#include <string.h>

static void test_reset_peak(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    const int64_t ne[VKR_DIMS] = {1, 1, 1, 100, 1000};
    vkr_tensor a, b;
    CHECK(!vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &a), "alloc a: %s", vkr_last_error());
    CHECK(!vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &b), "alloc b: %s", vkr_last_error());
    vkr_tensor_free(gpu, &b);
    vkr_gpu_mem_stats st;
    vkr_gpu_memory_stats(gpu, &st);
    CHECK(st.tensors_in_use_peak > st.tensors_in_use, "peak %llu should exceed in use %llu before the reset",
          (unsigned long long)st.tensors_in_use_peak, (unsigned long long)st.tensors_in_use);
    vkr_gpu_memory_reset_peak(gpu);
    vkr_gpu_memory_stats(gpu, &st);
    CHECK(st.tensors_in_use_peak == st.tensors_in_use, "after reset: peak %llu, in use %llu",
          (unsigned long long)st.tensors_in_use_peak, (unsigned long long)st.tensors_in_use);
    CHECK(st.device_allocated_peak == st.device_allocated, "after reset: device peak %llu, allocated %llu",
          (unsigned long long)st.device_allocated_peak, (unsigned long long)st.device_allocated);
    vkr_tensor_free(gpu, &a);
    gt_close(gpu);
}

static void test_dry_download_zeros(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.dry_run = 1});
    CHECK(vkr_gpu_is_dry_run(gpu), "dry_run = 1 should give a dry-run context");
    const int64_t ne[VKR_DIMS] = {1, 1, 1, 4, 64};
    float in[256], out[256];
    for (int i = 0; i < 256; i++)
        in[i] = (float)i + 1.0f, out[i] = -7.0f;
    vkr_tensor x, y;
    int rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &x);
    rc = rc ? rc : vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &y);
    rc = rc ? rc : vkr_tensor_upload(gpu, &x, in, VKR_F32);
    rc = rc ? rc : vkr_op_silu(gpu, &x, &y);
    rc = rc ? rc : vkr_tensor_download(gpu, &y, out, VKR_F32);
    CHECK(rc == 0, "dry silu: %s", vkr_last_error());
    int nonzero = 0;
    for (int i = 0; i < 256; i++)
        nonzero += out[i] != 0.0f;
    CHECK(nonzero == 0, "dry-run download: %d of 256 values non-zero (out[0] = %g)", nonzero, out[0]);
    CHECK(gpu->n_dispatches == 1, "dry run counted %llu dispatches, expected 1", (unsigned long long)gpu->n_dispatches);
    vkr_tensor_free(gpu, &y);
    vkr_tensor_free(gpu, &x);
    gt_close(gpu);
}

/* dry_run_limit replaces the two limits only in a dry run. */
static void test_dry_run_limit(void)
{
    const uint64_t lim = 3ull << 30;
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.dry_run = 1, .dry_run_limit = lim});
    const vkr_device_info *d = vkr_gpu_device(gpu);
    CHECK(d->max_memory_allocation_size == lim && d->max_storage_buffer_range == lim,
          "dry run limit: alloc %llu, range %llu, expected %llu", (unsigned long long)d->max_memory_allocation_size,
          (unsigned long long)d->max_storage_buffer_range, (unsigned long long)lim);
    gt_close(gpu);
    gpu = gt_open(&(vkr_gpu_options){.dry_run = -1, .dry_run_limit = lim});
    d = vkr_gpu_device(gpu);
    CHECK(d->max_memory_allocation_size != lim, "a real run must keep the device's maxMemoryAllocationSize");
    gt_close(gpu);
}

/* dry_run_heap: blocks beyond it fail as out of device memory, and the
 * allocator's recovery (release empty blocks, retry) works as on a full GPU. */
static void test_dry_run_heap(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.dry_run = 1, .dry_run_heap = 300ull << 20});
    const int64_t a_ne[VKR_DIMS] = {1, 1, 1, 200, 1 << 18}, b_ne[VKR_DIMS] = {1, 1, 1, 100, 1 << 18},
                  c_ne[VKR_DIMS] = {1, 1, 1, 280, 1 << 18}; /* MiB of f32 */
    vkr_tensor a, b, c;
    int rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, a_ne, &a);
    CHECK(rc == 0, "200 MiB in a 300 MiB heap: %s", vkr_last_error());
    rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, b_ne, &b);
    CHECK(rc == VKR_E_TEMPFAIL, "200 + 100 MiB in a 300 MiB heap with 256 MiB blocks: rc %d, expected %d", rc,
          VKR_E_TEMPFAIL);
    vkr_tensor_free(gpu, &a);
    rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, c_ne, &c); /* needs the empty block released */
    CHECK(rc == 0, "280 MiB after freeing 200 MiB: %s", vkr_last_error());
    vkr_gpu_mem_stats st;
    vkr_gpu_memory_stats(gpu, &st);
    CHECK(st.device_allocated == 280ull << 20, "device allocated %llu, expected 280 MiB (the empty block released)",
          (unsigned long long)st.device_allocated);
    vkr_tensor_free(gpu, &c);
    gt_close(gpu);
}

typedef int (*bench_fn)(vkr_gpu *, const char *, const vkr_bench_model_opts *, vkr_bench_model_result *);

static void compare_runs(const char *what, bench_fn fn, const char *dir, const vkr_bench_model_opts *o)
{
    vkr_bench_model_result res[2];
    uint64_t dispatches[2] = {0, 0};
    for (int dry = 0; dry < 2; dry++) {
        vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.dry_run = dry ? 1 : -1});
        int rc = fn(gpu, dir, o, &res[dry]);
        CHECK(rc == 0, "%s (%s run): %s", what, dry ? "dry" : "real", vkr_last_error());
        dispatches[dry] = gpu->n_dispatches;
        gt_close(gpu);
        if (rc)
            return;
    }
    CHECK(res[0].n_stages == res[1].n_stages && res[0].n_stages >= 4, "%s: %d stages real, %d dry", what,
          res[0].n_stages, res[1].n_stages);
    CHECK(dispatches[0] == dispatches[1] && dispatches[0] > 100, "%s: %llu dispatches real, %llu dry", what,
          (unsigned long long)dispatches[0], (unsigned long long)dispatches[1]);
    for (int i = 0; i < res[0].n_stages && i < res[1].n_stages; i++) {
        const vkr_bench_stage *r = &res[0].stage[i], *d = &res[1].stage[i];
        CHECK(!strcmp(r->name, d->name), "%s: stage %d is '%s' real, '%s' dry", what, i, r->name, d->name);
        CHECK(r->tensors_peak == d->tensors_peak, "%s stage %s: tensors peak %llu real, %llu dry", what, r->name,
              (unsigned long long)r->tensors_peak, (unsigned long long)d->tensors_peak);
        CHECK(r->activation_peak == d->activation_peak, "%s stage %s: activation peak %llu real, %llu dry", what,
              r->name, (unsigned long long)r->activation_peak, (unsigned long long)d->activation_peak);
        CHECK(r->weights_bytes == d->weights_bytes, "%s stage %s: weights %llu real, %llu dry", what, r->name,
              (unsigned long long)r->weights_bytes, (unsigned long long)d->weights_bytes);
        CHECK(r->device_alloc_peak == d->device_alloc_peak, "%s stage %s: device peak %llu real, %llu dry", what,
              r->name, (unsigned long long)r->device_alloc_peak, (unsigned long long)d->device_alloc_peak);
        CHECK(strncmp(r->name, "load", 4) || r->weights_bytes > 0, "%s stage %s: no weights made resident", what,
              r->name);
        CHECK(!strncmp(r->name, "load", 4) || r->activation_peak > 0, "%s stage %s: no activation memory", what,
              r->name);
    }
}

int main(void)
{
    test_reset_peak();
    test_dry_download_zeros();
    test_dry_run_limit();
    test_dry_run_heap();
    vkr_bench_model_opts o = {.width = 64, .height = 48, .frames = 3, .batch = 2, .steps = 1,
                              .weights = VKR_F32, .activations = VKR_F32};
    compare_runs("pipeline_t2v", vkr_bench_video_model, "tests/golden/pipeline_t2v", &o);
    o.weights = VKR_F16;
    o.vae.frames_per_chunk = 1; /* the chunked decode path */
    compare_runs("pipeline_t2v f16 chunked", vkr_bench_video_model, "tests/golden/pipeline_t2v", &o);
    vkr_bench_model_opts a = {.audio_frames = 32, .weights = VKR_F32, .activations = VKR_F32};
    compare_runs("pipeline_audioldm", vkr_bench_audio_model, "tests/golden/pipeline_audioldm", &a);
    return check_summary("test_gpu_dryrun");
}
