/* Golden runner for tests/golden/unet3d (and the hidden UNet3D cases):
 * config.json + weights.safetensors of the case folder, in.sample /
 * in.timestep / in.encoder_hidden_states through video/unet3d in f32 storage,
 * out.sample downloaded for comparison. */
#include "pipeline/golden.h"

#include "common/status.h"
#include "gpu/tensor.h"
#include "video/unet3d.h"

#include <stdlib.h>

int vkr_golden_run_unet3d(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_golden_tensor x = {0}, t = {0}, e = {0};
    vkr_gpu *gpu = NULL;
    vkr_unet3d *unet = NULL;
    vkr_tensor sample = {0}, ts = {0}, ehs = {0}, out = {0};
    float *got = NULL;
    int rc;
    if (!c->has_io)
        return vkr_fail(VKR_E_NOINPUT, "%s: no io.safetensors", c->dir);
    if ((rc = vkr_golden_load_st(&c->io, "in.sample", &x)) || (rc = vkr_golden_load_st(&c->io, "in.timestep", &t)) ||
        (rc = vkr_golden_load_st(&c->io, "in.encoder_hidden_states", &e)))
        goto done;
    if (x.dtype != VKR_GOLDEN_F32 || x.ndim != 5 || t.dtype != VKR_GOLDEN_F32 || e.dtype != VKR_GOLDEN_F32 ||
        e.ndim != 3) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.sample must be 5-D, in.encoder_hidden_states 3-D, all float", c->dir);
        goto done;
    }
    const int64_t xne[VKR_DIMS] = {x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]};
    const int64_t tne[VKR_DIMS] = {1, 1, 1, 1, t.numel}, ene[VKR_DIMS] = {1, 1, e.shape[0], e.shape[1], e.shape[2]};
    vkr_gpu_options opt = {.device = c->device};
    if ((rc = vkr_gpu_create(&opt, &gpu)) || (rc = vkr_unet3d_load(gpu, c->dir, VKR_F32, &unet)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, xne, &sample)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, tne, &ts)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ene, &ehs)) ||
        (rc = vkr_tensor_upload(gpu, &sample, x.f32, VKR_F32)) || (rc = vkr_tensor_upload(gpu, &ts, t.f32, VKR_F32)) ||
        (rc = vkr_tensor_upload(gpu, &ehs, e.f32, VKR_F32)) ||
        (rc = vkr_unet3d_forward(gpu, unet, &sample, &ts, &ehs, &out)))
        goto done;
    if (!(got = malloc((size_t)vkr_tensor_nelem(&out) * sizeof *got))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    if ((rc = vkr_tensor_download(gpu, &out, got, VKR_F32)))
        goto done;
    rc = vkr_golden_add_f32(&r->got, "out.sample", 5, out.ne, got);
    got = NULL;
done:
    free(got);
    if (gpu) {
        vkr_tensor_free(gpu, &out);
        vkr_tensor_free(gpu, &sample);
        vkr_tensor_free(gpu, &ts);
        vkr_tensor_free(gpu, &ehs);
        vkr_unet3d_free(unet);
        vkr_gpu_destroy(gpu);
    }
    free(x.f32), free(x.i64), free(t.f32), free(t.i64), free(e.f32), free(e.i64);
    return rc;
}
