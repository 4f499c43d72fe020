/* Golden runner for AutoencoderKL: f32 weights and activations on the GPU
 * chosen by --device, every hyper-parameter from the case's config.json. */
#include "pipeline/golden_vae.h"

#include "common/status.h"
#include "vae/autoencoder_kl.h"

#include <stdlib.h>

/* in.<name> (N, C, H, W) uploaded as {N, C, 1, H, W}. */
static int upload_input(vkr_gpu *gpu, const vkr_golden_case *c, const char *name, vkr_tensor *t)
{
    const vkr_st_tensor *st = vkr_st_find(&c->io, name);
    if (!st)
        return vkr_fail(VKR_E_DATA, "%s: io.safetensors has no %s", c->dir, name);
    if (st->ndim != 4)
        return vkr_fail(VKR_E_DATA, "%s: %s must be (batch, channels, height, width)", c->dir, name);
    float *v = malloc((size_t)st->numel * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    const int64_t ne[VKR_DIMS] = {st->shape[0], st->shape[1], 1, st->shape[2], st->shape[3]};
    int rc = vkr_st_to_f32(st, v);
    if (!rc && !(rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, t)))
        rc = vkr_tensor_upload(gpu, t, v, VKR_F32);
    free(v);
    return rc;
}

/* t {N, C, 1, H, W} added as an (N, C, H, W) output. */
static int add_output(vkr_gpu *gpu, vkr_golden_result *r, const char *name, const vkr_tensor *t)
{
    const int64_t shape[4] = {t->ne[0], t->ne[1], t->ne[3], t->ne[4]};
    float *v = malloc((size_t)vkr_tensor_nelem(t) * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = vkr_tensor_download(gpu, t, v, VKR_F32);
    if (rc) {
        free(v);
        return rc;
    }
    return vkr_golden_add_f32(&r->got, name, 4, shape, v);
}

int vkr_golden_run_vae(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_gpu *gpu = NULL;
    vkr_vae vae = {0};
    vkr_tensor z = {0}, x = {0}, sample = {0}, mean = {0}, logvar = {0};
    const char *x_name = vkr_st_find(&c->io, "in.mel") ? "in.mel" : "in.x";
    int rc;
    if ((rc = vkr_gpu_create(&(vkr_gpu_options){.device = c->device}, &gpu)) ||
        (rc = vkr_vae_load(gpu, c->dir, VKR_F32, &vae)) || (rc = upload_input(gpu, c, "in.z", &z)) ||
        (rc = vkr_vae_decode(gpu, &vae, &z, &sample)) || (rc = add_output(gpu, r, "out.sample", &sample)))
        goto done;
    if (vkr_st_find(&c->io, x_name) &&
        ((rc = upload_input(gpu, c, x_name, &x)) || (rc = vkr_vae_encode(gpu, &vae, &x, &mean, &logvar)) ||
         (rc = add_output(gpu, r, "out.latent_mean", &mean)) || (rc = add_output(gpu, r, "out.latent_logvar", &logvar))))
        goto done;
done:
    if (gpu) {
        vkr_tensor_free(gpu, &z);
        vkr_tensor_free(gpu, &x);
        vkr_tensor_free(gpu, &sample);
        vkr_tensor_free(gpu, &mean);
        vkr_tensor_free(gpu, &logvar);
        vkr_vae_free(&vae);
        vkr_gpu_destroy(gpu);
    }
    return rc;
}
