/* Golden runners for the text encoders: the model in f32 storage on the GPU
 * chosen by --device, every hyper-parameter from the case's config.json. */
#include "pipeline/golden_text.h"

#include "common/status.h"
#include "text/clap_text.h"
#include "text/clip_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opens the case's config.json and weights.safetensors and the GPU. */
static int open_case(const vkr_golden_case *c, vkr_config *cfg, vkr_weights **w, vkr_gpu **gpu)
{
    char path[4200];
    int rc;
    snprintf(path, sizeof path, "%s/config.json", c->dir);
    if ((rc = vkr_cfg_load(cfg, path)))
        return rc;
    snprintf(path, sizeof path, "%s/weights.safetensors", c->dir);
    if ((rc = vkr_weights_open(w, path)))
        return rc;
    return vkr_gpu_create(&(vkr_gpu_options){.device = c->device}, gpu);
}

/* in.<name>: a 2-D int64 tensor (batch, seq), malloc'd. */
static int load_ids(const vkr_golden_case *c, const char *name, int64_t **out, int64_t shape[2])
{
    const vkr_st_tensor *t = vkr_st_find(&c->io, name);
    *out = NULL;
    if (!t)
        return vkr_fail(VKR_E_DATA, "%s: io.safetensors has no %s", c->dir, name);
    if (t->ndim != 2 || t->numel < 1)
        return vkr_fail(VKR_E_DATA, "%s: %s must be (batch, seq)", c->dir, name);
    int64_t *v = malloc((size_t)t->numel * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = vkr_st_to_i64(t, v);
    if (rc) {
        free(v);
        return rc;
    }
    shape[0] = t->shape[0];
    shape[1] = t->shape[1];
    *out = v;
    return VKR_OK;
}

/* Downloads t and adds it to the result as `name` with the given shape. */
static int add_output(vkr_gpu *gpu, vkr_golden_result *r, const char *name, const vkr_tensor *t, int ndim,
                      const int64_t *shape)
{
    int64_t n = vkr_tensor_nelem(t);
    float *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    int rc = vkr_tensor_download(gpu, t, v, VKR_F32);
    if (rc) {
        free(v);
        return rc;
    }
    return vkr_golden_add_f32(&r->got, name, ndim, shape, v); /* takes v over */
}

static int add_hidden_states(vkr_gpu *gpu, vkr_golden_result *r, const vkr_tensor *hs, int n, const int64_t seq3[3])
{
    char name[64];
    int rc;
    for (int j = 0; j < n; j++) {
        snprintf(name, sizeof name, "out.hidden_states.%d", j);
        if ((rc = add_output(gpu, r, name, &hs[j], 3, seq3)))
            return rc;
    }
    return VKR_OK;
}

int vkr_golden_run_clip_text(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_config cfg = {0};
    vkr_weights *w = NULL;
    vkr_gpu *gpu = NULL;
    vkr_clip_text_config config;
    vkr_clip_text m = {0};
    vkr_clip_text_output o = {0};
    int64_t *ids = NULL, shape[2];
    int rc;

    if ((rc = load_ids(c, "in.input_ids", &ids, shape)) || (rc = open_case(c, &cfg, &w, &gpu)) ||
        (rc = vkr_clip_text_config_read(&cfg, &config)) || (rc = vkr_clip_text_load(gpu, &config, w, VKR_F32, &m)) ||
        (rc = vkr_clip_text_forward(gpu, &m, ids, shape[0], shape[1], 1, &o)))
        goto done;
    const int64_t seq3[3] = {shape[0], shape[1], config.hidden_size}, pool[2] = {shape[0], config.hidden_size};
    if ((rc = add_output(gpu, r, "out.last_hidden_state", &o.last_hidden_state, 3, seq3)) ||
        (rc = add_output(gpu, r, "out.pooler_output", &o.pooler_output, 2, pool)) ||
        (rc = add_hidden_states(gpu, r, o.hidden_states, o.n_hidden_states, seq3)))
        goto done;
    snprintf(r->note, sizeof r->note, "CLIPTextModel %d layers, hidden %d, f32 storage, pooled at %s",
             config.num_hidden_layers, config.hidden_size,
             config.eos_token_id == 2 ? "argmax(ids) (legacy eos_token_id 2)" : "the first eos_token_id");
done:
    if (gpu) {
        vkr_clip_text_output_free(gpu, &o);
        vkr_gpu_destroy(gpu);
    }
    vkr_clip_text_free(&m);
    vkr_weights_close(w);
    vkr_cfg_free(&cfg);
    free(ids);
    return rc;
}

int vkr_golden_run_clap_text(const vkr_golden_case *c, vkr_golden_result *r)
{
    vkr_config cfg = {0};
    vkr_weights *w = NULL;
    vkr_gpu *gpu = NULL;
    vkr_clap_text_config config;
    vkr_clap_text m = {0};
    vkr_clap_text_output o = {0};
    int64_t *ids = NULL, *mask = NULL, shape[2], mshape[2] = {0, 0};
    int rc;

    if ((rc = load_ids(c, "in.input_ids", &ids, shape)))
        goto done;
    /* The mask is optional in the model call (absent: all ones). */
    if (vkr_st_find(&c->io, "in.attention_mask")) {
        if ((rc = load_ids(c, "in.attention_mask", &mask, mshape)))
            goto done;
        if (mshape[0] != shape[0] || mshape[1] != shape[1]) {
            rc = vkr_fail(VKR_E_DATA, "%s: in.attention_mask is not the shape of in.input_ids", c->dir);
            goto done;
        }
    }
    if ((rc = open_case(c, &cfg, &w, &gpu)) || (rc = vkr_clap_text_config_read(&cfg, &config)) ||
        (rc = vkr_clap_text_load(gpu, &config, w, VKR_F32, &m)) ||
        (rc = vkr_clap_text_forward(gpu, &m, ids, mask, shape[0], shape[1], 1, &o)))
        goto done;
    const int64_t seq3[3] = {shape[0], shape[1], config.hidden_size}, pool[2] = {shape[0], config.hidden_size},
                  proj[2] = {shape[0], config.projection_dim};
    if ((rc = add_output(gpu, r, "out.text_embeds", &o.text_embeds, 2, proj)) ||
        (rc = add_output(gpu, r, "out.text_embeds_normalized", &o.text_embeds_normalized, 2, proj)) ||
        (rc = add_output(gpu, r, "out.last_hidden_state", &o.last_hidden_state, 3, seq3)) ||
        (rc = add_output(gpu, r, "out.pooler_output", &o.pooler_output, 2, pool)) ||
        (rc = add_hidden_states(gpu, r, o.hidden_states, o.n_hidden_states, seq3)))
        goto done;
    snprintf(r->note, sizeof r->note, "ClapTextModelWithProjection %d layers, hidden %d, projection %d, f32 storage",
             config.num_hidden_layers, config.hidden_size, config.projection_dim);
done:
    if (gpu) {
        vkr_clap_text_output_free(gpu, &o);
        vkr_gpu_destroy(gpu);
    }
    vkr_clap_text_free(&m);
    vkr_weights_close(w);
    vkr_cfg_free(&cfg);
    free(ids);
    free(mask);
    return rc;
}
