/* Golden runners for the audio components: the model in f32 storage on the
 * GPU chosen by --device, every hyper-parameter from the case's config.json. */
#include "pipeline/golden_audio.h"

#include "audio/hifigan.h"
#include "common/status.h"

#include <stdio.h>
#include <stdlib.h>

int vkr_golden_run_hifigan(const vkr_golden_case *c, vkr_golden_result *r)
{
    char cfg_path[4200], w_path[4200];
    vkr_gpu *gpu = NULL;
    vkr_hifigan m = {0};
    vkr_tensor s = {0}, w = {0};
    float *spec = NULL, *wave = NULL;
    int rc;
    const vkr_st_tensor *in = vkr_st_find(&c->io, "in.spectrogram");
    if (!in)
        return vkr_fail(VKR_E_DATA, "%s: io.safetensors has no in.spectrogram", c->dir);
    if (in->ndim != 3 || in->numel < 1)
        return vkr_fail(VKR_E_DATA, "%s: in.spectrogram must be (batch, frames, model_in_dim)", c->dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", c->dir);
    snprintf(w_path, sizeof w_path, "%s/weights.safetensors", c->dir);
    if ((rc = vkr_gpu_create(&(vkr_gpu_options){.device = c->device}, &gpu)) ||
        (rc = vkr_hifigan_load_files(gpu, cfg_path, w_path, VKR_F32, &m)))
        goto done;
    int64_t B = in->shape[0], T = in->shape[1], D = in->shape[2];
    if (D != m.cfg.model_in_dim) {
        rc = vkr_fail(VKR_E_DATA, "%s: in.spectrogram has %lld mel bins, config model_in_dim %d", c->dir,
                      (long long)D, m.cfg.model_in_dim);
        goto done;
    }
    int64_t L = vkr_hifigan_output_length(&m.cfg, T);
    const int64_t sne[5] = {1, 1, B, T, D}, wne[5] = {1, 1, 1, B, L}, shape[2] = {B, L};
    spec = malloc((size_t)in->numel * sizeof *spec);
    wave = malloc((size_t)(B * L) * sizeof *wave);
    if (!spec || !wave) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto done;
    }
    if ((rc = vkr_st_to_f32(in, spec)) || (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, sne, &s)) ||
        (rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, wne, &w)) ||
        (rc = vkr_tensor_upload(gpu, &s, spec, VKR_F32)) ||
        (rc = vkr_hifigan_forward(gpu, &m, &s, &w, NULL, NULL)) ||
        (rc = vkr_tensor_download(gpu, &w, wave, VKR_F32)))
        goto done;
    rc = vkr_golden_add_f32(&r->got, "out.waveform", 2, shape, wave); /* takes wave over */
    wave = NULL;
done:
    free(spec);
    free(wave);
    vkr_tensor_free(gpu, &s);
    vkr_tensor_free(gpu, &w);
    vkr_hifigan_free(&m);
    vkr_gpu_destroy(gpu);
    return rc;
}
