/* The golden runner's comparison math (pipeline/golden.h): exact match, within
 * and beyond max_abs / rel_l2, NaN and Inf in the output or the reference,
 * shape and dtype mismatches, integer outputs beyond 2^53, the case.json
 * tolerance forms, and the scheduler cases' fake model. */
#include "check.h"

#include "common/status.h"
#include "pipeline/golden.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static vkr_golden_tensor f32_tensor(float *v, int ndim, const int64_t *shape)
{
    vkr_golden_tensor t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "out.x");
    t.dtype = VKR_GOLDEN_F32;
    t.ndim = ndim;
    t.numel = 1;
    for (int d = 0; d < ndim; d++)
        t.shape[d] = shape[d], t.numel *= shape[d];
    t.f32 = v;
    return t;
}

static vkr_golden_tensor i64_tensor(int64_t *v, int ndim, const int64_t *shape)
{
    vkr_golden_tensor t = f32_tensor(NULL, ndim, shape);
    t.dtype = VKR_GOLDEN_I64;
    t.i64 = v;
    return t;
}

static void test_float(void)
{
    const int64_t shape[2] = {2, 3};
    float ref[6] = {1, -2, 3, -4, 5, 0.5f};
    float got[6];
    vkr_golden_tensor r = f32_tensor(ref, 2, shape), g = f32_tensor(got, 2, shape);
    vkr_golden_tol tol = {0, 1e-3, 1e-4};
    vkr_golden_cmp c;

    /* identical */
    memcpy(got, ref, sizeof got);
    vkr_golden_compare(&g, &r, &tol, &c);
    CHECK(c.pass && c.shape_ok && c.dtype_ok, "identical tensors fail");
    CHECK(c.max_abs == 0 && c.rel_l2 == 0 && c.n_mismatch == 0, "identical: max_abs %g rel %g mismatch %lld",
          c.max_abs, c.rel_l2, (long long)c.n_mismatch);

    /* one element off by 2^-12 (exact in float at |x| = 5): max_abs and rel_l2 by hand */
    got[4] = 5.0f + 0x1p-12f;
    const double d = 0x1p-12, ref_norm = sqrt(1 + 4 + 9 + 16 + 25 + 0.25);
    vkr_golden_compare(&g, &r, &tol, &c);
    CHECK_NEAR(c.max_abs, d, 0);
    CHECK_NEAR(c.rel_l2, d / ref_norm, 1e-15);
    CHECK(c.pass, "2.4e-4 within max_abs 1e-3 and rel 3.2e-5 within 1e-4 must pass");
    CHECK_EQ_INT(c.worst_index, 4);
    CHECK_EQ_INT(c.n_mismatch, 1);
    CHECK(c.worst_got == got[4] && c.worst_ref == 5.0, "worst values %g %g", c.worst_got, c.worst_ref);

    /* the same error beyond max_abs */
    vkr_golden_tol tight_abs = {0, 1e-4, 1e-4};
    vkr_golden_compare(&g, &r, &tight_abs, &c);
    CHECK(!c.pass, "max_abs 2.4e-4 > 1e-4 must fail");
    /* ... and beyond rel_l2 only */
    vkr_golden_tol tight_rel = {0, 1e-3, 1e-5};
    vkr_golden_compare(&g, &r, &tight_rel, &c);
    CHECK(!c.pass, "rel_l2 3.2e-5 > 1e-5 must fail");
    /* bounds are inclusive */
    vkr_golden_tol at = {0, d, d / ref_norm + 1e-18};
    vkr_golden_compare(&g, &r, &at, &c);
    CHECK(c.pass, "an error equal to the bound passes");
    /* exact: any difference fails, even a tiny one */
    vkr_golden_tol exact = {1, 0, 0};
    vkr_golden_compare(&g, &r, &exact, &c);
    CHECK(!c.pass, "exact comparison with one differing element must fail");
    memcpy(got, ref, sizeof got);
    vkr_golden_compare(&g, &r, &exact, &c);
    CHECK(c.pass, "exact comparison of identical tensors fails");

    /* the worst element is the largest error, not the first */
    got[1] = -2.0f + 1e-5f, got[5] = 0.5f - 1e-4f;
    vkr_golden_compare(&g, &r, &tol, &c);
    CHECK_EQ_INT(c.worst_index, 5);
    CHECK_EQ_INT(c.n_mismatch, 2);
}

static void test_nonfinite(void)
{
    const int64_t shape[1] = {4};
    float ref[4] = {1, 2, 3, 4}, got[4] = {1, 2, 3, 4};
    vkr_golden_tensor r = f32_tensor(ref, 1, shape), g = f32_tensor(got, 1, shape);
    vkr_golden_tol loose = {0, 1e30, 1e30};
    vkr_golden_cmp c;

    got[2] = NAN;
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass, "NaN output passes a loose tolerance");
    CHECK_EQ_INT(c.n_nonfinite, 1);
    CHECK_EQ_INT(c.worst_index, 2);
    CHECK(isinf(c.max_abs) && isinf(c.rel_l2), "NaN: max_abs %g rel %g", c.max_abs, c.rel_l2);

    got[2] = 3, got[0] = INFINITY, got[3] = -INFINITY;
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass && c.n_nonfinite == 2 && c.worst_index == 0, "Inf: pass %d n %lld worst %lld", c.pass,
          (long long)c.n_nonfinite, (long long)c.worst_index);

    /* a NaN reference is a broken case, never a pass */
    got[0] = 1, got[3] = 4;
    ref[1] = NAN, got[1] = NAN;
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass, "NaN reference vs NaN output passes");
    got[1] = 2;
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass && c.n_ref_nonfinite == 1, "NaN reference passes");
}

static void test_shape_dtype(void)
{
    float a[6] = {0}, b[6] = {0};
    const int64_t s23[2] = {2, 3}, s32[2] = {3, 2}, s6[1] = {6}, s5[1] = {5};
    vkr_golden_tol loose = {0, 1, 1};
    vkr_golden_cmp c;
    vkr_golden_tensor r = f32_tensor(a, 2, s23), g = f32_tensor(b, 2, s32);
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass && !c.shape_ok, "(3,2) vs (2,3): same numel, different shape must fail");
    g = f32_tensor(b, 1, s6);
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass && !c.shape_ok, "(6,) vs (2,3) must fail");
    g = f32_tensor(b, 1, s5);
    r = f32_tensor(a, 1, s6);
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass && !c.shape_ok, "(5,) vs (6,) must fail");

    /* equal values, different dtype */
    int64_t ia[6] = {0};
    g = i64_tensor(ia, 2, s23);
    r = f32_tensor(a, 2, s23);
    vkr_golden_compare(&g, &r, &loose, &c);
    CHECK(!c.pass && c.shape_ok && !c.dtype_ok, "I64 output for an F32 reference must fail");
}

static void test_integer(void)
{
    const int64_t shape[2] = {2, 2};
    int64_t ref[4] = {49406, 320, 49407, 0}, got[4];
    vkr_golden_tensor r = i64_tensor(ref, 2, shape), g = i64_tensor(got, 2, shape);
    vkr_golden_tol exact = {1, 0, 0};
    vkr_golden_cmp c;
    memcpy(got, ref, sizeof got);
    vkr_golden_compare(&g, &r, &exact, &c);
    CHECK(c.pass && c.n_mismatch == 0, "identical ids fail");
    got[3] = 1;
    vkr_golden_compare(&g, &r, &exact, &c);
    CHECK(!c.pass && c.n_mismatch == 1 && c.worst_index == 3 && c.max_abs == 1, "one id off: pass %d mismatch %lld",
          c.pass, (long long)c.n_mismatch);
    /* differences a double cannot see */
    ref[0] = ((int64_t)1 << 60), got[0] = ((int64_t)1 << 60) + 1, got[3] = 0;
    vkr_golden_compare(&g, &r, &exact, &c);
    CHECK(!c.pass && c.n_mismatch == 1, "2^60 vs 2^60+1 must differ");
}

static void test_tolerances(void)
{
    vkr_golden_case c;
    vkr_golden_tol t;
    memset(&c, 0, sizeof c);
    /* scheduler form: one number for every output */
    c.json = cJSON_Parse("{\"tolerance\": {\"recommended_max_abs\": 0.0002, \"recommended_rel_l2\": 2e-06}}");
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.samples", &t), 0);
    CHECK(!t.exact && t.max_abs == 0.0002 && t.rel_l2 == 2e-06, "scalar tolerance %g %g", t.max_abs, t.rel_l2);
    cJSON_Delete(c.json);
    /* model / pipeline form: per output; 0 means exact */
    c.json = cJSON_Parse("{\"tolerance\": {\"recommended_max_abs\": {\"sample\": 3e-05, \"input_ids\": 0},"
                         " \"recommended_rel_l2\": {\"sample\": 1e-05, \"input_ids\": 0}}}");
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.sample", &t), 0);
    CHECK(!t.exact && t.max_abs == 3e-05 && t.rel_l2 == 1e-05, "per-output tolerance %g %g", t.max_abs, t.rel_l2);
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.input_ids", &t), 0);
    CHECK(t.exact, "0/0 tolerance must mean exact");
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.latents", &t), VKR_E_DATA);
    cJSON_Delete(c.json);
    /* missing, negative or non-numeric bounds are malformed cases */
    c.json = cJSON_Parse("{\"tolerance\": {\"recommended_max_abs\": 1e-5}}");
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.sample", &t), VKR_E_DATA);
    cJSON_Delete(c.json);
    c.json = cJSON_Parse("{\"tolerance\": {\"recommended_max_abs\": -1, \"recommended_rel_l2\": 1}}");
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.sample", &t), VKR_E_DATA);
    cJSON_Delete(c.json);
    c.json = cJSON_Parse("{\"tolerance\": {\"recommended_max_abs\": \"1e-5\", \"recommended_rel_l2\": 1}}");
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.sample", &t), VKR_E_DATA);
    cJSON_Delete(c.json);
    c.json = NULL;
    CHECK_EQ_INT(vkr_golden_case_tol(&c, "out.sample", &t), VKR_E_DATA);
}

static void test_registry(void)
{
    int n;
    const vkr_golden_runner *r = vkr_golden_runners(&n);
    static const char *const required[] = {"schedulers", "tokenizer_clip", "tokenizer_roberta", "unet3d",
                                           "vae_decoder", "vae_mel", "unet2d_audioldm", "hifigan",
                                           "clip_text_quickgelu", "clip_text_gelu", "clap_text", "pipeline_t2v",
                                           "pipeline_audioldm"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        CHECK(vkr_golden_find_runner(required[i]) != NULL, "no registry entry for %s", required[i]);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            CHECK(strcmp(r[i].name, r[j].name) != 0, "duplicate runner %s", r[i].name);
    CHECK(vkr_golden_find_runner("no_such_component") == NULL, "unknown runner found");
}

/* case.json: model_output = x_in * float32(0.1) + float32(0.5 * sin(t / 100)), two roundings */
static void test_fake_model(void)
{
    const float x[4] = {1.0f, -3.25f, 250.0f, 1e-3f};
    float out[4];
    const double t = 981;
    vkr_golden_fake_model(x, t, out, 4);
    const float c = (float)(0.5 * sin(t / 100.0));
    for (int k = 0; k < 4; k++) {
        volatile float ax = x[k] * 0.1f; /* volatile: one rounding per operation */
        float want = ax + c;
        CHECK(out[k] == want, "fake_model(%g, %g) = %.9g, expected %.9g", x[k], t, out[k], want);
    }
}

int main(void)
{
    test_float();
    test_nonfinite();
    test_shape_dtype();
    test_integer();
    test_tolerances();
    test_registry();
    test_fake_model();
    return check_summary("test_golden_compare");
}
