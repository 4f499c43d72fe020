/* Fused attention (gpu/ops_attention.c) vs the double-precision reference
 * (gpu/ref_attention.c): odd lengths (Lq != Lk), head dims 1..128 (and the
 * unfused path for 136 and 160), 1/3/5/8
 * heads, batch 1..3, every storage dtype, key-padding / full additive masks and
 * causal, strided views (heads split from a tokens-major (B, L, H*D) tensor,
 * temporal (B*H*W, F, C) sequences read from a frames-major tensor, output
 * written into a tokens-major tensor), both variants (plain and subgroup, when
 * the device has subgroup arithmetic), extreme logits, one long sequence
 * (checked on a sample of rows), and the binding-window split path.
 *
 * Tolerances: the output is a convex combination of v rows, so errors are
 * absolute in units of |v| (inputs in [-1, 1]). The kernel computes scores,
 * exp2 and the weighted sum in f32 (over up to Lk terms), then rounds once:
 *   F32:  |err| <= 3e-5 + 1e-4 |want|, nmse <= 1e-9  (f32 sums + exp2 approximation)
 *   F16:  |err| <= 3e-4 + 2e-3 |want|, nmse <= 3e-6  (one f16 rounding of O ~ 2.5e-4 at |O| ~ 0.5)
 *   BF16: |err| <= 3e-3 + 1e-2 |want|, nmse <= 1e-4  (one bf16 rounding)
 * Extreme logits (|scale q.k| up to ~5000): a relative error of 1e-7 in a
 * score is ~5e-4 absolute in the exponent, hence 3e-3 for those cases. */
#include "gpu_test.h"

#include "gpu/ops_attention.h"
#include "gpu/ref_attention.h"

#include <string.h>

static uint64_t seed = 4242;

enum { LAYOUT_BHLD = 0, LAYOUT_TOKENS, LAYOUT_TEMPORAL };
enum { MASK_NONE = 0, MASK_PADDING, MASK_FULL };
static const char *const layout_names[] = {"bhld", "tokens", "temporal"};
static const char *const mask_names[] = {"", " padmask", " fullmask"};

typedef struct {
    int64_t B, H, Lq, Lk, D;
    vkr_dtype dt;
    int layout, mask, causal;
    vkr_attention_variant variant;
    float lo, hi, scale; /* input range; scale 0 = default */
    int sample_rows;     /* > 0: check only this many rows (long sequences) */
} acase;

static gt_tol tol_for(const acase *c)
{
    gt_tol t;
    switch (c->dt) {
    case VKR_F16:  t = (gt_tol){3e-4, 2e-3, 3e-6}; break;
    case VKR_BF16: t = (gt_tol){3e-3, 1e-2, 1e-4}; break;
    default:       t = (gt_tol){3e-5, 1e-4, 1e-9}; break;
    }
    if (c->hi > 2 && t.atol < 3e-3)
        t.atol = 3e-3, t.rtol = 3e-3, t.nmse = 1e-5;
    return t;
}

/* A device operand in one of the layouts, its [B,H,L,D] view, and the host
 * copy of its storage with a host view of identical strides. */
typedef struct {
    vkr_tensor alloc, view;
    float *host;
    vkr_host_tensor hview;
} operand;

static int make_operand(vkr_gpu *gpu, vkr_dtype dt, int layout, int64_t B, int64_t H, int64_t L, int64_t D,
                        float lo, float hi, operand *op)
{
    memset(op, 0, sizeof *op);
    int64_t ne[5];
    if (layout == LAYOUT_BHLD)
        memcpy(ne, (int64_t[5]){1, B, H, L, D}, sizeof ne);
    else if (layout == LAYOUT_TOKENS)
        memcpy(ne, (int64_t[5]){1, 1, B, L, H * D}, sizeof ne);
    else /* frames-major storage: (L = frames, B = sequences, H*D) */
        memcpy(ne, (int64_t[5]){1, 1, L, B, H * D}, sizeof ne);
    size_t n = gt_nelem(ne);
    op->host = calloc(n, sizeof(float));
    gt_rand(op->host, n, lo, hi, &seed);
    gt_round(op->host, n, dt);
    int rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, &op->alloc);
    if (!rc)
        rc = vkr_tensor_upload(gpu, &op->alloc, op->host, VKR_F32);
    if (rc)
        return rc;
    vkr_tensor tok = op->alloc;
    if (layout == LAYOUT_BHLD) {
        op->view = op->alloc;
    } else {
        if (layout == LAYOUT_TEMPORAL) {
            const int perm[5] = {0, 1, 3, 2, 4};
            if ((rc = vkr_tensor_permute(&op->alloc, perm, &tok)))
                return rc;
        }
        if ((rc = vkr_attention_split_heads(&tok, H, &op->view)))
            return rc;
    }
    int64_t eoff = (int64_t)((op->view.offset - op->alloc.offset) / vkr_dtype_size(dt));
    op->hview.data = op->host + eoff;
    for (int d = 0; d < 5; d++)
        op->hview.ne[d] = op->view.ne[d], op->hview.nb[d] = op->view.nb[d];
    return VKR_OK;
}

static void free_operand(vkr_gpu *gpu, operand *op)
{
    if (op->alloc.block)
        vkr_tensor_free(gpu, &op->alloc);
    free(op->host);
}

#include <time.h>
static void run_case(vkr_gpu *gpu, const acase *c)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char name[192];
    snprintf(name, sizeof name, "attention %s B%lld H%lld Lq%lld Lk%lld D%lld %s%s%s %s%s",
             vkr_dtype_name(c->dt), (long long)c->B, (long long)c->H, (long long)c->Lq, (long long)c->Lk,
             (long long)c->D, layout_names[c->layout], mask_names[c->mask], c->causal ? " causal" : "",
             c->variant == VKR_ATTENTION_SUBGROUP ? "subgroup" : c->variant == VKR_ATTENTION_PLAIN ? "plain"
             : c->variant == VKR_ATTENTION_GPU_TILING ? "gpu-tiling" : "auto",
             c->hi > 2 ? " extreme" : "");
    operand q, k, v, o, m;
    memset(&m, 0, sizeof m);
    int rc = make_operand(gpu, c->dt, c->layout, c->B, c->H, c->Lq, c->D, c->lo, c->hi, &q);
    if (!rc)
        rc = make_operand(gpu, c->dt, c->layout, c->B, c->H, c->Lk, c->D, c->lo, c->hi, &k);
    if (!rc)
        rc = make_operand(gpu, c->dt, c->layout, c->B, c->H, c->Lk, c->D, -1, 1, &v);
    if (!rc)
        rc = make_operand(gpu, c->dt, c->layout, c->B, c->H, c->Lq, c->D, 7, 7, &o); /* poison */
    vkr_attention_params params = {.scale = c->scale, .causal = c->causal, .variant = c->variant};
    if (!rc && c->mask != MASK_NONE) {
        int64_t mne[5] = {1, c->B, c->mask == MASK_FULL ? c->H : 1, c->mask == MASK_FULL ? c->Lq : 1, c->Lk};
        size_t n = gt_nelem(mne);
        m.host = calloc(n, sizeof(float));
        if (c->mask == MASK_FULL) {
            gt_rand(m.host, n, -3, 3, &seed);
        } else { /* batch b keeps Lk - b*(Lk/3) keys (>= 1), the rest is -inf; the last batch of 3 keeps none */
            for (int64_t b = 0; b < c->B; b++) {
                int64_t keep = c->Lk - b * (c->Lk / 3 + 1);
                if (b == 2)
                    keep = 0; /* fully masked: uniform average, as torch with finfo.min */
                for (int64_t j = 0; j < c->Lk; j++)
                    m.host[b * c->Lk + j] = j < keep ? 0.0f : -INFINITY;
            }
        }
        gt_round(m.host, n, c->dt);
        rc = vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, c->dt, mne, &m.alloc);
        if (!rc)
            rc = vkr_tensor_upload(gpu, &m.alloc, m.host, VKR_F32);
        m.view = m.alloc;
        m.hview = vkr_host_contiguous(m.host, mne);
        params.mask = &m.view;
    }
    GT_OK(rc);
    if (!rc) {
        GT_OK(rc = vkr_op_attention(gpu, &q.view, &k.view, &v.view, &params, &o.view));
        size_t no = gt_nelem(o.view.ne);
        float *got = calloc(no, sizeof(float)), *want = calloc(no, sizeof(float));
        if (!rc)
            GT_OK(vkr_tensor_download(gpu, &o.view, got, VKR_F32));
        vkr_host_tensor hw = vkr_host_contiguous(want, o.view.ne);
        double scale = c->scale != 0 ? c->scale : 1.0 / sqrt((double)c->D);
        if (c->sample_rows > 0) {
            /* compare a sample of rows only (the reference is O(Lq Lk D) in double) */
            int64_t ne1[5] = {1, c->B, c->H, 1, c->D};
            size_t n1 = gt_nelem(ne1);
            float *g1 = calloc(n1, sizeof(float)), *w1 = calloc(n1, sizeof(float));
            for (int s = 0; s < c->sample_rows; s++) {
                int64_t i = s * (c->Lq - 1) / (c->sample_rows > 1 ? c->sample_rows - 1 : 1);
                vkr_host_tensor q1 = q.hview, o1 = vkr_host_contiguous(w1, ne1), m1;
                q1.data += i * q1.nb[3], q1.ne[3] = 1;
                if (params.mask) {
                    m1 = m.hview;
                    if (m1.ne[3] > 1)
                        m1.data += i * m1.nb[3], m1.ne[3] = 1;
                }
                vkr_ref_attention(&q1, &k.hview, &v.hview, params.mask ? &m1 : NULL, scale, 0, &o1);
                for (int64_t b = 0; b < c->B; b++)
                    for (int64_t h = 0; h < c->H; h++)
                        for (int64_t d = 0; d < c->D; d++)
                            g1[(b * c->H + h) * c->D + d] = got[((b * c->H + h) * c->Lq + i) * c->D + d];
                char n2[224];
                snprintf(n2, sizeof n2, "%s row %lld", name, (long long)i);
                gt_tol t = tol_for(c);
                gt_compare(n2, c->dt, g1, w1, ne1, &t);
            }
            free(g1), free(w1);
        } else {
            vkr_ref_attention(&q.hview, &k.hview, &v.hview, params.mask ? &m.hview : NULL, scale, c->causal, &hw);
            gt_tol t = tol_for(c);
            gt_compare(name, c->dt, got, want, o.view.ne, &t);
        }
        free(got), free(want);
    }
    free_operand(gpu, &q), free_operand(gpu, &k), free_operand(gpu, &v), free_operand(gpu, &o);
    free_operand(gpu, &m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (getenv("ATT_TIME"))
        printf("%6.3f s  %s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), name);
}

/* Output view written inside a bigger tensor: nothing outside it may change. */
static void test_output_untouched(vkr_gpu *gpu)
{
    const int64_t B = 2, H = 3, L = 7, D = 8;
    operand q, k, v;
    GT_OK(make_operand(gpu, VKR_F32, LAYOUT_TOKENS, B, H, L, D, -1, 1, &q));
    GT_OK(make_operand(gpu, VKR_F32, LAYOUT_TOKENS, B, H, L, D, -1, 1, &k));
    GT_OK(make_operand(gpu, VKR_F32, LAYOUT_TOKENS, B, H, L, D, -1, 1, &v));
    /* out: heads 0..2 of a tokens tensor with 4 heads (the 4th must stay 7) */
    const int64_t ne[5] = {1, 1, B, L, 4 * D};
    size_t n = gt_nelem(ne);
    float *host = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        host[i] = 7;
    vkr_tensor big, sl, ov;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ne, &big));
    GT_OK(vkr_tensor_upload(gpu, &big, host, VKR_F32));
    GT_OK(vkr_tensor_slice(&big, 4, 0, H * D, &sl));
    GT_OK(vkr_attention_split_heads(&sl, H, &ov));
    GT_OK(vkr_op_attention(gpu, &q.view, &k.view, &v.view, NULL, &ov));
    GT_OK(vkr_tensor_download(gpu, &big, got, VKR_F32));
    vkr_host_tensor hw = vkr_host_contiguous(host, ne), hov = hw;
    for (int d = 0; d < 5; d++)
        hov.ne[d] = ov.ne[d], hov.nb[d] = ov.nb[d];
    vkr_ref_attention(&q.hview, &k.hview, &v.hview, NULL, 1.0 / sqrt((double)D), 0, &hov);
    gt_tol t = {3e-5, 1e-4, 1e-9};
    gt_compare("attention into a slice of a 4-head tokens tensor", VKR_F32, got, host, ne, &t);
    vkr_tensor_free(gpu, &big);
    free_operand(gpu, &q), free_operand(gpu, &k), free_operand(gpu, &v);
    free(host), free(got);
}

/* Caller bugs are reported, not crashed on. */
static void test_errors(vkr_gpu *gpu)
{
    vkr_tensor q, k, o;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, (int64_t[5]){1, 1, 2, 5, 8}, &q));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, (int64_t[5]){1, 1, 2, 6, 4}, &k));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F16, (int64_t[5]){1, 1, 2, 5, 8}, &o));
    CHECK(vkr_op_attention(gpu, &q, &k, &k, NULL, &q) == VKR_E_INTERNAL, "mismatched head dim must fail");
    CHECK(vkr_op_attention(gpu, &q, &q, &q, NULL, &o) == VKR_E_INTERNAL, "dtype mismatch must fail");
    vkr_tensor big;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, (int64_t[5]){1, 1, 1, 2, 129}, &big));
    const vkr_attention_params causal = {.causal = 1};
    CHECK(vkr_op_attention(gpu, &big, &big, &big, &causal, &big) == VKR_E_INTERNAL,
          "head dim 129 causal (no unfused path) must fail");
    vkr_tensor_free(gpu, &q), vkr_tensor_free(gpu, &k), vkr_tensor_free(gpu, &o), vkr_tensor_free(gpu, &big);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    int sub = vkr_attention_has_variant(gpu, VKR_ATTENTION_SUBGROUP);
    printf("subgroup variant: %s\n", sub ? "yes" : "no (device lacks subgroup arithmetic)");
    vkr_attention_variant variants[2] = {VKR_ATTENTION_PLAIN, VKR_ATTENTION_SUBGROUP};
    int nvar = sub ? 2 : 1;
    static const vkr_dtype dts[3] = {VKR_F32, VKR_F16, VKR_BF16};

    /* lengths x head dims x heads x batch (self and cross), both variants. On
     * lavapipe every new tiling is a JIT compile of seconds, so long rows (many
     * rows per lane) are combined with small head dims and vice versa. */
    static const int64_t shapes[][5] = {
        /* B, H, Lq, Lk, D */
        {1, 1, 1, 1, 1},   {1, 1, 3, 7, 2},      {2, 3, 7, 3, 8},     {1, 5, 9, 33, 40},  {3, 1, 1, 257, 64},
        {1, 8, 257, 7, 8}, {1, 3, 9, 7, 72},     {2, 1, 9, 1000, 128}, {1, 3, 1000, 33, 4}, {2, 5, 24, 24, 64},
        {1, 1, 65, 130, 3}, {3, 1, 33, 33, 40},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int vi = 0; vi < nvar; vi++) {
            const int64_t *sh = shapes[s];
            acase c = {sh[0], sh[1], sh[2], sh[3], sh[4], VKR_F32, LAYOUT_BHLD, MASK_NONE, 0, variants[vi], -1, 1, 0, 0};
            run_case(gpu, &c);
        }
    /* dtypes x layouts (strided views) x masks / causal */
    for (int t = 0; t < 3; t++)
        for (int vi = 0; vi < nvar; vi++) {
            acase c = {2, 3, 9, 7, 40, dts[t], LAYOUT_TOKENS, MASK_NONE, 0, variants[vi], -1, 1, 0, 0};
            run_case(gpu, &c);
            c = (acase){3, 5, 7, 77, 64, dts[t], LAYOUT_TOKENS, MASK_PADDING, 0, variants[vi], -1, 1, 0, 0};
            run_case(gpu, &c); /* CLAP: key padding mask, one batch fully masked */
            c = (acase){2, 3, 77, 77, 8, dts[t], LAYOUT_TOKENS, MASK_NONE, 1, variants[vi], -1, 1, 0, 0};
            run_case(gpu, &c); /* CLIP text encoder: causal */
            c = (acase){37, 5, 24, 24, t == 0 ? 64 : 16, dts[t], LAYOUT_TEMPORAL, MASK_NONE, 0, variants[vi], -1, 1,
                        0, 0};
            run_case(gpu, &c); /* temporal: 37 spatial positions x 24 frames */
            c = (acase){2, 1, 7, 33, 2, dts[t], LAYOUT_BHLD, MASK_FULL, 1, variants[vi], -1, 1, 0.7f, 0};
            run_case(gpu, &c); /* general additive mask + causal with Lq < Lk, explicit scale */
        }
    /* the GPU tiling (one row per invocation; short sequences packed several
     * per workgroup), which CPU devices never pick by themselves */
    run_case(gpu, &(acase){37, 5, 24, 24, 64, VKR_F32, LAYOUT_TEMPORAL, MASK_NONE, 0, VKR_ATTENTION_GPU_TILING, -1, 1,
                           0, 0});
    run_case(gpu, &(acase){3, 2, 7, 77, 8, VKR_F16, LAYOUT_TOKENS, MASK_PADDING, 0, VKR_ATTENTION_GPU_TILING, -1, 1,
                           0, 0});
    run_case(gpu, &(acase){1, 3, 200, 150, 40, VKR_F32, LAYOUT_TOKENS, MASK_NONE, 1, VKR_ATTENTION_GPU_TILING, -1, 1,
                           0, 0});
    /* causal with Lq > Lk (top-left diagonal), and the auto variant */
    run_case(gpu, &(acase){1, 2, 40, 9, 16, VKR_F32, LAYOUT_BHLD, MASK_NONE, 1, VKR_ATTENTION_AUTO, -1, 1, 0, 0});
    run_case(gpu, &(acase){1, 1, 1, 3000, 64, VKR_F16, LAYOUT_TOKENS, MASK_NONE, 0, VKR_ATTENTION_AUTO, -1, 1, 0, 0});
    /* extreme logits: scale * q.k up to ~5000; a naive exp would overflow */
    for (int vi = 0; vi < nvar; vi++) {
        run_case(gpu, &(acase){1, 2, 33, 100, 16, VKR_F32, LAYOUT_BHLD, MASK_NONE, 0, variants[vi], -4, 4, 20, 0});
        run_case(gpu, &(acase){1, 2, 33, 100, 16, VKR_F16, LAYOUT_BHLD, MASK_NONE, 0, variants[vi], -4, 4, 20, 0});
    }
    /* heads wider than 128 (AudioLDM-l: 160): the unfused path, with masks and strided views */
    for (int t = 0; t < 3; t++) {
        run_case(gpu, &(acase){2, 3, 17, 9, 160, dts[t], LAYOUT_TOKENS, MASK_FULL, 0, VKR_ATTENTION_AUTO, -1, 1, 0,
                               0});
        run_case(gpu, &(acase){1, 2, 33, 33, 136, dts[t], LAYOUT_BHLD, MASK_NONE, 0, VKR_ATTENTION_AUTO, -1, 1, 0, 0});
    }
    /* one long sequence, checked on a sample of rows */
    run_case(gpu, &(acase){1, 1, 4096, 4096, 64, VKR_F32, LAYOUT_TOKENS, MASK_NONE, 0, VKR_ATTENTION_AUTO, -1, 1, 0,
                           9});
    test_output_untouched(gpu);
    test_errors(gpu);
    gt_close(gpu);

    /* Tiny binding windows force the split over batches, heads and query rows
     * (causal across a row split needs the global row index). */
    gpu = gt_open(&(vkr_gpu_options){.max_binding_range = 4096});
    run_case(gpu, &(acase){3, 3, 70, 40, 8, VKR_F32, LAYOUT_TOKENS, MASK_NONE, 1, VKR_ATTENTION_PLAIN, -1, 1, 0, 0});
    run_case(gpu, &(acase){2, 2, 100, 30, 8, VKR_F32, LAYOUT_BHLD, MASK_FULL, 0, VKR_ATTENTION_PLAIN, -1, 1, 0, 0});
    gt_close(gpu);
    return check_summary("test_gpu_attention");
}
