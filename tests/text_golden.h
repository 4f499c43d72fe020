/* Helpers shared by the text-encoder golden tests: read a case's io.safetensors
 * tensors and case.json tolerances, download a device output and compare it
 * (max abs error and relative L2, README "Tolerances"). */
#ifndef VKR_TEXT_GOLDEN_H
#define VKR_TEXT_GOLDEN_H

#include "gpu_test.h"

#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

/* case.json parsed; NULL (and a failed check) when unreadable. */
static inline cJSON *tg_read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    cJSON *j = NULL;
    if (buf && got == (size_t)n) {
        buf[n] = 0;
        j = cJSON_Parse(buf);
    }
    free(buf);
    CHECK(j != NULL, "cannot parse %s", path);
    return j;
}

/* case.json tolerance.<key>.<output> ("recommended_max_abs", "recommended_rel_l2"). */
static inline double tg_tol(const cJSON *case_json, const char *key, const char *output)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(case_json, "tolerance");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(k, output);
    CHECK(cJSON_IsNumber(v), "case.json has no tolerance.%s.%s", key, output);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* An int64 tensor of io.safetensors (malloc'd) with its shape. */
static inline int64_t *tg_load_i64(const vkr_safetensors *io, const char *name, int64_t shape[2])
{
    const vkr_st_tensor *t = vkr_st_find(io, name);
    CHECK(t != NULL && t->ndim == 2, "io.safetensors: %s missing or not 2-D", name);
    if (!t || t->ndim != 2)
        return NULL;
    int64_t *v = malloc((size_t)t->numel * sizeof *v);
    if (v && vkr_st_to_i64(t, v)) {
        free(v);
        v = NULL;
    }
    CHECK(v != NULL, "cannot read %s", name);
    shape[0] = t->shape[0];
    shape[1] = t->shape[1];
    return v;
}

/* Downloads `got` (device, n = its element count) into a malloc'd f32 array; NULL on failure. */
static inline float *tg_download(vkr_gpu *gpu, const char *label, const vkr_tensor *got)
{
    int64_t n = vkr_tensor_nelem(got);
    float *g = malloc((size_t)n * sizeof *g);
    int rc = g ? vkr_tensor_download(gpu, got, g, VKR_F32) : VKR_E_INTERNAL;
    CHECK(rc == 0, "%s: download failed: %s", label, vkr_last_error());
    if (rc) {
        free(g);
        return NULL;
    }
    return g;
}

/* Compares got[0..n) with want[0..n) under (max_abs, rel_l2) and prints the
 * measured errors. Returns 1 when within. */
static inline int tg_compare_host(const char *label, const char *what, const float *g, const float *want, int64_t n,
                                  double tol_abs, double tol_rel)
{
    double max_abs = 0, e2 = 0, r2 = 0;
    int64_t worst = 0, nonfinite = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)g[i] - want[i]);
        if (!isfinite(g[i]))
            nonfinite++;
        if (d > max_abs)
            max_abs = d, worst = i;
        e2 += d * d;
        r2 += (double)want[i] * want[i];
    }
    double rel = r2 > 0 ? sqrt(e2 / r2) : sqrt(e2);
    printf("  %-28s %-28s max_abs %.3e (tol %.0e)  rel_l2 %.3e (tol %.0e)\n", label, what, max_abs, tol_abs, rel,
           tol_rel);
    int ok = nonfinite == 0 && max_abs <= tol_abs && rel <= tol_rel;
    CHECK(ok, "%s %s: max_abs %.3e (tol %.1e) at flat index %lld: got %.9g expected %.9g; rel_l2 %.3e (tol %.1e); "
              "%lld non-finite", label, what, max_abs, tol_abs, (long long)worst, n ? g[worst] : 0.0,
          n ? want[worst] : 0.0, rel, tol_rel, (long long)nonfinite);
    return ok;
}

/* Downloads `got` and compares it with io tensor `ref_name` (same element count). */
static inline int tg_compare(vkr_gpu *gpu, const char *label, const vkr_tensor *got, const vkr_safetensors *io,
                             const char *ref_name, double tol_abs, double tol_rel)
{
    const vkr_st_tensor *r = vkr_st_find(io, ref_name);
    CHECK(r != NULL, "%s: io.safetensors has no %s", label, ref_name);
    if (!r)
        return 0;
    int64_t n = vkr_tensor_nelem(got);
    CHECK(n == r->numel, "%s %s: %lld elements, expected %lld", label, ref_name, (long long)n, (long long)r->numel);
    if (n != r->numel)
        return 0;
    float *want = malloc((size_t)n * sizeof *want), *g = NULL;
    int ok = 0;
    if (!want || vkr_st_to_f32(r, want))
        CHECK(0, "%s: cannot read %s", label, ref_name);
    else if ((g = tg_download(gpu, label, got)))
        ok = tg_compare_host(label, ref_name, g, want, n, tol_abs, tol_rel);
    free(g);
    free(want);
    return ok;
}

#endif
