/* Golden runner for tests/golden/schedulers/<variant>: config.json is the
 * scheduler config, set_timesteps(N) as case.json "procedure" states it, then
 * the loop of the procedure with case.json's fake model:
 *
 *   x = init_noise * init_noise_sigma                  -> out.samples[0]
 *   for i: x_in = scale_model_input(x, t_i)             -> out.model_inputs[i]
 *          eps = fake_model(x_in, t_i)                  -> out.model_outputs[i]
 *          x = step(eps, t_i, x)                        -> out.samples[i+1], out.pred_original_samples[i]
 *
 * plus the tables: out.timesteps (exact; I64 for DDIM / DPM, F32 for Euler, as
 * diffusers types them), out.alphas_cumprod, out.sigmas, out.init_noise_sigma
 * (case.json: "to ~1e-6 relative"). */
#include "pipeline/golden.h"

#include "common/status.h"
#include "sched/sampler.h"
#include "sched/schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* x*a + c must round twice, as torch's two element-wise kernels do. */
#include "sched/fp_strict.h"

/* case.json states the tables' accuracy only in prose: "alphas_cumprod/sigmas to ~1e-6 relative". */
#define TABLE_REL 1e-6

void vkr_golden_fake_model(const float *x_in, double t, float *out, size_t n)
{
    const float a = 0.1f;
    const float c = (float)(0.5 * sin(t / 100.0));
    for (size_t k = 0; k < n; k++) {
        const float ax = x_in[k] * a;
        out[k] = ax + c;
    }
}

/* set_timesteps(N) from the procedure: diffusers can return N+1 timesteps
 * (trailing spacing), so len(out.timesteps) is only the fallback. */
static int requested_steps(const vkr_golden_case *c, int fallback)
{
    int n = fallback;
    const cJSON *line;
    cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(c->json, "procedure"))
    {
        const char *p = cJSON_IsString(line) ? strstr(line->valuestring, "set_timesteps(") : NULL;
        if (p)
            n = atoi(p + strlen("set_timesteps("));
    }
    return n;
}

/* 1e-6 relative to the reference table's largest magnitude (the table itself
 * when the case lacks it: then it is not compared anyway). */
static void set_table_tol(const vkr_golden_case *c, vkr_golden_tensor *t)
{
    const vkr_st_tensor *ref = vkr_st_find(&c->io, t->name);
    double m = 0;
    float *v = ref ? vkr_st_load_f32(&c->io, t->name, NULL) : NULL;
    for (int64_t k = 0; v && k < ref->numel; k++)
        m = fmax(m, fabs((double)v[k]));
    free(v);
    t->has_tol = 1;
    t->tol.exact = 0;
    t->tol.max_abs = TABLE_REL * m;
    t->tol.rel_l2 = TABLE_REL;
}

static int add_table(const vkr_golden_case *c, vkr_golden_result *r, const char *name, const float *src, int64_t n)
{
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (v)
        memcpy(v, src, (size_t)n * sizeof *v);
    int rc = vkr_golden_add_f32(&r->got, name, 1, &n, v);
    if (!rc)
        set_table_tol(c, &r->got.v[r->got.n - 1]);
    return rc;
}

int vkr_golden_run_schedulers(const vkr_golden_case *c, vkr_golden_result *r)
{
    char path[4200];
    vkr_sched_config cfg;
    vkr_sampler s = {0};
    vkr_golden_tensor noise = {0};
    float *samples = NULL, *inputs = NULL, *outputs = NULL, *x0s = NULL;
    int rc;

    snprintf(path, sizeof path, "%s/config.json", c->dir);
    rc = vkr_sched_config_load(&cfg, path, -1);
    if (rc)
        return rc;
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(c->json, "scheduler_class");
    if (cJSON_IsString(cls)) {
        vkr_sampler_kind k;
        if (vkr_sampler_kind_from_name(cls->valuestring, &k) != 0 || k != cfg.kind) {
            rc = vkr_fail(VKR_E_DATA, "config.json is a %s, case.json says %s", vkr_sampler_kind_name(cfg.kind),
                          cls->valuestring);
            goto out;
        }
    }
    const vkr_st_tensor *tt = vkr_st_find(&c->io, "out.timesteps");
    if (!tt || vkr_st_find(&c->io, "in.init_noise") == NULL) {
        rc = vkr_fail(VKR_E_DATA, "io.safetensors lacks out.timesteps or in.init_noise");
        goto out;
    }
    if ((rc = vkr_golden_load_st(&c->io, "in.init_noise", &noise)))
        goto out;
    if (noise.dtype != VKR_GOLDEN_F32 || noise.ndim + 1 > VKR_MAX_DIMS) {
        rc = vkr_fail(VKR_E_DATA, "in.init_noise: not a float tensor of at most %d dimensions", VKR_MAX_DIMS - 1);
        goto out;
    }
    if ((rc = vkr_sampler_init(&s, &cfg, requested_steps(c, (int)tt->numel))))
        goto out;
    snprintf(r->note, sizeof r->note, "%.*s", (int)sizeof r->note - 1,
             vkr_sampler_describe(&s, path, sizeof path));

    const int N = s.num_steps;
    const size_t n = (size_t)noise.numel;
    int64_t nsteps = N;
    if (s.timesteps_are_integer) {
        int64_t *ts = malloc((size_t)N * sizeof *ts);
        for (int i = 0; ts && i < N; i++)
            ts[i] = (int64_t)s.timesteps[i];
        rc = vkr_golden_add_i64(&r->got, "out.timesteps", 1, &nsteps, ts);
    } else {
        float *ts = malloc((size_t)N * sizeof *ts);
        for (int i = 0; ts && i < N; i++)
            ts[i] = (float)s.timesteps[i];
        rc = vkr_golden_add_f32(&r->got, "out.timesteps", 1, &nsteps, ts);
        if (!rc) { /* "scheduler timesteps must match exactly", float or not */
            r->got.v[r->got.n - 1].has_tol = 1;
            r->got.v[r->got.n - 1].tol.exact = 1;
        }
    }
    if (!rc)
        rc = add_table(c, r, "out.alphas_cumprod", s.alphas_cumprod, cfg.num_train_timesteps);
    if (!rc && s.sigmas)
        rc = add_table(c, r, "out.sigmas", s.sigmas, N + 1);
    if (!rc)
        rc = add_table(c, r, "out.init_noise_sigma", &s.init_noise_sigma, 1);
    if (rc)
        goto out;

    samples = malloc((size_t)(N + 1) * n * sizeof *samples);
    inputs = malloc((size_t)N * n * sizeof *inputs);
    outputs = malloc((size_t)N * n * sizeof *outputs);
    x0s = calloc((size_t)N * n, sizeof *x0s);
    if (!samples || !inputs || !outputs || !x0s) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto out;
    }
    vkr_sampler_init_latents(&s, noise.f32, samples, n);
    for (int i = 0; i < N; i++) {
        float *x = samples + (size_t)(i + 1) * n;
        memcpy(x, samples + (size_t)i * n, n * sizeof *x);
        vkr_sampler_scale_input(&s, i, x, inputs + (size_t)i * n, n);
        vkr_golden_fake_model(inputs + (size_t)i * n, s.timesteps[i], outputs + (size_t)i * n, n);
        if ((rc = vkr_sampler_step(&s, i, outputs + (size_t)i * n, x, n, x0s + (size_t)i * n)))
            goto out;
    }

    /* (N or N+1, *shape of the noise) */
    int64_t shape[VKR_MAX_DIMS];
    memcpy(shape + 1, noise.shape, (size_t)noise.ndim * sizeof *shape);
    const int nd = noise.ndim + 1;
    shape[0] = N + 1;
    rc = vkr_golden_add_f32(&r->got, "out.samples", nd, shape, samples);
    samples = NULL;
    shape[0] = N;
    if (!rc)
        rc = vkr_golden_add_f32(&r->got, "out.model_inputs", nd, shape, inputs);
    inputs = NULL;
    if (!rc)
        rc = vkr_golden_add_f32(&r->got, "out.model_outputs", nd, shape, outputs);
    outputs = NULL;
    /* DPM-Solver's step does not return pred_original_sample: the case has none to compare */
    if (!rc)
        rc = vkr_golden_add_f32(&r->got, "out.pred_original_samples", nd, shape, x0s);
    x0s = NULL;
out:
    free(samples), free(inputs), free(outputs), free(x0s);
    free(noise.f32), free(noise.i64);
    vkr_sampler_free(&s);
    vkr_sched_config_free(&cfg);
    return rc;
}
