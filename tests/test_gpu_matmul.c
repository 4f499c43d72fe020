/* Matmul / linear kernels vs the plain-C reference (gpu/ref_matmul.c): every
 * variant the device can run (tiled with each tile the planner uses, skinny,
 * cooperative matrix where supported), odd sizes (1, 3, 7, 33, 65, 257 — no
 * multiple of a tile), transposed operands through permuted views, batch
 * broadcast, bias, fused activations, residual, scale, every storage dtype and
 * f16/bf16 weights on f32 activations, Linear with collapsible and strided
 * leading dims, the split path for tensors larger than one binding window, the
 * variant-selection logic on described (fake) devices, and argument errors.
 *
 * Tolerances: inputs are rounded to their storage dtype on the host, so the
 * reference sees exactly what the device sees. What remains is (1) f32
 * accumulation in a different order: |err| <= K * 2^-24 * sum_k |a_k b_k|
 * (the recursive-summation bound; the test uses 1.25x that, computed per case
 * from the reference's sum |a b|), plus 2e-6 for the activation
 * approximations (erf); and (2) one rounding of the output to its storage
 * dtype: the per-dtype default rtol of tests/gpu_test.h (f32 1e-5, f16 2e-3 =
 * 2 ulp, bf16 1e-2 = ~1 ulp), nmse as the defaults. */
#include "gpu_test.h"

#include "gpu/gpu_internal.h"
#include "gpu/ops_matmul.h"
#include "gpu/ref_matmul.h"

#include <string.h>

static uint64_t seed = 4242;

static float *new_floats(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

typedef struct {
    int64_t ba[3], bb[3]; /* batch extents of a and b (c takes the max) */
    int64_t m, n, k;
    int a_trans;          /* a stored as [.., K, M], viewed transposed */
    int b_trans;          /* b stored as [.., N, K] (Linear weight), viewed transposed */
    vkr_dtype da, db;
    int bias, residual;
    vkr_unary_op act;
    float scale;
    const vkr_matmul_plan *force; /* NULL: automatic */
} mm_case;

static const char *act_name(vkr_unary_op a) { return a ? vkr_unary_name(a) : "none"; }

static gt_tol tolerance(vkr_dtype dt, const float *abs_sum, size_t n, int64_t k, vkr_unary_op act)
{
    gt_tol t = gt_default_tol(dt);
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        if (abs_sum[i] > mx)
            mx = abs_sum[i];
    double acc = 1.25 * (double)k * 0x1p-24 * mx + (act ? 2e-6 : 0);
    if (acc > t.atol)
        t.atol = acc;
    return t;
}

/* Uploads host values of logical shape ne into a fresh tensor stored with the
 * last two dims swapped when `trans`, and returns the (transposed) view. */
static void make_operand(vkr_gpu *gpu, const float *x, const int64_t ne[5], int trans, vkr_dtype dt, vkr_tensor *owner,
                         vkr_tensor *view)
{
    static const int perm[5] = {0, 1, 2, 4, 3};
    if (!trans) {
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, ne, owner));
        GT_OK(vkr_tensor_upload(gpu, owner, x, VKR_F32));
        *view = *owner;
        return;
    }
    int64_t sne[5] = {ne[0], ne[1], ne[2], ne[4], ne[3]};
    size_t n = gt_nelem(ne);
    float *s = new_floats(n);
    /* s[.., j, i] = x[.., i, j] */
    size_t mats = (size_t)(ne[0] * ne[1] * ne[2]);
    for (size_t b = 0; b < mats; b++)
        for (int64_t i = 0; i < ne[3]; i++)
            for (int64_t j = 0; j < ne[4]; j++)
                s[b * ne[3] * ne[4] + j * ne[3] + i] = x[b * ne[3] * ne[4] + i * ne[4] + j];
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, sne, owner));
    GT_OK(vkr_tensor_upload(gpu, owner, s, VKR_F32));
    GT_OK(vkr_tensor_permute(owner, perm, view));
    free(s);
}

static void run_case(vkr_gpu *gpu, const char *what, const mm_case *t)
{
    int64_t ane[5] = {t->ba[0], t->ba[1], t->ba[2], t->m, t->k}, bne[5] = {t->bb[0], t->bb[1], t->bb[2], t->k, t->n};
    int64_t cne[5] = {0, 0, 0, t->m, t->n}, biasne[5] = {1, 1, 1, 1, t->n};
    for (int d = 0; d < 3; d++)
        cne[d] = t->ba[d] > t->bb[d] ? t->ba[d] : t->bb[d];
    size_t na = gt_nelem(ane), nb = gt_nelem(bne), nc = gt_nelem(cne);
    float *a = new_floats(na), *b = new_floats(nb), *bias = new_floats((size_t)t->n), *res = new_floats(nc),
          *got = new_floats(nc), *want = new_floats(nc), *mag = new_floats(nc);
    gt_rand(a, na, -1, 1, &seed);
    gt_rand(b, nb, -1, 1, &seed);
    gt_rand(bias, (size_t)t->n, -1, 1, &seed);
    gt_rand(res, nc, -2, 2, &seed);
    gt_round(a, na, t->da);
    gt_round(b, nb, t->db);
    gt_round(bias, (size_t)t->n, t->db);
    gt_round(res, nc, t->da);

    vkr_tensor ta, tav, tb, tbv, tbias, tres, tc;
    make_operand(gpu, a, ane, t->a_trans, t->da, &ta, &tav);
    make_operand(gpu, b, bne, t->b_trans, t->db, &tb, &tbv);
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, t->db, biasne, &tbias));
    GT_OK(vkr_tensor_upload(gpu, &tbias, bias, VKR_F32));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, t->da, cne, &tres));
    GT_OK(vkr_tensor_upload(gpu, &tres, res, VKR_F32));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, t->da, cne, &tc));
    vkr_matmul_epilogue ep = {.scale = t->scale, .bias = t->bias ? &tbias : NULL, .act = t->act,
                              .residual = t->residual ? &tres : NULL};
    GT_OK(vkr_matmul_force(t->force));
    GT_OK(vkr_op_matmul(gpu, &tav, &tbv, &ep, &tc));
    GT_OK(vkr_matmul_force(NULL));
    GT_OK(vkr_tensor_download(gpu, &tc, got, VKR_F32));

    vkr_host_tensor ha = vkr_host_contiguous(a, ane), hb = vkr_host_contiguous(b, bne),
                    hbias = vkr_host_contiguous(bias, biasne), hr = vkr_host_contiguous(res, cne),
                    hc = vkr_host_contiguous(want, cne);
    vkr_ref_matmul(&ha, &hb, t->bias ? &hbias : NULL, t->act, t->residual ? &hr : NULL, t->scale, &hc, mag);
    gt_tol tol = tolerance(t->da, mag, nc, t->k, t->act);
    char name[256];
    snprintf(name, sizeof name, "%s: %lldx%lldx%lld a=%s%s b=%s%s batch a %lldx%lldx%lld b %lldx%lldx%lld bias %d "
             "act %s res %d scale %g", what, (long long)t->m, (long long)t->n, (long long)t->k,
             vkr_dtype_name(t->da), t->a_trans ? "^T" : "", vkr_dtype_name(t->db), t->b_trans ? "^T" : "",
             (long long)t->ba[0], (long long)t->ba[1], (long long)t->ba[2], (long long)t->bb[0], (long long)t->bb[1],
             (long long)t->bb[2], t->bias, act_name(t->act), t->residual, (double)t->scale);
    gt_compare(name, t->da, got, want, cne, &tol);
    vkr_tensor_free(gpu, &ta);
    vkr_tensor_free(gpu, &tb);
    vkr_tensor_free(gpu, &tbias);
    vkr_tensor_free(gpu, &tres);
    vkr_tensor_free(gpu, &tc);
    free(a), free(b), free(bias), free(res), free(got), free(want), free(mag);
}

#define ONE {1, 1, 1}

static const vkr_dtype dtypes[] = {VKR_F32, VKR_F16, VKR_BF16};

/* Odd sizes through the automatic plan, every A/C x B dtype pair. */
static void test_sizes(vkr_gpu *gpu)
{
    static const int64_t mnk[][3] = {{1, 1, 1}, {3, 7, 33}, {33, 3, 7}, {7, 33, 257}, {65, 33, 3}, {257, 65, 33},
                                     {1, 257, 65}, {9, 1, 70}};
    for (size_t s = 0; s < sizeof mnk / sizeof mnk[0]; s++)
        run_case(gpu, "sizes", &(mm_case){.ba = ONE, .bb = ONE, .m = mnk[s][0], .n = mnk[s][1], .k = mnk[s][2],
                                          .da = VKR_F32, .db = VKR_F32});
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            run_case(gpu, "dtypes", &(mm_case){.ba = ONE, .bb = ONE, .m = 33, .n = 65, .k = 257, .da = dtypes[i],
                                               .db = dtypes[j], .bias = 1});
    run_case(gpu, "bigger", &(mm_case){.ba = ONE, .bb = ONE, .m = 257, .n = 257, .k = 257, .da = VKR_F16,
                                       .db = VKR_F16, .b_trans = 1, .bias = 1});
}

/* Transposed operands, batch broadcast, epilogues. */
static void test_layouts(vkr_gpu *gpu)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            run_case(gpu, "transpose", &(mm_case){.ba = ONE, .bb = ONE, .m = 33, .n = 7, .k = 65, .a_trans = ta,
                                                  .b_trans = tb, .da = VKR_F32, .db = VKR_F32});
    /* B shared by the whole batch (a weight), A shared (broadcast query), both batched */
    run_case(gpu, "batch, B broadcast", &(mm_case){.ba = {2, 3, 1}, .bb = ONE, .m = 7, .n = 33, .k = 65,
                                                   .da = VKR_F16, .db = VKR_F16, .b_trans = 1, .bias = 1});
    run_case(gpu, "batch, A broadcast", &(mm_case){.ba = ONE, .bb = {1, 3, 5}, .m = 33, .n = 7, .k = 3,
                                                   .da = VKR_F32, .db = VKR_F32});
    run_case(gpu, "batch, 3 levels", &(mm_case){.ba = {2, 3, 5}, .bb = {2, 1, 5}, .m = 3, .n = 7, .k = 33,
                                                .da = VKR_F32, .db = VKR_F32, .a_trans = 1});
    static const vkr_unary_op acts[] = {VKR_UNARY_GELU_ERF, VKR_UNARY_GELU_TANH, VKR_UNARY_SILU,
                                        VKR_UNARY_QUICK_GELU, VKR_UNARY_RELU};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        run_case(gpu, "epilogue", &(mm_case){.ba = ONE, .bb = ONE, .m = 65, .n = 33, .k = 7, .da = VKR_F32,
                                             .db = VKR_F16, .b_trans = 1, .bias = 1, .act = acts[i]});
    run_case(gpu, "residual", &(mm_case){.ba = {1, 2, 1}, .bb = ONE, .m = 33, .n = 65, .k = 33, .da = VKR_BF16,
                                         .db = VKR_BF16, .b_trans = 1, .bias = 1, .residual = 1});
    run_case(gpu, "scale+gelu+residual", &(mm_case){.ba = ONE, .bb = ONE, .m = 7, .n = 65, .k = 257, .da = VKR_F16,
                                                    .db = VKR_F32, .scale = 0.125f, .act = VKR_UNARY_GELU_ERF,
                                                    .residual = 1});
}

/* Every tile the planner can choose (and the skinny kernel), forced. */
static void test_variants(vkr_gpu *gpu)
{
    static const uint32_t tiles[][5] = {{32, 32, 16, 2, 2}, {32, 32, 16, 4, 4}, {64, 64, 16, 4, 4},
                                        {64, 64, 16, 8, 8}, {128, 128, 16, 8, 8}, {128, 64, 8, 8, 4},
                                        {64, 128, 16, 8, 8}};
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
        vkr_matmul_plan p = {.variant = VKR_MATMUL_TILED, .bm = tiles[i][0], .bn = tiles[i][1], .bk = tiles[i][2],
                             .tm = tiles[i][3], .tn = tiles[i][4]};
        char what[64];
        snprintf(what, sizeof what, "tile %ux%ux%u %ux%u", p.bm, p.bn, p.bk, p.tm, p.tn);
        run_case(gpu, what, &(mm_case){.ba = ONE, .bb = ONE, .m = 257, .n = 131, .k = 33, .da = VKR_F32,
                                       .db = VKR_F16, .b_trans = 1, .bias = 1, .act = VKR_UNARY_SILU, .force = &p});
        run_case(gpu, what, &(mm_case){.ba = {3, 1, 1}, .bb = ONE, .m = 5, .n = 3, .k = 70, .da = VKR_F16,
                                       .db = VKR_F16, .a_trans = 1, .force = &p});
    }
    vkr_matmul_plan skinny = {.variant = VKR_MATMUL_SKINNY};
    static const int64_t mnk[][3] = {{1, 257, 129}, {3, 65, 300}, {8, 70, 64}, {2, 1, 7}};
    for (size_t s = 0; s < sizeof mnk / sizeof mnk[0]; s++)
        for (int d = 0; d < 3; d++)
            run_case(gpu, "skinny", &(mm_case){.ba = {2, 1, 1}, .bb = ONE, .m = mnk[s][0], .n = mnk[s][1],
                                               .k = mnk[s][2], .da = dtypes[d], .db = dtypes[(d + 1) % 3],
                                               .b_trans = 1, .bias = 1, .act = VKR_UNARY_SILU, .residual = d == 2,
                                               .force = &skinny});
    /* the subgroup-broadcast kernel (needs 8-lane subgroups): both column counts, vec4 and scalar loads
     * (K % 4 != 0 misaligns rows), the K tail, ragged M and N, batch, every dtype pair */
    if (vkr_gpu_device(gpu)->subgroup_size == 8) {
        static const char *const bc[] = {"bcast2x8", "bcast4x32"};
        static const int64_t bmnk[][3] = {{9, 31, 70}, {257, 129, 33}, {20, 100, 3}};
        for (size_t v = 0; v < 2; v++)
            for (size_t s = 0; s < sizeof bmnk / sizeof bmnk[0]; s++) {
                setenv("VKREEL_MATMUL", bc[v], 1);
                run_case(gpu, bc[v], &(mm_case){.ba = {1, 2, 1}, .bb = ONE, .m = bmnk[s][0], .n = bmnk[s][1],
                                                .k = bmnk[s][2], .da = VKR_F32, .db = s == 1 ? VKR_F16 : VKR_F32,
                                                .b_trans = 1, .bias = 1, .act = VKR_UNARY_GELU_TANH,
                                                .residual = s == 1});
                unsetenv("VKREEL_MATMUL");
            }
        for (int i = 0; i < 3; i++) {
            setenv("VKREEL_MATMUL", "bcast4x32", 1);
            /* K = 40: 16-byte loads for every dtype (8 halves / 4 floats); K = 36: 16-bit rows misaligned */
            run_case(gpu, "bcast dtypes", &(mm_case){.ba = {2, 1, 1}, .bb = ONE, .m = 17, .n = 40, .k = 40,
                                                     .da = dtypes[i], .db = dtypes[(i + 2) % 3], .b_trans = 1});
            run_case(gpu, "bcast dtypes", &(mm_case){.ba = ONE, .bb = ONE, .m = 9, .n = 33, .k = 36,
                                                     .da = dtypes[i], .db = dtypes[i], .b_trans = 1});
            unsetenv("VKREEL_MATMUL");
        }
        /* forced bcast on a layout it cannot read (A transposed) falls back to the tiled kernel */
        setenv("VKREEL_MATMUL", "bcast", 1);
        run_case(gpu, "bcast fallback", &(mm_case){.ba = ONE, .bb = ONE, .m = 33, .n = 40, .k = 20, .a_trans = 1,
                                                   .da = VKR_F32, .db = VKR_F32});
        unsetenv("VKREEL_MATMUL");
    }
    /* the timestep MLP shape through the automatic plan (skinny on GPUs, bcast on lavapipe) */
    run_case(gpu, "auto, timestep MLP", &(mm_case){.ba = ONE, .bb = ONE, .m = 2, .n = 1280, .k = 320, .da = VKR_F32,
                                            .db = VKR_F16, .b_trans = 1, .bias = 1, .act = VKR_UNARY_SILU});

    /* cooperative matrix: only where the device and the build support it */
    vkr_matmul_plan p;
    vkr_matmul_plan_for(vkr_gpu_device(gpu), vkr_matmul_coopmat_built(), VKR_F16, VKR_F16, 257, 257, 257, &p);
    if (p.variant == VKR_MATMUL_COOPMAT) {
        vkr_matmul_plan cm = {.variant = VKR_MATMUL_COOPMAT};
        for (int d = 0; d < 3; d++)
            run_case(gpu, "coopmat", &(mm_case){.ba = {2, 1, 1}, .bb = ONE, .m = 257, .n = 131, .k = 65,
                                                .da = d == 0 ? VKR_F16 : dtypes[d], .db = VKR_F16, .b_trans = 1,
                                                .bias = 1, .act = VKR_UNARY_GELU_ERF, .residual = 1, .force = &cm});
    } else {
        printf("coopmat variant not tested: %s (device %s, build %d)\n", vkr_gpu_device(gpu)->coopmat ?
               "no usable f16 shape" : "device lacks VK_KHR_cooperative_matrix", vkr_gpu_device(gpu)->name,
               vkr_matmul_coopmat_built());
    }
}

/* Linear: rows from any leading dims; strided (non-collapsible) x. */
static void test_linear(vkr_gpu *gpu)
{
    for (int strided = 0; strided < 2; strided++) {
        const int64_t K = 65, N = 33;
        int64_t xne[5] = {1, 2, 3, 5, K}, bigne[5] = {1, 2, 3, 7, K}, wne[5] = {1, 1, 1, N, K},
                yne[5] = {1, 2, 3, 5, N}, bne[5] = {1, 1, 1, 1, N};
        size_t nbig = gt_nelem(bigne), nw = gt_nelem(wne), ny = gt_nelem(yne), nx = gt_nelem(xne);
        float *big = new_floats(nbig), *x = new_floats(nx), *w = new_floats(nw), *bias = new_floats((size_t)N),
              *got = new_floats(ny), *want = new_floats(ny);
        gt_rand(big, nbig, -1, 1, &seed);
        gt_rand(w, nw, -1, 1, &seed);
        gt_rand(bias, (size_t)N, -1, 1, &seed);
        gt_round(w, nw, VKR_F16);
        gt_round(bias, (size_t)N, VKR_F16);
        vkr_tensor tbig, tx, tw, tb, ty;
        if (strided) { /* x = rows 1..5 of a [.., 7, K] tensor: leading dims do not collapse */
            GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, bigne, &tbig));
            GT_OK(vkr_tensor_upload(gpu, &tbig, big, VKR_F32));
            GT_OK(vkr_tensor_slice(&tbig, VKR_DIM_H, 1, 5, &tx));
            for (int64_t i = 0; i < 6; i++)
                memcpy(x + i * 5 * K, big + (i * 7 + 1) * K, (size_t)(5 * K) * sizeof(float));
        } else {
            memcpy(x, big, nx * sizeof(float));
            GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, xne, &tbig));
            GT_OK(vkr_tensor_upload(gpu, &tbig, x, VKR_F32));
            tx = tbig;
        }
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, wne, &tw));
        GT_OK(vkr_tensor_upload(gpu, &tw, w, VKR_F32));
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_WEIGHTS, VKR_F16, bne, &tb));
        GT_OK(vkr_tensor_upload(gpu, &tb, bias, VKR_F32));
        GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, yne, &ty));
        GT_OK(vkr_op_linear(gpu, &tx, &tw, &tb, &ty));
        GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
        /* reference: y = x W^T + b, with W^T as a strided host view */
        int64_t ane[5] = {1, 1, 1, 30, K}, cne[5] = {1, 1, 1, 30, N};
        vkr_host_tensor ha = vkr_host_contiguous(x, ane), hw = vkr_host_contiguous(w, wne), hwt = hw,
                        hb = vkr_host_contiguous(bias, bne), hc = vkr_host_contiguous(want, cne);
        hwt.ne[3] = K, hwt.ne[4] = N, hwt.nb[3] = 1, hwt.nb[4] = K;
        float *mag = new_floats(ny);
        vkr_ref_matmul(&ha, &hwt, &hb, VKR_UNARY_IDENTITY, NULL, 1, &hc, mag);
        gt_tol tol = tolerance(VKR_F32, mag, ny, K, 0);
        gt_compare(strided ? "linear, strided x" : "linear, collapsed rows", VKR_F32, got, want, yne, &tol);
        vkr_tensor_free(gpu, &tbig);
        vkr_tensor_free(gpu, &ty);
        vkr_gpu_weights_reset(gpu);
        free(big), free(x), free(w), free(bias), free(got), free(want), free(mag);
    }
}

/* Operands larger than the (forced tiny) binding window: split by batch and rows. */
static void test_split(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.max_binding_range = 16384});
    run_case(gpu, "split rows", &(mm_case){.ba = ONE, .bb = ONE, .m = 257, .n = 33, .k = 65, .da = VKR_F32,
                                           .db = VKR_F16, .b_trans = 1, .bias = 1, .residual = 1});
    run_case(gpu, "split batch+rows", &(mm_case){.ba = {2, 3, 1}, .bb = ONE, .m = 70, .n = 20, .k = 40,
                                                 .da = VKR_F16, .db = VKR_F16, .a_trans = 1});
    /* B alone exceeds the window: a clear data error */
    int64_t ane[5] = {1, 1, 1, 4, 128}, bne[5] = {1, 1, 1, 128, 64}, cne[5] = {1, 1, 1, 4, 64};
    vkr_tensor ta, tb, tc;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ane, &ta));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, bne, &tb));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, cne, &tc));
    int rc = vkr_op_matmul(gpu, &ta, &tb, NULL, &tc);
    CHECK(rc == VKR_E_DATA, "B over the binding window: got %d (%s), want VKR_E_DATA", rc, vkr_last_error());
    vkr_tensor_free(gpu, &ta);
    vkr_tensor_free(gpu, &tb);
    vkr_tensor_free(gpu, &tc);
    gt_close(gpu);
}

static void test_errors(vkr_gpu *gpu)
{
    int64_t ane[5] = {1, 1, 1, 3, 5}, bne[5] = {1, 1, 1, 4, 7}, cne[5] = {1, 1, 1, 3, 7};
    vkr_tensor ta, tb, tc;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ane, &ta));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, bne, &tb));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, cne, &tc));
    int rc = vkr_op_matmul(gpu, &ta, &tb, NULL, &tc);
    CHECK(rc == VKR_E_INTERNAL && strstr(vkr_last_error(), "do not match"), "K mismatch: %d %s", rc,
          vkr_last_error());
    vkr_matmul_epilogue ep = {.act = VKR_UNARY_FILL};
    rc = vkr_op_matmul(gpu, &ta, &ta, &ep, &tc);
    CHECK(rc == VKR_E_INTERNAL, "fill as epilogue: %d", rc);
    vkr_matmul_plan bad = {.variant = VKR_MATMUL_TILED, .bm = 64, .bn = 64, .bk = 16, .tm = 3, .tn = 4};
    CHECK(vkr_matmul_force(&bad) == VKR_E_USAGE, "invalid forced tile accepted");
    vkr_matmul_plan bad_bcast = {.variant = VKR_MATMUL_BCAST, .tn = 3, .wg = 32};
    CHECK(vkr_matmul_force(&bad_bcast) == VKR_E_USAGE, "bcast with 3 columns per lane accepted");
    CHECK(vkr_matmul_force(NULL) == VKR_OK, "clearing the forced plan");
    vkr_tensor_free(gpu, &ta);
    vkr_tensor_free(gpu, &tb);
    vkr_tensor_free(gpu, &tc);
}

/* Variant selection on described devices (no GPU needed). */
static void test_plan(void)
{
    vkr_device_info cpu = {.type = 4 /* CPU */, .subgroup_size = 8}, gpu = {.type = 2 /* discrete */,
                                                                           .subgroup_size = 32};
    vkr_matmul_plan p;
    vkr_matmul_plan_for(&cpu, 1, VKR_F16, VKR_F16, 17280, 5120, 1280, &p);
    CHECK(p.variant == VKR_MATMUL_BCAST && p.tn == 4 && p.wg == 32, "lavapipe big GEMM: variant %d tn %u wg %u",
          p.variant, p.tn, p.wg);
    vkr_matmul_plan_for(&cpu, 1, VKR_F32, VKR_F32, 33, 7, 64, &p);
    CHECK(p.variant == VKR_MATMUL_TILED && p.bm == 32, "small GEMM on CPU: %d %u", p.variant, p.bm);
    vkr_matmul_plan_for(&cpu, 1, VKR_F32, VKR_F16, 1, 1280, 320, &p);
    CHECK(p.variant == VKR_MATMUL_BCAST, "timestep MLP on lavapipe: variant %d", p.variant);
    cpu.subgroup_size = 16; /* the broadcast kernel is written for 8-lane subgroups */
    vkr_matmul_plan_for(&cpu, 1, VKR_F32, VKR_F32, 4096, 4096, 64, &p);
    CHECK(p.variant == VKR_MATMUL_TILED, "CPU device with 16-lane subgroups: %d", p.variant);
    vkr_matmul_plan_for(&cpu, 1, VKR_F32, VKR_F32, 2, 1280, 320, &p);
    CHECK(p.variant == VKR_MATMUL_SKINNY, "CPU device with 16-lane subgroups, 2 rows: %d", p.variant);
    vkr_matmul_plan_for(&gpu, 1, VKR_F32, VKR_F16, 4, 1280, 320, &p);
    CHECK(p.variant == VKR_MATMUL_SKINNY && p.maxm == 8, "timestep MLP: variant %d", p.variant);
    vkr_matmul_plan_for(&gpu, 1, VKR_F32, VKR_F16, 4, 32, 320, &p);
    CHECK(p.variant == VKR_MATMUL_TILED, "narrow N is not skinny: %d", p.variant);
    /* no coopmat on this GPU: tiled 128x128 */
    vkr_matmul_plan_for(&gpu, 1, VKR_F16, VKR_F16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_TILED && p.bm == 128 && p.wg == 256, "GPU big GEMM: %d %u %u", p.variant, p.bm,
          p.wg);
    /* an H100-like device: f16 x f16 -> f32 16x16x16 (plus shapes to ignore) */
    gpu.coopmat = 1;
    gpu.n_coopmat = 4;
    gpu.coopmat_shapes[0] = (vkr_coopmat_shape){16, 8, 16, 0, 0, 0, 0, 0, 3};  /* f16 accumulate: no */
    gpu.coopmat_shapes[1] = (vkr_coopmat_shape){16, 16, 16, 0, 0, 1, 1, 0, 3}; /* wanted */
    gpu.coopmat_shapes[2] = (vkr_coopmat_shape){16, 8, 8, 0, 0, 1, 1, 0, 3};   /* smaller */
    gpu.coopmat_shapes[3] = (vkr_coopmat_shape){32, 32, 32, 3, 3, 5, 5, 0, 3}; /* int8: no */
    vkr_matmul_plan_for(&gpu, 1, VKR_F16, VKR_F16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_COOPMAT && p.cm == 16 && p.cn == 16 && p.ck == 16 && p.bm == 64 && p.bk == 32 &&
          p.wg == 128, "coopmat plan: variant %d shape %ux%ux%u tile %u bk %u wg %u", p.variant, p.cm, p.cn, p.ck,
          p.bm, p.bk, p.wg);
    vkr_matmul_plan_for(&gpu, 0, VKR_F16, VKR_F16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_TILED, "coopmat without the compiled shader: %d", p.variant);
    vkr_matmul_plan_for(&gpu, 1, VKR_F32, VKR_F16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_TILED, "coopmat needs f16 A: %d", p.variant);
    vkr_matmul_plan_for(&gpu, 1, VKR_F16, VKR_BF16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_TILED, "coopmat needs f16 B: %d", p.variant);
    vkr_matmul_plan_for(&gpu, 1, VKR_F16, VKR_F16, 33, 4096, 1024, &p);
    CHECK(p.variant != VKR_MATMUL_COOPMAT, "coopmat for 33 rows: %d", p.variant);
    gpu.coopmat_shapes[1].scope = 2; /* workgroup scope: not what the shader uses */
    vkr_matmul_plan_for(&gpu, 1, VKR_F16, VKR_F16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_COOPMAT && p.cn == 8 && p.ck == 8, "fallback shape 16x8x8: %d %ux%ux%u", p.variant,
          p.cm, p.cn, p.ck);
    /* subgroup size control: the required size must be within the device's range */
    gpu.subgroup_size_control = 1, gpu.subgroup_min = 32, gpu.subgroup_max = 32;
    vkr_matmul_plan_for(&gpu, 1, VKR_F16, VKR_F16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_COOPMAT && p.subgroup == 32, "required subgroup %u", p.subgroup);
    gpu.coopmat = 0;
    vkr_matmul_plan_for(&gpu, 1, VKR_F16, VKR_F16, 4096, 4096, 1024, &p);
    CHECK(p.variant == VKR_MATMUL_TILED, "extension absent but shapes listed: %d", p.variant);
    char s[64];
    vkr_matmul_plan_string(&p, s, sizeof s);
    CHECK(strcmp(s, "tiled 128x128x16 8x8") == 0, "plan string '%s'", s);
}

int main(void)
{
    test_plan();
    vkr_gpu *gpu = gt_open(NULL);
    test_sizes(gpu);
    test_layouts(gpu);
    test_variants(gpu);
    test_linear(gpu);
    test_errors(gpu);
    gt_close(gpu);
    test_split();
    return check_summary("test_gpu_matmul");
}
