/* nn/attention_block vs a plain-C double reference: diffusers-named cross
 * attention (no q/k/v bias, kv_dim != dim, key-padding mask, fused residual)
 * and CLIP-named causal self-attention with biases. The weights come from a
 * small safetensors file written here, so loading by name is covered too. */
#include "gpu_test.h"

#include "nn/attention_block.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    const char *name;
    int64_t rows, cols; /* cols 0: a vector */
    float *data;
} param;

/* Writes a safetensors file holding the params (F32). */
static int write_safetensors(const char *path, const param *p, int n)
{
    char header[8192];
    size_t len = 0, off = 0;
    len += (size_t)snprintf(header + len, sizeof header - len, "{");
    for (int i = 0; i < n; i++) {
        size_t bytes = (size_t)(p[i].rows * (p[i].cols ? p[i].cols : 1)) * 4;
        if (p[i].cols)
            len += (size_t)snprintf(header + len, sizeof header - len,
                                    "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
                                    i ? "," : "", p[i].name, (long long)p[i].rows, (long long)p[i].cols, off,
                                    off + bytes);
        else
            len += (size_t)snprintf(header + len, sizeof header - len,
                                    "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}",
                                    i ? "," : "", p[i].name, (long long)p[i].rows, off, off + bytes);
        off += bytes;
    }
    len += (size_t)snprintf(header + len, sizeof header - len, "}");
    while (len % 8)
        header[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t hl = len;
    int ok = fwrite(&hl, 8, 1, f) == 1 && fwrite(header, 1, len, f) == len;
    for (int i = 0; i < n && ok; i++) {
        size_t cnt = (size_t)(p[i].rows * (p[i].cols ? p[i].cols : 1));
        ok = fwrite(p[i].data, 4, cnt, f) == cnt;
    }
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* y[r] = x[r] . W^T + b (W out x in). */
static void ref_linear(const float *x, int64_t rows, int64_t in, const float *w, const float *b, int64_t out,
                       double *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < out; o++) {
            double s = b ? b[o] : 0;
            for (int64_t i = 0; i < in; i++)
                s += (double)x[r * in + i] * w[o * in + i];
            y[r * out + o] = s;
        }
}

typedef struct {
    int64_t B, Lq, Lk, dim, kv_dim, inner, heads;
    int causal, use_mask, self, biases;
    const vkr_attention_names *names;
    const char *label;
} setup;

static void run(vkr_gpu *gpu, const setup *s, uint64_t seed)
{
    const int64_t B = s->B, Lq = s->Lq, Lk = s->self ? s->Lq : s->Lk, D = s->dim, C = s->self ? s->dim : s->kv_dim,
                  I = s->inner, H = s->heads, hd = I / H;
    const vkr_attention_names *nm = s->names;
    float *wq = malloc(sizeof(float) * I * D), *wk = malloc(sizeof(float) * I * C), *wv = malloc(sizeof(float) * I * C),
          *wo = malloc(sizeof(float) * D * I), *bq = malloc(sizeof(float) * I), *bk = malloc(sizeof(float) * I),
          *bv = malloc(sizeof(float) * I), *bo = malloc(sizeof(float) * D);
    float *x = malloc(sizeof(float) * B * Lq * D), *ctx = malloc(sizeof(float) * B * Lk * C),
          *res = malloc(sizeof(float) * B * Lq * D), *maskv = malloc(sizeof(float) * B * Lk),
          *got = malloc(sizeof(float) * B * Lq * D), *want = malloc(sizeof(float) * B * Lq * D);
    double *q = malloc(sizeof(double) * B * Lq * I), *k = malloc(sizeof(double) * B * Lk * I),
           *v = malloc(sizeof(double) * B * Lk * I), *o = malloc(sizeof(double) * B * Lq * I),
           *y = malloc(sizeof(double) * B * Lq * D), *sc = malloc(sizeof(double) * Lk);
    float *ctx_rows = s->self ? x : ctx;
    gt_rand(wq, I * D, -0.4f, 0.4f, &seed);
    gt_rand(wk, I * C, -0.4f, 0.4f, &seed);
    gt_rand(wv, I * C, -0.4f, 0.4f, &seed);
    gt_rand(wo, D * I, -0.4f, 0.4f, &seed);
    gt_rand(bq, I, -0.2f, 0.2f, &seed);
    gt_rand(bk, I, -0.2f, 0.2f, &seed);
    gt_rand(bv, I, -0.2f, 0.2f, &seed);
    gt_rand(bo, D, -0.2f, 0.2f, &seed);
    gt_rand(x, B * Lq * D, -1, 1, &seed);
    gt_rand(ctx, B * Lk * C, -1, 1, &seed);
    gt_rand(res, B * Lq * D, -1, 1, &seed);
    for (int64_t b = 0; b < B; b++) /* row b keeps Lk - b keys */
        for (int64_t j = 0; j < Lk; j++)
            maskv[b * Lk + j] = j < Lk - b ? 0.0f : -FLT_MAX;

    /* Reference. */
    ref_linear(x, B * Lq, D, wq, nm->q_bias ? bq : NULL, I, q);
    ref_linear(ctx_rows, B * Lk, C, wk, nm->k_bias ? bk : NULL, I, k);
    ref_linear(ctx_rows, B * Lk, C, wv, nm->v_bias ? bv : NULL, I, v);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Lq; i++) {
                double mx = -1e300, sum = 0;
                for (int64_t j = 0; j < Lk; j++) {
                    double d = 0;
                    for (int64_t e = 0; e < hd; e++)
                        d += q[(b * Lq + i) * I + h * hd + e] * k[(b * Lk + j) * I + h * hd + e];
                    d /= sqrt((double)hd);
                    if (s->use_mask && maskv[b * Lk + j] != 0)
                        d = -1e300;
                    if (s->causal && j > i)
                        d = -1e300;
                    sc[j] = d;
                    mx = fmax(mx, d);
                }
                for (int64_t j = 0; j < Lk; j++)
                    sum += sc[j] = sc[j] <= -1e299 ? 0 : exp(sc[j] - mx);
                for (int64_t e = 0; e < hd; e++) {
                    double a = 0;
                    for (int64_t j = 0; j < Lk; j++)
                        a += sc[j] * v[(b * Lk + j) * I + h * hd + e];
                    o[(b * Lq + i) * I + h * hd + e] = a / sum;
                }
            }
    float *of = malloc(sizeof(float) * B * Lq * I);
    for (int64_t i = 0; i < B * Lq * I; i++)
        of[i] = (float)o[i];
    ref_linear(of, B * Lq, I, wo, nm->out_bias ? bo : NULL, D, y);
    for (int64_t i = 0; i < B * Lq * D; i++)
        want[i] = (float)(y[i] + res[i]);

    /* Weights file with the module's names (prefix "blk"). */
    char names[8][64];
    param p[8];
    int np = 0;
    const char *subs[4] = {nm->q, nm->k, nm->v, nm->out};
    const bool has_b[4] = {nm->q_bias, nm->k_bias, nm->v_bias, nm->out_bias};
    float *ws[4] = {wq, wk, wv, wo}, *bs[4] = {bq, bk, bv, bo};
    const int64_t wr[4] = {I, I, I, D}, wc[4] = {D, C, C, I};
    for (int i = 0; i < 4; i++) {
        snprintf(names[np], sizeof names[np], "blk.%s.weight", subs[i]);
        p[np] = (param){names[np], wr[i], wc[i], ws[i]};
        np++;
        if (has_b[i]) {
            snprintf(names[np], sizeof names[np], "blk.%s.bias", subs[i]);
            p[np] = (param){names[np], wr[i], 0, bs[i]};
            np++;
        }
    }
    char path[] = "/tmp/vkr_attn_block_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0)
        close(fd);
    vkr_weights *w = NULL;
    vkr_attention_block blk;
    vkr_tensor tx = {0}, tctx = {0}, tres = {0}, tmask = {0};
    const int64_t ne_x[5] = {1, 1, B, Lq, D}, ne_c[5] = {1, 1, B, Lk, C}, ne_m[5] = {1, B, 1, 1, Lk};
    int rc = fd < 0 || write_safetensors(path, p, np) ? -1 : vkr_weights_open(&w, path);
    if (!rc)
        rc = vkr_attention_block_load(gpu, w, VKR_F32, "blk", nm, D, C, I, H, &blk);
    if (!rc)
        rc = vkr_weights_check_all_used(w);
    CHECK(rc == 0, "%s: load: %s", s->label, vkr_last_error());
    if (!rc && !(rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne_x, &tx)) &&
        !(rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne_c, &tctx)) &&
        !(rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne_x, &tres)) &&
        !(rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne_m, &tmask)) &&
        !(rc = vkr_tensor_upload(gpu, &tx, x, VKR_F32)) && !(rc = vkr_tensor_upload(gpu, &tctx, ctx, VKR_F32)) &&
        !(rc = vkr_tensor_upload(gpu, &tres, res, VKR_F32)) && !(rc = vkr_tensor_upload(gpu, &tmask, maskv, VKR_F32))) {
        vkr_attention_block_args args = {.causal = s->causal, .mask = s->use_mask ? &tmask : NULL, .residual = &tres};
        /* Output into the residual tensor itself (in-place residual add). */
        rc = vkr_attention_block_forward(gpu, &blk, &tx, s->self ? NULL : &tctx, &args, &tres);
        if (!rc)
            rc = vkr_tensor_download(gpu, &tres, got, VKR_F32);
        CHECK(rc == 0, "%s: forward: %s", s->label, vkr_last_error());
        if (!rc)
            gt_compare(s->label, VKR_F32, got, want, ne_x, &(gt_tol){2e-5, 2e-5, 1e-10});
    }
    vkr_tensor_free(gpu, &tx);
    vkr_tensor_free(gpu, &tctx);
    vkr_tensor_free(gpu, &tres);
    vkr_tensor_free(gpu, &tmask);
    vkr_gpu_weights_reset(gpu);
    vkr_weights_close(w);
    unlink(path);
    free(wq), free(wk), free(wv), free(wo), free(bq), free(bk), free(bv), free(bo);
    free(x), free(ctx), free(res), free(maskv), free(got), free(want);
    free(q), free(k), free(v), free(o), free(y), free(sc), free(of);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    run(gpu, &(setup){.B = 2, .Lq = 5, .Lk = 7, .dim = 12, .kv_dim = 10, .inner = 16, .heads = 2, .use_mask = 1,
                      .names = &vkr_attention_names_diffusers, .label = "diffusers cross-attention, key mask"},
        1);
    run(gpu, &(setup){.B = 3, .Lq = 9, .dim = 24, .inner = 24, .heads = 3, .causal = 1, .self = 1,
                      .names = &vkr_attention_names_clip, .label = "CLIP causal self-attention"},
        2);
    run(gpu, &(setup){.B = 2, .Lq = 6, .dim = 16, .inner = 16, .heads = 4, .use_mask = 1, .self = 1,
                      .names = &vkr_attention_names_bert, .label = "BERT self-attention, key mask"},
        3);
    gt_close(gpu);
    return check_summary("test_attention_block");
}
