/* Samplers vs the diffusers 0.27.2 golden trajectories (tests/golden/schedulers/<variant>/).
 *
 * Every variant directory found is run (hidden variants in the same format are
 * picked up without code changes): config.json is parsed as a checkpoint's
 * scheduler_config.json, set_timesteps(N) with N = len(out.timesteps), and the
 * loop of case.json "procedure" is replayed with its fake model
 *     model_output = x_in * float32(0.1) + float32(0.5 * sin(double(t) / 100))
 * Timesteps must match exactly; alphas_cumprod, sigmas and init_noise_sigma to
 * 1e-6 relative; samples / model_inputs / model_outputs / pred_original_samples
 * within case.json's recommended_max_abs and recommended_rel_l2 (rel_l2 over the
 * whole (N, ...) tensor). The recorded out.model_outputs are also fed straight
 * to a fresh sampler, which checks the step arithmetic in isolation.
 * Then: the pipeline cases' sampling loops from their recorded UNet outputs
 * (CFG row order and formula, DDIM), the config rules (class defaults,
 * from_config semantics, Infinity), and structural checks for step counts and
 * spacings the golden set lacks. */
#include "check.h"

#include "common/status.h"
#include "model/safetensors.h"
#include "pipeline/golden.h"
#include "sched/cfg.h"
#include "sched/sampler.h"
#include "sched/schedule.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fake model (x*a + c with two roundings, as torch computes it) is the
 * golden runner's, pipeline/golden_sched.c; `vkreel golden` runs the same loop. */
#include "sched/fp_strict.h"

#define GOLDEN_DIR "tests/golden/schedulers"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
        buf[n] = 0;
    else
        free(buf), buf = NULL;
    fclose(f);
    return buf;
}

/* Error accumulator for one output tensor. */
typedef struct {
    const char *name;
    double max_abs, sum_sq_err, sum_sq_ref;
    long count;
} err_acc;

static void acc_add(err_acc *e, const float *got, const float *ref, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        double d = fabs((double)got[k] - (double)ref[k]);
        if (!(d <= e->max_abs)) /* NaN propagates */
            e->max_abs = d;
        e->sum_sq_err += d * d;
        e->sum_sq_ref += (double)ref[k] * ref[k];
    }
    e->count += (long)n;
}

static double acc_rel_l2(const err_acc *e)
{
    return e->sum_sq_ref > 0 ? sqrt(e->sum_sq_err / e->sum_sq_ref) : sqrt(e->sum_sq_err);
}

static void acc_check(const char *variant, const char *mode, const err_acc *e, double tol_abs, double tol_rel)
{
    if (!e->count)
        return;
    double rel = acc_rel_l2(e);
    printf("  %-10s %-22s max_abs %.3e (tol %.0e)  rel_l2 %.3e (tol %.0e)\n", mode, e->name, e->max_abs, tol_abs, rel,
           tol_rel);
    CHECK(e->max_abs <= tol_abs, "%s %s %s: max_abs %.3e > %.1e", variant, mode, e->name, e->max_abs, tol_abs);
    CHECK(rel <= tol_rel, "%s %s %s: rel_l2 %.3e > %.1e", variant, mode, e->name, rel, tol_rel);
}

/* Max relative error of a float table vs its reference. */
static void check_table(const char *variant, const char *name, const float *got, const float *ref, size_t n)
{
    double worst = 0;
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        double d = fabs((double)got[k] - ref[k]) / (fabs((double)ref[k]) > 1e-30 ? fabs((double)ref[k]) : 1.0);
        if (!(d <= worst))
            worst = d, at = k;
    }
    printf("  %-10s %-22s max_rel %.3e%s\n", "table", name, worst, worst == 0 ? " (bit-exact)" : "");
    CHECK(worst <= 1e-6, "%s %s[%zu] = %.9g, expected %.9g (rel err %.2e > 1e-6)", variant, name, at, got[at], ref[at],
          worst);
}

static float *load(const vkr_safetensors *st, const char *name, int64_t *numel)
{
    const vkr_st_tensor *t = vkr_st_find(st, name);
    if (!t)
        return NULL;
    return vkr_st_load_f32(st, name, numel);
}

static void run_variant(const char *variant)
{
    char path[512];
    vkr_sched_config cfg;
    vkr_sampler s = {0}, s2 = {0};
    vkr_safetensors st;
    cJSON *cas = NULL;
    char *text = NULL;
    float *init_noise = NULL, *samples = NULL, *inputs = NULL, *outputs = NULL, *x0s = NULL, *acp = NULL,
          *sigmas = NULL, *ins = NULL, *ts_f = NULL;
    float *x = NULL, *x_in = NULL, *eps = NULL, *px0 = NULL;
    int64_t *ts_i = NULL;
    int rc;

    printf("%s\n", variant);
    snprintf(path, sizeof path, GOLDEN_DIR "/%s/case.json", variant);
    text = read_text(path);
    CHECK(text != NULL, "%s: cannot read", path);
    if (!text)
        return;
    cas = cJSON_Parse(text);
    const cJSON *tol = cJSON_GetObjectItem(cas, "tolerance");
    const cJSON *tol_abs_j = cJSON_GetObjectItem(tol, "recommended_max_abs");
    const cJSON *tol_rel_j = cJSON_GetObjectItem(tol, "recommended_rel_l2");
    const cJSON *cls = cJSON_GetObjectItem(cas, "scheduler_class");
    CHECK(cJSON_IsNumber(tol_abs_j) && cJSON_IsNumber(tol_rel_j), "%s: no tolerance", path);
    const double tol_abs = cJSON_IsNumber(tol_abs_j) ? tol_abs_j->valuedouble : 0;
    const double tol_rel = cJSON_IsNumber(tol_rel_j) ? tol_rel_j->valuedouble : 0;

    snprintf(path, sizeof path, GOLDEN_DIR "/%s/config.json", variant);
    rc = vkr_sched_config_load(&cfg, path, -1);
    CHECK(rc == 0, "%s: %s", path, vkr_last_error());
    if (rc)
        goto out_nocfg;
    if (cJSON_IsString(cls)) {
        vkr_sampler_kind k;
        CHECK(vkr_sampler_kind_from_name(cls->valuestring, &k) == 0 && k == cfg.kind,
              "%s: config class %s, case.json says %s", variant, vkr_sampler_kind_name(cfg.kind), cls->valuestring);
    }

    snprintf(path, sizeof path, GOLDEN_DIR "/%s/io.safetensors", variant);
    rc = vkr_st_open(&st, path);
    CHECK(rc == 0, "%s: %s", path, vkr_last_error());
    if (rc)
        goto out_nost;

    const vkr_st_tensor *tt = vkr_st_find(&st, "out.timesteps");
    const vkr_st_tensor *tn = vkr_st_find(&st, "in.init_noise");
    CHECK(tt && tn, "%s: missing out.timesteps or in.init_noise", variant);
    if (!tt || !tn)
        goto out;
    /* set_timesteps(N) as the case's procedure states it: diffusers can return
     * N+1 timesteps (trailing spacing), so len(out.timesteps) is only the fallback. */
    int N = (int)tt->numel;
    const cJSON *proc = cJSON_GetObjectItem(cas, "procedure"), *line;
    cJSON_ArrayForEach(line, proc)
    {
        const char *p = cJSON_IsString(line) ? strstr(line->valuestring, "set_timesteps(") : NULL;
        if (p)
            N = atoi(p + strlen("set_timesteps("));
    }
    const size_t n = (size_t)tn->numel;

    rc = vkr_sampler_init(&s, &cfg, N);
    CHECK(rc == 0, "%s: vkr_sampler_init(%d): %s", variant, N, vkr_last_error());
    if (rc)
        goto out;
    char desc[160];
    printf("  %s\n", vkr_sampler_describe(&s, desc, sizeof desc));

    /* timesteps: exact */
    CHECK(s.num_steps == (int)tt->numel, "%s: set_timesteps(%d) gives %d timesteps, golden has %lld", variant, N,
          s.num_steps, (long long)tt->numel);
    if (s.num_steps != (int)tt->numel)
        goto out;
    N = s.num_steps;
    if (tt->dtype == VKR_I64) {
        ts_i = malloc((size_t)N * sizeof *ts_i);
        vkr_st_to_i64(tt, ts_i);
        CHECK(s.timesteps_are_integer, "%s: golden timesteps are I64, ours are not integer-typed", variant);
        int bad = 0;
        for (int i = 0; i < N; i++)
            if ((double)ts_i[i] != s.timesteps[i] && bad++ < 5)
                CHECK(0, "%s: timesteps[%d] = %.17g, expected %lld", variant, i, s.timesteps[i], (long long)ts_i[i]);
        CHECK(bad == 0, "%s: %d of %d timesteps differ", variant, bad, N);
    } else {
        ts_f = malloc((size_t)N * sizeof *ts_f);
        vkr_st_to_f32(tt, ts_f);
        CHECK(!s.timesteps_are_integer, "%s: golden timesteps are F32, ours are integer-typed", variant);
        int bad = 0;
        for (int i = 0; i < N; i++)
            if ((double)ts_f[i] != s.timesteps[i] && bad++ < 5)
                CHECK(0, "%s: timesteps[%d] = %.9g, expected %.9g", variant, i, s.timesteps[i], ts_f[i]);
        CHECK(bad == 0, "%s: %d of %d timesteps differ", variant, bad, N);
    }
    printf("  %-10s %-22s %d values, exact match checked\n", "table", "timesteps", N);

    int64_t cnt = 0;
    acp = load(&st, "out.alphas_cumprod", &cnt);
    CHECK(acp && cnt == cfg.num_train_timesteps, "%s: out.alphas_cumprod", variant);
    if (acp && cnt == cfg.num_train_timesteps)
        check_table(variant, "alphas_cumprod", s.alphas_cumprod, acp, (size_t)cnt);
    sigmas = load(&st, "out.sigmas", &cnt);
    if (sigmas) {
        CHECK(s.sigmas && cnt == N + 1, "%s: out.sigmas has %lld entries, we have %s", variant, (long long)cnt,
              s.sigmas ? "N+1" : "none");
        if (s.sigmas && cnt == N + 1)
            check_table(variant, "sigmas", s.sigmas, sigmas, (size_t)cnt);
    }
    ins = load(&st, "out.init_noise_sigma", &cnt);
    CHECK(ins && cnt == 1, "%s: out.init_noise_sigma", variant);
    if (ins && cnt == 1)
        check_table(variant, "init_noise_sigma", &s.init_noise_sigma, ins, 1);

    init_noise = load(&st, "in.init_noise", NULL);
    samples = load(&st, "out.samples", &cnt);
    CHECK(samples && cnt == (int64_t)((N + 1) * n), "%s: out.samples", variant);
    inputs = load(&st, "out.model_inputs", &cnt);
    CHECK(inputs && cnt == (int64_t)(N * n), "%s: out.model_inputs", variant);
    outputs = load(&st, "out.model_outputs", &cnt);
    CHECK(outputs && cnt == (int64_t)(N * n), "%s: out.model_outputs", variant);
    x0s = load(&st, "out.pred_original_samples", &cnt); /* DDIM and Euler only */
    if (!init_noise || !samples || !inputs || !outputs)
        goto out;

    x = malloc(n * sizeof *x);
    x_in = malloc(n * sizeof *x_in);
    eps = malloc(n * sizeof *eps);
    px0 = malloc(n * sizeof *px0);

    /* 1. the full loop with the fake model */
    err_acc e_s = {"samples"}, e_in = {"model_inputs"}, e_out = {"model_outputs"}, e_x0 = {"pred_original_samples"};
    vkr_sampler_init_latents(&s, init_noise, x, n);
    acc_add(&e_s, x, samples, n);
    for (int i = 0; i < N; i++) {
        vkr_sampler_scale_input(&s, i, x, x_in, n);
        acc_add(&e_in, x_in, inputs + (size_t)i * n, n);
        vkr_golden_fake_model(x_in, s.timesteps[i], eps, n);
        acc_add(&e_out, eps, outputs + (size_t)i * n, n);
        rc = vkr_sampler_step(&s, i, eps, x, n, px0);
        CHECK(rc == 0, "%s: step %d: %s", variant, i, vkr_last_error());
        if (x0s)
            acc_add(&e_x0, px0, x0s + (size_t)i * n, n);
        acc_add(&e_s, x, samples + (size_t)(i + 1) * n, n);
    }
    acc_check(variant, "loop", &e_s, tol_abs, tol_rel);
    acc_check(variant, "loop", &e_in, tol_abs, tol_rel);
    acc_check(variant, "loop", &e_out, tol_abs, tol_rel);
    acc_check(variant, "loop", &e_x0, tol_abs, tol_rel);

    /* 2. the scheduler alone: recorded model outputs, recorded previous sample */
    rc = vkr_sampler_init(&s2, &cfg, N);
    CHECK(rc == 0, "%s: second init: %s", variant, vkr_last_error());
    if (rc)
        goto out;
    err_acc e_s2 = {"samples"}, e_x02 = {"pred_original_samples"};
    memcpy(x, samples, n * sizeof *x);
    for (int i = 0; i < N; i++) {
        memcpy(x, samples + (size_t)i * n, n * sizeof *x);
        rc = vkr_sampler_step(&s2, i, outputs + (size_t)i * n, x, n, px0);
        CHECK(rc == 0, "%s: isolated step %d: %s", variant, i, vkr_last_error());
        if (x0s)
            acc_add(&e_x02, px0, x0s + (size_t)i * n, n);
        acc_add(&e_s2, x, samples + (size_t)(i + 1) * n, n);
    }
    acc_check(variant, "step-only", &e_s2, tol_abs, tol_rel);
    acc_check(variant, "step-only", &e_x02, tol_abs, tol_rel);

    /* 3. reset: the used sampler, reset, repeats the isolated run bit for bit */
    vkr_sampler_reset(&s2);
    CHECK(vkr_sampler_step(&s2, 1, outputs, x, n, NULL) == VKR_E_INTERNAL, "%s: step 1 accepted after reset", variant);
    int diff = 0;
    float *y = malloc(n * sizeof *y);
    for (int i = 0; i < N && y; i++) {
        memcpy(y, samples + (size_t)i * n, n * sizeof *y);
        CHECK(vkr_sampler_step(&s2, i, outputs + (size_t)i * n, y, n, NULL) == 0, "%s: step %d after reset",
              variant, i);
    }
    if (y) /* x still holds the first run's last sample */
        diff = memcmp(x, y, n * sizeof *y) != 0;
    free(y);
    CHECK(diff == 0, "%s: the reset sampler's last step differs from the first run's", variant);

out:
    vkr_st_close(&st);
out_nost:
    vkr_sched_config_free(&cfg);
out_nocfg:
    vkr_sampler_free(&s);
    vkr_sampler_free(&s2);
    free(init_noise), free(samples), free(inputs), free(outputs), free(x0s), free(acp), free(sigmas), free(ins);
    free(ts_f), free(ts_i), free(x), free(x_in), free(eps), free(px0);
    cJSON_Delete(cas);
    free(text);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_all_golden(void)
{
    DIR *d = opendir(GOLDEN_DIR);
    CHECK(d != NULL, "cannot open %s (run from the repository root)", GOLDEN_DIR);
    if (!d)
        return;
    char *names[256];
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) && count < 256) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, GOLDEN_DIR "/%s/io.safetensors", de->d_name);
        FILE *f = fopen(p, "rb");
        if (!f)
            continue;
        fclose(f);
        names[count++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof names[0], cmp_str);
    printf("%d golden scheduler variants\n", count);
    CHECK(count >= 17, "expected at least the 17 shipped variants, found %d", count);
    for (int k = 0; k < count; k++) {
        run_variant(names[k]);
        free(names[k]);
    }
}

/* ---- config rules ---- */

static int parse(vkr_sched_config *c, const char *json, int kind)
{
    return vkr_sched_config_parse(c, json, strlen(json), kind);
}

static void test_config_rules(void)
{
    vkr_sched_config c;
    /* The real ModelScope/AudioLDM-style sparse DDIM config (no timestep_spacing key). */
    const char *sparse =
        "{\"_class_name\": \"DDIMScheduler\", \"_diffusers_version\": \"0.15.0.dev0\", \"beta_end\": 0.012,"
        " \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"clip_sample\": false,"
        " \"num_train_timesteps\": 1000, \"prediction_type\": \"epsilon\", \"set_alpha_to_one\": false,"
        " \"skip_prk_steps\": true, \"steps_offset\": 1, \"trained_betas\": null}";
    CHECK_EQ_INT(parse(&c, sparse, -1), 0);
    CHECK_EQ_INT(c.kind, VKR_SAMPLER_DDIM);
    CHECK_EQ_INT(c.timestep_spacing, VKR_SPACING_LEADING);
    CHECK_EQ_INT(c.steps_offset, 1);
    CHECK_EQ_INT(c.beta_schedule, VKR_BETAS_SCALED_LINEAR);
    CHECK(!c.clip_sample && !c.set_alpha_to_one, "sparse DDIM config: clip_sample/set_alpha_to_one not read");
    vkr_sched_config_free(&c);

    /* from_config: the chosen class's default spacing for an absent key, the file's values otherwise */
    CHECK_EQ_INT(parse(&c, sparse, VKR_SAMPLER_EULER), 0);
    CHECK_EQ_INT(c.kind, VKR_SAMPLER_EULER);
    CHECK_EQ_INT(c.timestep_spacing, VKR_SPACING_LINSPACE);
    CHECK_EQ_INT(c.steps_offset, 1);
    CHECK_NEAR(c.beta_end, 0.012, 0);
    vkr_sched_config_free(&c);
    CHECK_EQ_INT(parse(&c, sparse, VKR_SAMPLER_DPMPP_2M), 0);
    CHECK_EQ_INT(c.timestep_spacing, VKR_SPACING_LINSPACE);
    CHECK_EQ_INT(c.solver_order, 2);
    CHECK(c.lower_order_final && c.final_sigmas_type == VKR_FINAL_SIGMA_ZERO, "DPM defaults");
    vkr_sched_config_free(&c);

    /* Class defaults when everything is absent (diffusers 0.27.2). */
    CHECK_EQ_INT(parse(&c, "{}", -1), 0);
    CHECK_EQ_INT(c.kind, VKR_SAMPLER_DDIM);
    CHECK(c.clip_sample && c.set_alpha_to_one && c.steps_offset == 0 && c.beta_schedule == VKR_BETAS_LINEAR &&
              c.beta_start == 0.0001 && c.beta_end == 0.02 && c.timestep_spacing == VKR_SPACING_LEADING,
          "DDIMScheduler defaults");
    vkr_sched_config_free(&c);

    /* Python's -Infinity / NaN; an explicit spacing survives a class change. */
    const char *dpm = "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"lambda_min_clipped\": -Infinity,"
                      " \"variance_type\": null, \"timestep_spacing\": \"trailing\", \"note\": \"-Infinity NaN\","
                      " \"sample_max_value\": NaN}";
    CHECK_EQ_INT(parse(&c, dpm, -1), 0);
    CHECK(isinf(c.lambda_min_clipped) && c.lambda_min_clipped < 0, "lambda_min_clipped = %g", c.lambda_min_clipped);
    CHECK_EQ_INT(c.kind, VKR_SAMPLER_DPMPP_2M);
    vkr_sched_config_free(&c);
    CHECK_EQ_INT(parse(&c, dpm, VKR_SAMPLER_DDIM), 0);
    CHECK_EQ_INT(c.timestep_spacing, VKR_SPACING_TRAILING);
    vkr_sched_config_free(&c);

    /* Keys a class does not have are ignored for it, and validated for the class that has them. */
    const char *bad_dpm = "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"solver_order\": 7}";
    CHECK_EQ_INT(parse(&c, bad_dpm, VKR_SAMPLER_DDIM), 0);
    vkr_sched_config_free(&c);
    CHECK_EQ_INT(parse(&c, bad_dpm, -1), VKR_E_DATA);
    CHECK_EQ_INT(parse(&c, "{\"_class_name\": \"PNDMScheduler\"}", -1), VKR_E_DATA);
    CHECK_EQ_INT(parse(&c, "{\"_class_name\": \"PNDMScheduler\"}", VKR_SAMPLER_DDIM), 0);
    vkr_sched_config_free(&c);
    CHECK_EQ_INT(parse(&c, "{\"thresholding\": true}", -1), VKR_E_DATA);
    CHECK_EQ_INT(parse(&c, "{\"timestep_spacing\": \"sideways\"}", -1), VKR_E_DATA);
    CHECK_EQ_INT(parse(&c, "[1, 2]", -1), VKR_E_DATA);
    CHECK_EQ_INT(parse(&c, "{\"beta_end\": \"0.012\"}", -1), VKR_E_DATA);

    /* trained_betas wins over beta_schedule and must cover num_train_timesteps. */
    CHECK_EQ_INT(parse(&c, "{\"num_train_timesteps\": 4, \"trained_betas\": [0.1, 0.2, 0.3, 0.4],"
                           " \"beta_schedule\": \"scaled_linear\"}", -1), 0);
    CHECK_EQ_INT(c.beta_schedule, VKR_BETAS_TRAINED);
    float betas[4], acp[4];
    CHECK_EQ_INT(vkr_sched_alphas_cumprod(&c, betas, acp), 0);
    CHECK(acp[3] == (float)((double)0.9f * (double)0.8f * (double)0.7f * (double)(1.0f - 0.4f)),
          "trained betas cumprod %.9g", acp[3]);
    vkr_sched_config_free(&c);
    CHECK_EQ_INT(parse(&c, "{\"num_train_timesteps\": 5, \"trained_betas\": [0.1, 0.2]}", -1), VKR_E_DATA);

    vkr_sampler_kind k;
    CHECK(vkr_sampler_kind_from_name("dpm++2m", &k) == 0 && k == VKR_SAMPLER_DPMPP_2M, "dpm++2m alias");
    CHECK(vkr_sampler_kind_from_name("Euler", &k) == 0 && k == VKR_SAMPLER_EULER, "Euler alias");
    CHECK_EQ_INT(vkr_sampler_kind_from_name("pndm", &k), VKR_E_USAGE);
}

/* The pipeline cases' DDIM: leading spacing, r = 1000 // N, t_i = (N-1-i) r + 1. */
static void test_pipeline_configs(void)
{
    static const char *const paths[] = {"tests/golden/pipeline_t2v/scheduler/scheduler_config.json",
                                        "tests/golden/pipeline_audioldm/scheduler/scheduler_config.json"};
    for (int p = 0; p < 2; p++) {
        vkr_sched_config c;
        vkr_sampler s;
        int rc = vkr_sched_config_load(&c, paths[p], -1);
        CHECK(rc == 0, "%s: %s", paths[p], vkr_last_error());
        if (rc)
            continue;
        rc = vkr_sampler_init(&s, &c, 3);
        CHECK(rc == 0, "%s: %s", paths[p], vkr_last_error());
        if (!rc) {
            CHECK(s.timesteps[0] == 667 && s.timesteps[1] == 334 && s.timesteps[2] == 1,
                  "%s: timesteps %g %g %g, expected 667 334 1", paths[p], s.timesteps[0], s.timesteps[1],
                  s.timesteps[2]);
            CHECK(s.init_noise_sigma == 1.0f, "DDIM init_noise_sigma %g", s.init_noise_sigma);
            /* steps must come in order */
            float v = 0, m = 0;
            CHECK_EQ_INT(vkr_sampler_step(&s, 1, &m, &v, 1, NULL), VKR_E_INTERNAL);
            CHECK_EQ_INT(vkr_sampler_step(&s, 0, &m, &v, 1, NULL), 0);
            CHECK_EQ_INT(vkr_sampler_step(&s, 1, &m, &v, 2, NULL), VKR_E_INTERNAL);
            vkr_sampler_free(&s);
        }
        CHECK_EQ_INT(vkr_sampler_init(&s, &c, 0), VKR_E_USAGE);
        CHECK_EQ_INT(vkr_sampler_init(&s, &c, 1001), VKR_E_USAGE);
        vkr_sched_config_free(&c);
    }
}

/* The pipeline cases' sampling loop without the networks: the recorded UNet
 * outputs (dbg.unet_out_step_k, rows [uncond, cond]) go through CFG and the
 * checkpoint's DDIM, starting from in.latents. Checks the row order, the
 * guidance formula (dbg.noise_pred_step_k) and out.latents_after_step_k. */
static void test_pipeline_loop(const char *dir)
{
    char path[512];
    vkr_sched_config cfg;
    vkr_sampler s = {0};
    vkr_safetensors io, dbg;
    cJSON *cas = NULL;
    char *text = NULL;
    float *x = NULL, *eps = NULL;
    int rc;

    printf("%s\n", dir);
    snprintf(path, sizeof path, "%s/case.json", dir);
    text = read_text(path);
    cas = text ? cJSON_Parse(text) : NULL;
    const cJSON *params = cJSON_GetObjectItem(cas, "parameters");
    const cJSON *steps_j = cJSON_GetObjectItem(params, "num_inference_steps");
    const cJSON *w_j = cJSON_GetObjectItem(params, "guidance_scale");
    const cJSON *tol = cJSON_GetObjectItem(cas, "tolerance");
    const cJSON *tol_abs = cJSON_GetObjectItem(tol, "recommended_max_abs");
    const cJSON *tol_rel = cJSON_GetObjectItem(tol, "recommended_rel_l2");
    CHECK(cJSON_IsNumber(steps_j) && cJSON_IsNumber(w_j), "%s: parameters", path);
    if (!cJSON_IsNumber(steps_j) || !cJSON_IsNumber(w_j)) {
        cJSON_Delete(cas);
        free(text);
        return;
    }
    const int N = steps_j->valueint;
    const float w = (float)w_j->valuedouble;

    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", dir);
    rc = vkr_sched_config_load(&cfg, path, -1);
    CHECK(rc == 0, "%s: %s", path, vkr_last_error());
    if (rc)
        goto out_nocfg;
    rc = vkr_sampler_init(&s, &cfg, N);
    CHECK(rc == 0, "%s: %s", dir, vkr_last_error());
    snprintf(path, sizeof path, "%s/io.safetensors", dir);
    int rc_io = vkr_st_open(&io, path);
    snprintf(path, sizeof path, "%s/debug.safetensors", dir);
    int rc_dbg = vkr_st_open(&dbg, path);
    CHECK(rc_io == 0 && rc_dbg == 0, "%s: cannot open io/debug safetensors: %s", dir, vkr_last_error());
    if (rc || rc_io || rc_dbg)
        goto out;

    const vkr_st_tensor *lat = vkr_st_find(&io, "in.latents"), *tt = vkr_st_find(&io, "out.timesteps");
    CHECK(lat && tt && tt->numel == s.num_steps, "%s: in.latents / out.timesteps", dir);
    if (!lat || !tt || tt->numel != s.num_steps)
        goto out;
    int64_t ts[64];
    vkr_st_to_i64(tt, ts);
    for (int i = 0; i < s.num_steps && i < 64; i++)
        CHECK(ts[i] == (int64_t)s.timesteps[i], "%s: timesteps[%d] = %g, expected %lld", dir, i, s.timesteps[i],
              (long long)ts[i]);

    const size_t n = (size_t)lat->numel;
    x = malloc(n * sizeof *x);
    eps = malloc(n * sizeof *eps);
    float *noise = vkr_st_load_f32(&io, "in.latents", NULL);
    if (!x || !eps || !noise) {
        free(noise);
        goto out;
    }
    vkr_sampler_init_latents(&s, noise, x, n);
    free(noise);
    for (int k = 0; k < s.num_steps; k++) {
        char name[64];
        int64_t cnt = 0;
        snprintf(name, sizeof name, "dbg.unet_out_step_%d", k);
        float *unet = vkr_st_find(&dbg, name) ? vkr_st_load_f32(&dbg, name, &cnt) : NULL;
        snprintf(name, sizeof name, "dbg.noise_pred_step_%d", k);
        float *guided = vkr_st_find(&dbg, name) ? vkr_st_load_f32(&dbg, name, NULL) : NULL;
        snprintf(name, sizeof name, "out.latents_after_step_%d", k);
        float *want = vkr_st_find(&io, name) ? vkr_st_load_f32(&io, name, NULL) : NULL;
        CHECK(unet && guided && want && cnt == (int64_t)(2 * n), "%s: step %d tensors", dir, k);
        if (unet && guided && want && cnt == (int64_t)(2 * n)) {
            vkr_cfg_combine(unet, 1, n, w, 0.0f, eps);
            err_acc e_g = {"noise_pred"}, e_x = {name};
            acc_add(&e_g, eps, guided, n);
            CHECK(vkr_sampler_step(&s, k, eps, x, n, NULL) == 0, "%s: step %d: %s", dir, k, vkr_last_error());
            acc_add(&e_x, x, want, n);
            /* the guided noise is one float32 formula: it must be bit-exact */
            acc_check(dir, "cfg", &e_g, 0.0, 0.0);
            const cJSON *ta = cJSON_GetObjectItem(tol_abs, name + 4), *tr = cJSON_GetObjectItem(tol_rel, name + 4);
            CHECK(cJSON_IsNumber(ta) && cJSON_IsNumber(tr), "%s: no tolerance for %s", dir, name + 4);
            if (cJSON_IsNumber(ta) && cJSON_IsNumber(tr))
                acc_check(dir, "ddim", &e_x, ta->valuedouble, tr->valuedouble);
        }
        free(unet), free(guided), free(want);
    }
out:
    if (rc_io == 0)
        vkr_st_close(&io);
    if (rc_dbg == 0)
        vkr_st_close(&dbg);
    vkr_sched_config_free(&cfg);
out_nocfg:
    vkr_sampler_free(&s);
    free(x), free(eps);
    cJSON_Delete(cas);
    free(text);
}

/* Structural properties for step counts and spacings the golden set lacks. */
static void test_all_step_counts(void)
{
    static const char *const spacing[] = {"leading", "linspace", "trailing"};
    for (int kind = 0; kind < VKR_SAMPLER_COUNT; kind++)
        for (int sp = 0; sp < 3; sp++) {
            char json[256];
            snprintf(json, sizeof json,
                     "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
                     " \"steps_offset\": 1, \"timestep_spacing\": \"%s\"}", spacing[sp]);
            vkr_sched_config c;
            CHECK_EQ_INT(parse(&c, json, kind), 0);
            int bad = 0;
            for (int N = 1; N <= 1000 && bad < 3; N += (N < 125 ? 1 : 37)) {
                vkr_sampler s;
                if (vkr_sampler_init(&s, &c, N)) {
                    CHECK(0, "%s/%s N=%d: %s", vkr_sampler_kind_name(kind), spacing[sp], N, vkr_last_error());
                    bad++;
                    continue;
                }
                const int M = s.num_steps;
                CHECK(M == N || (sp == 2 && M == N + 1 && s.timesteps[N] == -1), "%s/%s N=%d: %d timesteps",
                      vkr_sampler_kind_name(kind), spacing[sp], N, M);
                for (int i = 1; i < M; i++)
                    if (!(s.timesteps[i] < s.timesteps[i - 1]) && bad++ < 3)
                        CHECK(0, "%s/%s N=%d: timesteps not decreasing at %d", vkr_sampler_kind_name(kind),
                              spacing[sp], N, i);
                /* non-increasing: the trailing quirk's t = -1 repeats sigma(0) */
                if (s.sigmas)
                    for (int i = 0; i < M; i++)
                        if (!(s.sigmas[i] >= s.sigmas[i + 1]) && bad++ < 3)
                            CHECK(0, "%s/%s N=%d: sigmas not decreasing at %d", vkr_sampler_kind_name(kind),
                                  spacing[sp], N, i);
                vkr_sampler_free(&s);
            }
            vkr_sched_config_free(&c);
        }
}

/* numpy's np.arange(1000, 0, -1000/61) has 62 elements (ceil(61.000000000000007)):
 * diffusers then runs 62 steps, the last at timestep -1. */
static void test_trailing_quirk(void)
{
    for (int kind = 0; kind < VKR_SAMPLER_COUNT; kind++) {
        vkr_sched_config c;
        CHECK_EQ_INT(parse(&c, "{\"timestep_spacing\": \"trailing\"}", kind), 0);
        vkr_sampler s;
        CHECK_EQ_INT(vkr_sampler_init(&s, &c, 61), 0);
        CHECK_EQ_INT(s.num_steps, 62);
        CHECK(s.timesteps[0] == 999 && s.timesteps[61] == -1, "%s trailing 61: t %g..%g", vkr_sampler_kind_name(kind),
              s.timesteps[0], s.timesteps[61]);
        vkr_sampler_free(&s);
        CHECK_EQ_INT(vkr_sampler_init(&s, &c, 50), 0);
        CHECK(s.num_steps == 50 && s.timesteps[0] == 999 && s.timesteps[49] == 19, "%s trailing 50: %d steps, t %g..%g",
              vkr_sampler_kind_name(kind), s.num_steps, s.timesteps[0], s.timesteps[s.num_steps - 1]);
        vkr_sampler_free(&s);
        vkr_sched_config_free(&c);
    }
}

static void test_cfg(void)
{
    /* batch 2, rows of 3: [u0; u1; c0; c1] */
    const float in[12] = {1, 2, 3, -1, 0, 1, 2, 2, 2, 0.5f, 0.25f, 4};
    float out[6];
    vkr_cfg_combine(in, 2, 3, 7.5f, 0.0f, out);
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 3; k++) {
            float u = in[b * 3 + k], c = in[6 + b * 3 + k];
            float want = u + 7.5f * (c - u);
            CHECK(out[b * 3 + k] == want, "cfg[%d][%d] = %g, expected %g", b, k, out[b * 3 + k], want);
        }
    /* rescale phi = 1: each row's std becomes the conditional row's std */
    vkr_cfg_combine(in, 2, 3, 7.5f, 1.0f, out);
    for (int b = 0; b < 2; b++) {
        double mc = 0, mo = 0, vc = 0, vo = 0;
        for (int k = 0; k < 3; k++)
            mc += in[6 + b * 3 + k] / 3.0, mo += out[b * 3 + k] / 3.0;
        for (int k = 0; k < 3; k++)
            vc += pow(in[6 + b * 3 + k] - mc, 2) / 2, vo += pow(out[b * 3 + k] - mo, 2) / 2;
        CHECK_NEAR(sqrt(vo), sqrt(vc), 1e-5);
    }
    CHECK(vkr_cfg_enabled(1.5f) && !vkr_cfg_enabled(1.0f), "cfg enabled iff w > 1");
}

int main(void)
{
    run_all_golden();
    test_config_rules();
    test_pipeline_configs();
    test_pipeline_loop("tests/golden/pipeline_t2v");
    test_pipeline_loop("tests/golden/pipeline_audioldm");
    test_all_step_counts();
    test_trailing_quirk();
    test_cfg();
    return check_summary("test_schedulers");
}
