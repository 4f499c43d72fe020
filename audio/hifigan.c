/* SpeechT5HifiGan vocoder (see audio/hifigan.h), written as the transformers
 * forward reads, on the conv (gpu/ops_conv.h) and elementwise
 * (gpu/ops_eltwise.h) ops. The leaky ReLU before every resblock conv and
 * before conv_post is fused into the conv's input read. */
#include "audio/hifigan.h"

#include "common/status.h"
#include "gpu/ops_conv.h"
#include "gpu/ops_eltwise.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- config ---------------------------------------------------------------- */

/* resblock_dilation_sizes is a list of lists, which the flat getters do not
 * read: absent or null gives [[1,3,5]] per kernel (the transformers default). */
static int parse_dilations(const vkr_config *cfg, vkr_hifigan_config *c)
{
    const char *key = "resblock_dilation_sizes";
    const cJSON *a = cJSON_GetObjectItemCaseSensitive((const cJSON *)cfg->root, key);
    if (!a || cJSON_IsNull(a)) {
        for (int j = 0; j < c->num_kernels; j++) {
            c->num_dilations[j] = 3;
            c->resblock_dilation_sizes[j][0] = 1, c->resblock_dilation_sizes[j][1] = 3,
            c->resblock_dilation_sizes[j][2] = 5;
        }
        return VKR_OK;
    }
    if (!cJSON_IsArray(a))
        return vkr_fail(VKR_E_DATA, "%s: %s must be a list of lists of integers", cfg->path, key);
    int n = cJSON_GetArraySize(a);
    /* transformers zips kernels with dilation lists but indexes resblocks by
     * num_kernels = len(kernels): unequal lengths do not load there either. */
    if (n != c->num_kernels)
        return vkr_fail(VKR_E_DATA, "%s: %s has %d entries, resblock_kernel_sizes %d", cfg->path, key, n,
                        c->num_kernels);
    for (int j = 0; j < n; j++) {
        const cJSON *row = cJSON_GetArrayItem(a, j);
        int m = cJSON_IsArray(row) ? cJSON_GetArraySize(row) : -1;
        if (m < 1 || m > VKR_HIFIGAN_MAX_DILATIONS)
            return vkr_fail(VKR_E_DATA, "%s: %s[%d] must be a list of 1..%d integers", cfg->path, key, j,
                            VKR_HIFIGAN_MAX_DILATIONS);
        c->num_dilations[j] = m;
        for (int q = 0; q < m; q++) {
            const cJSON *v = cJSON_GetArrayItem(row, q);
            double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
            if (d < 1 || d > 1024 || d != (int)d)
                return vkr_fail(VKR_E_DATA, "%s: %s[%d][%d] must be an integer in 1..1024", cfg->path, key, j, q);
            c->resblock_dilation_sizes[j][q] = (int)d;
        }
    }
    return VKR_OK;
}

int vkr_hifigan_config_parse(const vkr_config *cfg, vkr_hifigan_config *out)
{
    static const int def_rates[] = {4, 4, 4, 4}, def_kernels[] = {8, 8, 8, 8}, def_rb_kernels[] = {3, 7, 11};
    vkr_hifigan_config c;
    memset(&c, 0, sizeof c);
    double slope;
    int n_kernels_up, rc;
    if ((rc = vkr_cfg_int(cfg, "model_in_dim", 80, &c.model_in_dim)) ||
        (rc = vkr_cfg_int(cfg, "sampling_rate", 16000, &c.sampling_rate)) ||
        (rc = vkr_cfg_int(cfg, "upsample_initial_channel", 512, &c.upsample_initial_channel)) ||
        (rc = vkr_cfg_int_array(cfg, "upsample_rates", def_rates, 4, c.upsample_rates, VKR_HIFIGAN_MAX_STAGES,
                                &c.num_upsamples)) ||
        (rc = vkr_cfg_int_array(cfg, "upsample_kernel_sizes", def_kernels, 4, c.upsample_kernel_sizes,
                                VKR_HIFIGAN_MAX_STAGES, &n_kernels_up)) ||
        (rc = vkr_cfg_int_array(cfg, "resblock_kernel_sizes", def_rb_kernels, 3, c.resblock_kernel_sizes,
                                VKR_HIFIGAN_MAX_KERNELS, &c.num_kernels)) ||
        (rc = vkr_cfg_double(cfg, "leaky_relu_slope", 0.1, &slope)) ||
        (rc = vkr_cfg_bool(cfg, "normalize_before", true, &c.normalize_before)))
        return rc;
    c.leaky_relu_slope = (float)slope;
    if (c.model_in_dim < 1)
        return vkr_fail(VKR_E_DATA, "%s: model_in_dim %d", cfg->path, c.model_in_dim);
    if (c.num_upsamples < 1 || c.num_upsamples != n_kernels_up)
        return vkr_fail(VKR_E_DATA, "%s: %d upsample_rates but %d upsample_kernel_sizes", cfg->path,
                        c.num_upsamples, n_kernels_up);
    if (c.num_kernels < 1)
        return vkr_fail(VKR_E_DATA, "%s: resblock_kernel_sizes is empty", cfg->path);
    for (int i = 0; i < c.num_upsamples; i++) {
        int r = c.upsample_rates[i], k = c.upsample_kernel_sizes[i];
        /* padding (k - r) // 2 must be >= 0 for torch's ConvTranspose1d */
        if (r < 1 || r > 31 || k < r || k > 255)
            return vkr_fail(VKR_E_DATA, "%s: upsample stage %d: rate %d, kernel %d (need 1 <= rate <= kernel)",
                            cfg->path, i, r, k);
    }
    if (c.upsample_initial_channel >> c.num_upsamples < 1)
        return vkr_fail(VKR_E_DATA, "%s: upsample_initial_channel %d cannot be halved %d times", cfg->path,
                        c.upsample_initial_channel, c.num_upsamples);
    for (int j = 0; j < c.num_kernels; j++) {
        int k = c.resblock_kernel_sizes[j];
        /* an even kernel changes the length and the residual add fails in torch */
        if (k < 1 || k % 2 == 0 || k > 255)
            return vkr_fail(VKR_E_DATA, "%s: resblock_kernel_sizes[%d] = %d (must be odd)", cfg->path, j, k);
    }
    if ((rc = parse_dilations(cfg, &c)))
        return rc;
    *out = c;
    return VKR_OK;
}

int vkr_hifigan_stage_channels(const vkr_hifigan_config *c, int stage)
{
    return c->upsample_initial_channel >> (stage + 1);
}

int64_t vkr_hifigan_stage_length(const vkr_hifigan_config *c, int stage, int64_t len)
{
    int r = c->upsample_rates[stage], k = c->upsample_kernel_sizes[stage];
    return (len - 1) * r - 2 * ((k - r) / 2) + k;
}

int64_t vkr_hifigan_output_length(const vkr_hifigan_config *c, int64_t frames)
{
    if (frames < 1)
        return 0;
    int64_t len = frames; /* conv_pre and conv_post keep the length (k7 p3) */
    for (int i = 0; i < c->num_upsamples; i++)
        len = vkr_hifigan_stage_length(c, i, len);
    return len;
}

/* ---- weights --------------------------------------------------------------- */

/* Fetches `name` with the torch shape dims[0..ndim), uploads it as ne. */
static int load_tensor(vkr_gpu *gpu, vkr_weights *w, const char *name, int ndim, const int64_t *dims,
                       const int64_t ne[VKR_DIMS], vkr_dtype dtype, vkr_tensor *out)
{
    float *host = NULL;
    int rc = vkr_weights_load_f32(w, name, ndim, dims, &host);
    if (!rc)
        rc = vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, dtype, ne, out);
    if (!rc)
        rc = vkr_tensor_upload(gpu, out, host, VKR_F32);
    free(host);
    return rc;
}

/* prefix.weight (O, C, K) [transposed: (C, O, K)] and prefix.bias (O). */
static int load_conv(vkr_gpu *gpu, vkr_weights *w, const char *prefix, int64_t C, int64_t O, int64_t K,
                     int transposed, vkr_dtype dtype, vkr_hifigan_conv *conv)
{
    char name[128];
    int64_t a = transposed ? C : O, b = transposed ? O : C;
    const int64_t wne[VKR_DIMS] = {1, 1, a, b, K}, bne[VKR_DIMS] = {1, 1, 1, 1, O};
    int rc;
    snprintf(name, sizeof name, "%s.weight", prefix);
    if ((rc = load_tensor(gpu, w, name, VKR_SHAPE(a, b, K), wne, dtype, &conv->weight)))
        return rc;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load_tensor(gpu, w, name, VKR_SHAPE(O), bne, dtype, &conv->bias);
}

int vkr_hifigan_load(vkr_gpu *gpu, const vkr_hifigan_config *cfg, vkr_weights *w, vkr_dtype weight_dtype,
                     vkr_hifigan *m)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->weight_dtype = weight_dtype;
    const vkr_hifigan_config *c = &m->cfg;
    int rc;
    char prefix[96];
    if (weight_dtype != VKR_F32 && weight_dtype != VKR_F16 && weight_dtype != VKR_BF16)
        return vkr_fail(VKR_E_INTERNAL, "hifigan: weight dtype %s", vkr_dtype_name(weight_dtype));
    m->resblocks = calloc((size_t)(c->num_upsamples * c->num_kernels), sizeof *m->resblocks);
    if (!m->resblocks)
        return vkr_fail(VKR_E_INTERNAL, "hifigan: out of memory");

    const int64_t dne[VKR_DIMS] = {1, 1, 1, 1, c->model_in_dim};
    if (c->normalize_before) {
        if ((rc = load_tensor(gpu, w, "mean", VKR_SHAPE(c->model_in_dim), dne, weight_dtype, &m->mean)) ||
            (rc = load_tensor(gpu, w, "scale", VKR_SHAPE(c->model_in_dim), dne, weight_dtype, &m->scale)))
            goto fail;
    } else {
        /* registered buffers, always in the state dict, unused here */
        vkr_weights_skip(w, "mean");
        vkr_weights_skip(w, "scale");
    }
    if ((rc = load_conv(gpu, w, "conv_pre", c->model_in_dim, c->upsample_initial_channel, 7, 0, weight_dtype,
                        &m->conv_pre)))
        goto fail;
    for (int i = 0; i < c->num_upsamples; i++) {
        int64_t cin = i ? vkr_hifigan_stage_channels(c, i - 1) : c->upsample_initial_channel;
        int64_t ch = vkr_hifigan_stage_channels(c, i);
        snprintf(prefix, sizeof prefix, "upsampler.%d", i);
        if ((rc = load_conv(gpu, w, prefix, cin, ch, c->upsample_kernel_sizes[i], 1, weight_dtype,
                            &m->upsampler[i])))
            goto fail;
        for (int j = 0; j < c->num_kernels; j++) {
            int idx = i * c->num_kernels + j;
            vkr_hifigan_resblock *rb = &m->resblocks[idx];
            rb->kernel_size = c->resblock_kernel_sizes[j];
            rb->num_dilations = c->num_dilations[j];
            memcpy(rb->dilation, c->resblock_dilation_sizes[j], sizeof rb->dilation);
            for (int q = 0; q < rb->num_dilations; q++) {
                snprintf(prefix, sizeof prefix, "resblocks.%d.convs1.%d", idx, q);
                if ((rc = load_conv(gpu, w, prefix, ch, ch, rb->kernel_size, 0, weight_dtype, &rb->convs1[q])))
                    goto fail;
                snprintf(prefix, sizeof prefix, "resblocks.%d.convs2.%d", idx, q);
                if ((rc = load_conv(gpu, w, prefix, ch, ch, rb->kernel_size, 0, weight_dtype, &rb->convs2[q])))
                    goto fail;
            }
        }
    }
    if ((rc = load_conv(gpu, w, "conv_post", vkr_hifigan_stage_channels(c, c->num_upsamples - 1), 1, 7, 0,
                        weight_dtype, &m->conv_post)) ||
        (rc = vkr_weights_check_all_used(w)))
        goto fail;
    return VKR_OK;
fail:
    vkr_hifigan_free(m);
    return rc;
}

int vkr_hifigan_load_files(vkr_gpu *gpu, const char *config_path, const char *weights_path, vkr_dtype weight_dtype,
                           vkr_hifigan *m)
{
    vkr_config cfg = {0};
    vkr_weights *w = NULL;
    vkr_hifigan_config c;
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = vkr_cfg_load(&cfg, config_path)) || (rc = vkr_hifigan_config_parse(&cfg, &c)) ||
        (rc = vkr_weights_open(&w, weights_path)))
        goto done;
    rc = vkr_hifigan_load(gpu, &c, w, weight_dtype, m);
done:
    vkr_weights_close(w);
    vkr_cfg_free(&cfg);
    return rc;
}

int vkr_hifigan_load_component(vkr_gpu *gpu, const char *model_dir, const char *component, vkr_variant variant,
                               vkr_dtype weight_dtype, vkr_hifigan *m)
{
    vkr_config cfg = {0};
    vkr_weights *w = NULL;
    vkr_hifigan_config c;
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = vkr_cfg_load_component(&cfg, model_dir, component)) || (rc = vkr_hifigan_config_parse(&cfg, &c)) ||
        (rc = vkr_open_component_weights(model_dir, component, variant, &w)))
        goto done;
    rc = vkr_hifigan_load(gpu, &c, w, weight_dtype, m);
done:
    vkr_weights_close(w);
    vkr_cfg_free(&cfg);
    return rc;
}

void vkr_hifigan_free(vkr_hifigan *m)
{
    if (!m)
        return;
    free(m->resblocks);
    m->resblocks = NULL;
}

/* ---- forward --------------------------------------------------------------- */

static int alloc_signal(vkr_gpu *gpu, vkr_dtype dt, int64_t B, int64_t C, int64_t L, vkr_tensor *t)
{
    const int64_t ne[VKR_DIMS] = {B, C, 1, 1, L};
    return vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, t);
}

static int conv1d(vkr_gpu *gpu, const vkr_hifigan_conv *conv, const vkr_tensor *x, int dilation, int padding,
                  float slope, const vkr_tensor *y)
{
    vkr_conv1d_params p = {.stride = 1, .dilation = dilation, .padding = padding, .input_leaky_relu = 1,
                           .input_slope = slope};
    return vkr_op_conv1d(gpu, x, &conv->weight, &conv->bias, &p, y);
}

/* HifiGanResidualBlock on x; its output is written to acc (first block of a
 * stage) or added to it. x itself is left as it is (the stage's other blocks
 * read it too). */
static int resblock_forward(vkr_gpu *gpu, const vkr_hifigan_resblock *rb, float slope, const vkr_tensor *x,
                            const vkr_tensor *acc, int accumulate)
{
    vkr_tensor t = {0}, buf[2] = {{0}};
    int64_t B = x->ne[0], C = x->ne[1], L = x->ne[4];
    int rc, k = rb->kernel_size;
    const vkr_tensor *cur = x;
    if ((rc = alloc_signal(gpu, x->dtype, B, C, L, &t)) || (rc = alloc_signal(gpu, x->dtype, B, C, L, &buf[0])))
        goto done;
    if (rb->num_dilations > 1 && (rc = alloc_signal(gpu, x->dtype, B, C, L, &buf[1])))
        goto done;
    for (int q = 0; q < rb->num_dilations; q++) {
        int d = rb->dilation[q], last = q == rb->num_dilations - 1;
        /* the last conv2 of the first block writes straight into acc */
        const vkr_tensor *out = last && !accumulate ? acc : &buf[q & 1];
        if ((rc = conv1d(gpu, &rb->convs1[q], cur, d, d * (k - 1) / 2, slope, &t)) ||
            (rc = conv1d(gpu, &rb->convs2[q], &t, 1, (k - 1) / 2, slope, out)) ||
            (rc = vkr_op_add(gpu, out, cur, out)))
            goto done;
        if (last && accumulate && (rc = vkr_op_add(gpu, acc, out, acc)))
            goto done;
        cur = out;
    }
done:
    vkr_tensor_free(gpu, &t);
    vkr_tensor_free(gpu, &buf[0]);
    vkr_tensor_free(gpu, &buf[1]);
    return rc;
}

int vkr_hifigan_forward(vkr_gpu *gpu, const vkr_hifigan *m, const vkr_tensor *spectrogram,
                        const vkr_tensor *waveform, vkr_hifigan_tap_fn tap, void *tap_user)
{
    const vkr_hifigan_config *c = &m->cfg;
    const vkr_tensor *s = spectrogram;
    vkr_dtype dt = s->dtype;
    int64_t B = s->ne[2], T = s->ne[3];
    vkr_tensor norm = {0}, h = {0}, u = {0}, x, y;
    int rc;
    char name[32];
    if (s->ne[0] != 1 || s->ne[1] != 1 || s->ne[4] != c->model_in_dim || B < 1 || T < 1)
        return vkr_fail(VKR_E_INTERNAL, "hifigan: spectrogram must be {1, 1, B, T, %d}, got {%lld, %lld, %lld, %lld, %lld}",
                        c->model_in_dim, (long long)s->ne[0], (long long)s->ne[1], (long long)s->ne[2],
                        (long long)s->ne[3], (long long)s->ne[4]);
    int64_t L = vkr_hifigan_output_length(c, T);
    const int64_t wne[VKR_DIMS] = {1, 1, 1, B, L}, yne[VKR_DIMS] = {B, 1, 1, 1, L};
    if (memcmp(waveform->ne, wne, sizeof wne) || waveform->dtype != dt || !vkr_tensor_is_contiguous(waveform))
        return vkr_fail(VKR_E_INTERNAL, "hifigan: waveform must be a contiguous %s {1, 1, 1, %lld, %lld}",
                        vkr_dtype_name(dt), (long long)B, (long long)L);

    if (c->normalize_before) {
        if ((rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, s->ne, &norm)) ||
            (rc = vkr_op_binary(gpu, VKR_BINARY_SUB, s, &m->mean, &norm)) ||
            (rc = vkr_op_binary(gpu, VKR_BINARY_DIV, &norm, &m->scale, &norm)))
            goto done;
        s = &norm;
    }
    /* (B, T, D) -> (B, D, T): a strided view the conv reads directly */
    static const int to_channels[VKR_DIMS] = {2, 4, 0, 1, 3};
    if ((rc = vkr_tensor_permute(s, to_channels, &x)) ||
        (rc = alloc_signal(gpu, dt, B, c->upsample_initial_channel, T, &h)))
        goto done;
    {
        vkr_conv1d_params p = {.stride = 1, .dilation = 1, .padding = 3};
        if ((rc = vkr_op_conv1d(gpu, &x, &m->conv_pre.weight, &m->conv_pre.bias, &p, &h)) ||
            (tap && (rc = tap(tap_user, "conv_pre", &h))))
            goto done;
    }
    vkr_tensor_free(gpu, &norm);

    for (int i = 0; i < c->num_upsamples; i++) {
        int r = c->upsample_rates[i], k = c->upsample_kernel_sizes[i];
        int64_t ch = vkr_hifigan_stage_channels(c, i), Lu = vkr_hifigan_stage_length(c, i, h.ne[4]);
        /* ConvTranspose1d has no fused input activation: leaky ReLU in place
         * (h is dead after the upsampler). */
        if ((rc = vkr_op_leaky_relu(gpu, &h, c->leaky_relu_slope, &h)) ||
            (rc = alloc_signal(gpu, dt, B, ch, Lu, &u)) ||
            (rc = vkr_op_conv_transpose1d(gpu, &h, &m->upsampler[i].weight, &m->upsampler[i].bias, r, (k - r) / 2,
                                          &u)))
            goto done;
        snprintf(name, sizeof name, "upsampler.%d", i);
        if (tap && (rc = tap(tap_user, name, &u)))
            goto done;
        vkr_tensor_free(gpu, &h);
        if ((rc = alloc_signal(gpu, dt, B, ch, Lu, &h)))
            goto done;
        for (int j = 0; j < c->num_kernels; j++)
            if ((rc = resblock_forward(gpu, &m->resblocks[i * c->num_kernels + j], c->leaky_relu_slope, &u, &h,
                                       j > 0)))
                goto done;
        vkr_tensor_free(gpu, &u);
        if (c->num_kernels > 1 && (rc = vkr_op_scale_shift(gpu, &h, 1.0f / (float)c->num_kernels, 0.0f, &h)))
            goto done;
    }
    /* nn.functional.leaky_relu(hidden_states) without a slope: torch's 0.01 */
    if ((rc = vkr_tensor_reshape(waveform, yne, &y)) || (rc = conv1d(gpu, &m->conv_post, &h, 1, 3, 0.01f, &y)) ||
        (tap && (rc = tap(tap_user, "conv_post", &y))) || (rc = vkr_op_tanh(gpu, &y, &y)))
        goto done;
done:
    vkr_tensor_free(gpu, &norm);
    vkr_tensor_free(gpu, &h);
    vkr_tensor_free(gpu, &u);
    return rc;
}
