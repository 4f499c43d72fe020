/* Golden runner for tests/golden/unet2d_audioldm (and the hidden UNet2D
 * cases): config.json + weights.safetensors of the case folder, in.sample /
 * in.timestep / in.class_labels (and in.encoder_hidden_states when the case
 * has one) through audio/unet2d in f32 storage, out.sample downloaded for
 * comparison. */
#include "pipeline/golden_audio.h"

#include "audio/unet2d.h"
#include "common/status.h"
#include "gpu/tensor.h"

#include <stdlib.h>

static void free_golden(vkr_golden_tensor *t)
{
    free(t->f32);
    free(t->i64);
}

int vkr_golden_run_unet2d(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_golden_tensor x = {0}, t = {0}, cl = {0}, e = {0};
    vkr_gpu *gpu = NULL;
    vkr_unet2d *unet = NULL;
    vkr_tensor sample = {0}, ts = {0}, labels = {0}, ehs = {0}, out = {0};
    float *got = NULL;
    int rc;
    if (!c->has_io)
        return vkr_fail(VKR_E_NOINPUT, "%s: no io.safetensors", c->dir);
    const int has_labels = vkr_st_find(&c->io, "in.class_labels") != NULL;
    const int has_ehs = vkr_st_find(&c->io, "in.encoder_hidden_states") != NULL;
    if ((rc = vkr_golden_load_st(&c->io, "in.sample", &x)) || (rc = vkr_golden_load_st(&c->io, "in.timestep", &t)) ||
        (has_labels && (rc = vkr_golden_load_st(&c->io, "in.class_labels", &cl))) ||
        (has_ehs && (rc = vkr_golden_load_st(&c->io, "in.encoder_hidden_states", &e))))
        goto done;
    if (x.dtype != VKR_GOLDEN_F32 || x.ndim != 4 || t.dtype != VKR_GOLDEN_F32 ||
        (has_labels && (cl.dtype != VKR_GOLDEN_F32 || cl.ndim != 2 || cl.shape[0] != x.shape[0])) ||
        (has_ehs && (e.dtype != VKR_GOLDEN_F32 || e.ndim != 3 || e.shape[0] != x.shape[0]))) {
        rc = vkr_fail(VKR_E_DATA,
                      "%s: in.sample must be (N, C, H, W), in.class_labels (N, P), in.encoder_hidden_states "
                      "(N, L, D), all float",
                      c->dir);
        goto done;
    }
    /* (N, C, H, W) is (N, C, 1, H, W): the UNet's feature-map layout */
    const int64_t xne[VKR_DIMS] = {x.shape[0], x.shape[1], 1, x.shape[2], x.shape[3]};
    const int64_t tne[VKR_DIMS] = {1, 1, 1, 1, t.numel};
    vkr_gpu_options opt = {.device = c->device};
    if ((rc = vkr_gpu_create(&opt, &gpu)) || (rc = vkr_unet2d_load(gpu, c->dir, VKR_F32, &unet)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, xne, &sample)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, tne, &ts)) ||
        (rc = vkr_tensor_upload(gpu, &sample, x.f32, VKR_F32)) || (rc = vkr_tensor_upload(gpu, &ts, t.f32, VKR_F32)))
        goto done;
    if (has_labels) {
        const int64_t lne[VKR_DIMS] = {1, 1, 1, cl.shape[0], cl.shape[1]};
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, lne, &labels)) ||
            (rc = vkr_tensor_upload(gpu, &labels, cl.f32, VKR_F32)))
            goto done;
    }
    if (has_ehs) {
        const int64_t ene[VKR_DIMS] = {1, 1, e.shape[0], e.shape[1], e.shape[2]};
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ene, &ehs)) ||
            (rc = vkr_tensor_upload(gpu, &ehs, e.f32, VKR_F32)))
            goto done;
    }
    if ((rc = vkr_unet2d_forward(gpu, unet, &sample, &ts, has_labels ? &labels : NULL, has_ehs ? &ehs : NULL, &out)))
        goto done;
    if (!(got = malloc((size_t)vkr_tensor_nelem(&out) * sizeof *got))) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    if ((rc = vkr_tensor_download(gpu, &out, got, VKR_F32)))
        goto done;
    const int64_t shape[4] = {out.ne[0], out.ne[1], out.ne[3], out.ne[4]};
    rc = vkr_golden_add_f32(&r->got, "out.sample", 4, shape, got);
    got = NULL;
done:
    free(got);
    if (gpu) {
        vkr_tensor_free(gpu, &out);
        vkr_tensor_free(gpu, &sample);
        vkr_tensor_free(gpu, &ts);
        vkr_tensor_free(gpu, &labels);
        vkr_tensor_free(gpu, &ehs);
        vkr_unet2d_free(unet);
        vkr_gpu_destroy(gpu);
    }
    free_golden(&x);
    free_golden(&t);
    free_golden(&cl);
    free_golden(&e);
    return rc;
}
