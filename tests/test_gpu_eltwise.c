/* Elementwise kernels vs the plain-C reference (gpu/ref_eltwise.c): every op,
 * every storage dtype, odd sizes, broadcasting, strided views (permuted
 * inputs, sliced outputs), in-place, copy/convert/concat, and the split path
 * for tensors larger than one binding window (forced with a tiny window). */
#include "gpu_test.h"

#include "gpu/gpu_internal.h"
#include "gpu/ops_eltwise.h"
#include "gpu/ref.h"

static const int64_t shapes[][5] = {
    {1, 1, 1, 1, 1}, {1, 1, 1, 1, 3}, {1, 1, 1, 7, 33}, {2, 3, 1, 5, 257}, {1, 2, 7, 3, 33},
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])
static const vkr_dtype dtypes[] = {VKR_F32, VKR_F16, VKR_BF16};

static uint64_t seed = 1234;

static float *new_floats(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* y = op(x) for a contiguous x of shape ne. */
static void unary_case(vkr_gpu *gpu, vkr_unary_op op, vkr_dtype din, vkr_dtype dout, const int64_t ne[5])
{
    size_t n = gt_nelem(ne);
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n);
    float p0 = op == VKR_UNARY_LEAKY_RELU ? 0.1f : op == VKR_UNARY_CLAMP ? -1.5f : 0.75f;
    float p1 = op == VKR_UNARY_CLAMP ? 2.0f : -0.25f;
    gt_rand(x, n, -6, 6, &seed);
    gt_round(x, n, din);
    vkr_tensor tx, ty;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, din, ne, &tx));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dout, ne, &ty));
    GT_OK(vkr_tensor_upload(gpu, &tx, x, VKR_F32));
    GT_OK(vkr_op_unary(gpu, op, &tx, &ty, p0, p1));
    GT_OK(vkr_tensor_download(gpu, &ty, got, VKR_F32));
    vkr_host_tensor hx = vkr_host_contiguous(x, ne), hy = vkr_host_contiguous(want, ne);
    vkr_ref_unary(op, &hx, &hy, p0, p1);
    char name[96];
    snprintf(name, sizeof name, "%s %s->%s", vkr_unary_name(op), vkr_dtype_name(din), vkr_dtype_name(dout));
    gt_compare(name, dout, got, want, ne, NULL);
    vkr_tensor_free(gpu, &tx);
    vkr_tensor_free(gpu, &ty);
    free(x), free(got), free(want);
}

/* out = a op b with broadcast shapes. */
static void binary_case(vkr_gpu *gpu, vkr_binary_op op, vkr_dtype da, vkr_dtype db, const int64_t ane[5],
                        const int64_t bne[5], const int64_t one[5])
{
    size_t na = gt_nelem(ane), nb = gt_nelem(bne), no = gt_nelem(one);
    float *a = new_floats(na), *b = new_floats(nb), *got = new_floats(no), *want = new_floats(no);
    gt_rand(a, na, -3, 3, &seed);
    gt_rand(b, nb, 0.5f, 2, &seed);
    for (size_t i = 0; i < nb; i++)
        if (gt_next(&seed) & 1)
            b[i] = -b[i]; /* |b| >= 0.5: div stays well conditioned */
    gt_round(a, na, da);
    gt_round(b, nb, db);
    vkr_tensor ta, tb, to;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, da, ane, &ta));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, db, bne, &tb));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, da, one, &to));
    GT_OK(vkr_tensor_upload(gpu, &ta, a, VKR_F32));
    GT_OK(vkr_tensor_upload(gpu, &tb, b, VKR_F32));
    GT_OK(vkr_op_binary(gpu, op, &ta, &tb, &to));
    GT_OK(vkr_tensor_download(gpu, &to, got, VKR_F32));
    vkr_host_tensor ha = vkr_host_contiguous(a, ane), hb = vkr_host_contiguous(b, bne),
                    ho = vkr_host_contiguous(want, one);
    vkr_ref_binary(op, &ha, &hb, &ho);
    char name[128];
    snprintf(name, sizeof name, "%s a=%s b=%s (b %lldx%lldx%lldx%lldx%lld)", vkr_binary_name(op), vkr_dtype_name(da),
             vkr_dtype_name(db), (long long)bne[0], (long long)bne[1], (long long)bne[2], (long long)bne[3],
             (long long)bne[4]);
    gt_compare(name, da, got, want, one, NULL);
    vkr_tensor_free(gpu, &ta);
    vkr_tensor_free(gpu, &tb);
    vkr_tensor_free(gpu, &to);
    free(a), free(b), free(got), free(want);
}

static void test_binary_broadcast(vkr_gpu *gpu)
{
    static const int64_t full[5] = {2, 3, 2, 5, 33};
    static const int64_t pats[][2][5] = {
        {{2, 3, 2, 5, 33}, {2, 3, 2, 5, 33}}, /* same shape */
        {{2, 3, 2, 5, 33}, {1, 3, 1, 1, 1}},  /* per-channel bias */
        {{2, 3, 2, 5, 33}, {1, 1, 1, 1, 33}}, /* row */
        {{2, 1, 2, 1, 33}, {1, 3, 1, 5, 1}},  /* both broadcast */
        {{1, 1, 1, 1, 1}, {2, 3, 2, 5, 33}},  /* scalar a */
    };
    for (int op = 0; op < VKR_BINARY_COUNT; op++)
        for (int p = 0; p < 5; p++)
            binary_case(gpu, (vkr_binary_op)op, VKR_F32, VKR_F32, pats[p][0], pats[p][1], full);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            binary_case(gpu, VKR_BINARY_ADD, dtypes[i], dtypes[j], pats[1][0], pats[1][1], full);
            binary_case(gpu, VKR_BINARY_MUL, dtypes[i], dtypes[j], pats[3][0], pats[3][1], full);
        }
    static const int64_t odd[5] = {1, 1, 1, 7, 257};
    binary_case(gpu, VKR_BINARY_SUB, VKR_F16, VKR_F32, odd, odd, odd);
}

/* silu(permuted x) written into a slice of a bigger tensor whose other
 * elements must stay untouched. */
static void test_views(vkr_gpu *gpu, vkr_dtype dt)
{
    const int64_t xne[5] = {1, 2, 3, 33, 5};    /* stored shape */
    const int64_t bigne[5] = {1, 2, 3, 9, 40};  /* destination buffer */
    const int perm[5] = {0, 1, 2, 4, 3};        /* view: {1,2,3,5,33} */
    size_t nx = gt_nelem(xne), nbig = gt_nelem(bigne);
    float *x = new_floats(nx), *big = new_floats(nbig), *got = new_floats(nbig), *want = new_floats(nbig);
    gt_rand(x, nx, -5, 5, &seed);
    gt_round(x, nx, dt);
    for (size_t i = 0; i < nbig; i++)
        big[i] = want[i] = 7.0f;
    vkr_tensor tx, tbig, xv, ov, tmp;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, xne, &tx));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dt, bigne, &tbig));
    GT_OK(vkr_tensor_upload(gpu, &tx, x, VKR_F32));
    GT_OK(vkr_tensor_upload(gpu, &tbig, big, VKR_F32));
    GT_OK(vkr_tensor_permute(&tx, perm, &xv));
    CHECK(!vkr_tensor_is_contiguous(&xv), "permuted view should not be contiguous");
    GT_OK(vkr_tensor_slice(&tbig, VKR_DIM_H, 2, 5, &tmp));
    GT_OK(vkr_tensor_slice(&tmp, VKR_DIM_W, 4, 33, &ov));
    GT_OK(vkr_op_silu(gpu, &xv, &ov));
    GT_OK(vkr_tensor_download(gpu, &tbig, got, VKR_F32));
    /* reference on host views with the same strides */
    vkr_host_tensor hx = vkr_host_contiguous(x, xne), hv = hx;
    for (int d = 0; d < 5; d++)
        hv.ne[d] = hx.ne[perm[d]], hv.nb[d] = hx.nb[perm[d]];
    vkr_host_tensor hb = vkr_host_contiguous(want, bigne), ho = hb;
    ho.data += 2 * hb.nb[3] + 4 * hb.nb[4];
    ho.ne[3] = 5, ho.ne[4] = 33;
    vkr_ref_unary(VKR_UNARY_SILU, &hv, &ho, 0, 0);
    char name[64];
    snprintf(name, sizeof name, "silu permuted->slice %s", vkr_dtype_name(dt));
    gt_compare(name, dt, got, want, bigne, NULL);

    /* downloading a strided view goes through the copy kernel */
    float *gv = new_floats(gt_nelem(ov.ne)), *wv = new_floats(gt_nelem(ov.ne));
    GT_OK(vkr_tensor_download(gpu, &ov, gv, VKR_F32));
    vkr_host_tensor hwv = vkr_host_contiguous(wv, ov.ne);
    vkr_ref_unary(VKR_UNARY_IDENTITY, &ho, &hwv, 0, 0);
    snprintf(name, sizeof name, "download of a slice view %s", vkr_dtype_name(dt));
    gt_compare(name, dt, gv, wv, ov.ne, NULL);
    free(gv), free(wv);

    vkr_tensor_free(gpu, &tx);
    vkr_tensor_free(gpu, &tbig);
    free(x), free(big), free(got), free(want);
}

/* copy/convert between every dtype pair, from a permuted view; concat; in-place add. */
static void test_copy(vkr_gpu *gpu)
{
    const int64_t ne[5] = {1, 2, 3, 5, 7};
    const int perm[5] = {0, 2, 1, 4, 3};
    size_t n = gt_nelem(ne);
    float *x = new_floats(n), *got = new_floats(n), *want = new_floats(n);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            gt_rand(x, n, -100, 100, &seed);
            gt_round(x, n, dtypes[i]);
            vkr_tensor src, view, dst;
            GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dtypes[i], ne, &src));
            GT_OK(vkr_tensor_upload(gpu, &src, x, VKR_F32));
            GT_OK(vkr_tensor_permute(&src, perm, &view));
            GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, dtypes[j], view.ne, &dst));
            GT_OK(vkr_op_copy(gpu, &view, &dst));
            GT_OK(vkr_tensor_download(gpu, &dst, got, VKR_F32));
            vkr_host_tensor hx = vkr_host_contiguous(x, ne), hv = hx, hw = vkr_host_contiguous(want, view.ne);
            for (int d = 0; d < 5; d++)
                hv.ne[d] = hx.ne[perm[d]], hv.nb[d] = hx.nb[perm[d]];
            vkr_ref_unary(VKR_UNARY_IDENTITY, &hv, &hw, 0, 0);
            gt_round(want, n, dtypes[j]); /* conversion must round exactly like the host */
            char name[64];
            snprintf(name, sizeof name, "copy permuted %s->%s", vkr_dtype_name(dtypes[i]), vkr_dtype_name(dtypes[j]));
            gt_tol exact = {0, dtypes[j] == VKR_F16 && dtypes[i] == VKR_F32 ? 1e-3 : 0, 0}; /* RTZ GPUs: 1 ulp */
            gt_compare(name, dtypes[j], got, want, view.ne, &exact);
            vkr_tensor_free(gpu, &src);
            vkr_tensor_free(gpu, &dst);
        }

    /* concat along C: [1,2,..] ++ [1,3,..] -> [1,5,..] */
    const int64_t ane[5] = {1, 2, 1, 3, 7}, bne[5] = {1, 3, 1, 3, 7}, one[5] = {1, 5, 1, 3, 7};
    float a[42], b[63], cg[105], cw[105];
    gt_rand(a, 42, -1, 1, &seed);
    gt_rand(b, 63, -1, 1, &seed);
    vkr_tensor ta, tb, tc;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, ane, &ta));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, bne, &tb));
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, one, &tc));
    GT_OK(vkr_tensor_upload(gpu, &ta, a, VKR_F32));
    GT_OK(vkr_tensor_upload(gpu, &tb, b, VKR_F32));
    GT_OK(vkr_op_concat(gpu, &ta, &tb, VKR_DIM_C, &tc));
    GT_OK(vkr_tensor_download(gpu, &tc, cg, VKR_F32));
    memcpy(cw, a, sizeof a);
    memcpy(cw + 42, b, sizeof b);
    gt_tol exact = {0, 0, 0};
    gt_compare("concat C", VKR_F32, cg, cw, one, &exact);

    /* in place: a += a (same tensor as input and output) then a = a * b-broadcast */
    GT_OK(vkr_op_add(gpu, &ta, &ta, &ta));
    GT_OK(vkr_tensor_download(gpu, &ta, cg, VKR_F32));
    for (int i = 0; i < 42; i++)
        cw[i] = 2 * a[i];
    gt_compare("in-place add", VKR_F32, cg, cw, ane, &exact);

    /* fill a strided view (every other row of C slice 1..4) of tc with -3 */
    vkr_tensor sl;
    GT_OK(vkr_tensor_slice(&tc, VKR_DIM_C, 1, 4, &sl));
    sl.ne[VKR_DIM_C] = 2, sl.nb[VKR_DIM_C] *= 2; /* channels 1 and 3 */
    GT_OK(vkr_op_fill(gpu, &sl, -3.0f));
    GT_OK(vkr_tensor_download(gpu, &tc, cg, VKR_F32));
    memcpy(cw, a, sizeof a);
    memcpy(cw + 42, b, sizeof b);
    for (int i = 0; i < 21; i++)
        cw[21 + i] = cw[63 + i] = -3.0f;
    gt_compare("fill strided view", VKR_F32, cg, cw, one, &exact);
    /* an explicit broadcast view (stride 0, extent > 1) as an input */
    vkr_tensor bv, big;
    const int64_t row[5] = {1, 1, 1, 1, 7}, bshape[5] = {1, 5, 1, 3, 7};
    vkr_tensor trow;
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, row, &trow));
    GT_OK(vkr_tensor_upload(gpu, &trow, a, VKR_F32));
    GT_OK(vkr_tensor_broadcast(&trow, bshape, &bv));
    CHECK(bv.nb[1] == 0 && bv.ne[1] == 5, "broadcast view strides");
    GT_OK(vkr_tensor_alloc(gpu, VKR_MEM_ACTIVATIONS, VKR_F32, bshape, &big));
    GT_OK(vkr_op_mul(gpu, &bv, &tc, &big));
    GT_OK(vkr_tensor_download(gpu, &big, cg, VKR_F32));
    for (int i = 0; i < 105; i++)
        cw[i] = a[i % 7] * cw[i];
    gt_compare("broadcast view * tensor", VKR_F32, cg, cw, bshape, &exact);
    CHECK_EQ_INT(vkr_op_copy(gpu, &big, &bv), VKR_E_INTERNAL); /* writing a broadcast view */
    vkr_tensor_free(gpu, &trow);
    vkr_tensor_free(gpu, &big);

    vkr_tensor_free(gpu, &ta);
    vkr_tensor_free(gpu, &tb);
    vkr_tensor_free(gpu, &tc);
    free(x), free(got), free(want);
}

/* A context whose binding window is 4 KiB: every op below is split into many
 * dispatches (broadcast operands, permuted inputs, sliced outputs). */
static void test_split(void)
{
    vkr_gpu *gpu = gt_open(&(vkr_gpu_options){.max_binding_range = 4096});
    CHECK(vkr_gpu_max_range(gpu) == 4096, "max range %llu", (unsigned long long)vkr_gpu_max_range(gpu));
    const int64_t ne[5] = {2, 3, 4, 9, 65}, bne[5] = {1, 3, 1, 1, 65};
    binary_case(gpu, VKR_BINARY_ADD, VKR_F32, VKR_F16, ne, bne, ne);
    uint64_t before = gpu->n_dispatches;
    unary_case(gpu, VKR_UNARY_GELU_ERF, VKR_F32, VKR_BF16, ne);
    CHECK(gpu->n_dispatches - before > 16, "expected a split op, got %llu dispatches",
          (unsigned long long)(gpu->n_dispatches - before));
    test_views(gpu, VKR_F32);
    gt_close(gpu);
}

int main(void)
{
    vkr_gpu *gpu = gt_open(NULL);
    for (int op = 0; op < VKR_UNARY_COUNT; op++)
        for (int s = 0; s < N_SHAPES; s++)
            for (int t = 0; t < 3; t++)
                unary_case(gpu, (vkr_unary_op)op, dtypes[t], dtypes[t], shapes[s]);
    /* mixed storage: f16 in, f32 out and back */
    unary_case(gpu, VKR_UNARY_SILU, VKR_F16, VKR_F32, shapes[3]);
    unary_case(gpu, VKR_UNARY_GELU_TANH, VKR_F32, VKR_F16, shapes[3]);
    test_binary_broadcast(gpu);
    for (int t = 0; t < 3; t++)
        test_views(gpu, dtypes[t]);
    test_copy(gpu);
    gt_close(gpu);
    test_split();
    return check_summary("test_gpu_eltwise");
}
