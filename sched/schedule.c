/* Scheduler configuration (scheduler_config.json -> vkr_sched_config) and the
 * training-schedule tables. Every float32 step below mirrors one torch float32
 * op of diffusers 0.27.2 on CPU, because the golden trajectories are compared at
 * tolerances a few float32 ulps wide and alphas_cumprod feeds every step. */
#include "sched/schedule.h"

#include "common/status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sched/fp_strict.h"

/* Which classes have a constructor argument (diffusers 0.27.2 signatures). */
enum { C_DDIM = 1 << VKR_SAMPLER_DDIM, C_EULER = 1 << VKR_SAMPLER_EULER, C_DPM = 1 << VKR_SAMPLER_DPMPP_2M };
#define C_ALL (C_DDIM | C_EULER | C_DPM)

static const char *const class_names[VKR_SAMPLER_COUNT] = {
    "DDIMScheduler", "EulerDiscreteScheduler", "DPMSolverMultistepScheduler"};
static const char *const short_names[VKR_SAMPLER_COUNT] = {"ddim", "euler", "dpmpp_2m"};

const char *vkr_sampler_kind_name(vkr_sampler_kind k)
{
    return (unsigned)k < VKR_SAMPLER_COUNT ? short_names[k] : "?";
}

int vkr_sampler_kind_from_name(const char *name, vkr_sampler_kind *out)
{
    static const struct { const char *name; vkr_sampler_kind kind; } aliases[] = {
        {"ddim", VKR_SAMPLER_DDIM},         {"DDIMScheduler", VKR_SAMPLER_DDIM},
        {"euler", VKR_SAMPLER_EULER},       {"EulerDiscreteScheduler", VKR_SAMPLER_EULER},
        {"dpmpp_2m", VKR_SAMPLER_DPMPP_2M}, {"dpmpp2m", VKR_SAMPLER_DPMPP_2M},
        {"dpm++2m", VKR_SAMPLER_DPMPP_2M},  {"dpm++_2m", VKR_SAMPLER_DPMPP_2M},
        {"dpm-solver++", VKR_SAMPLER_DPMPP_2M}, {"DPMSolverMultistepScheduler", VKR_SAMPLER_DPMPP_2M},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (name && strcasecmp(name, aliases[i].name) == 0) {
            *out = aliases[i].kind;
            return VKR_OK;
        }
    return vkr_fail(VKR_E_USAGE, "unknown sampler \"%s\" (expected ddim, euler or dpmpp_2m)", name ? name : "");
}

void vkr_sched_config_defaults(vkr_sched_config *c, vkr_sampler_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->num_train_timesteps = 1000;
    c->beta_start = 0.0001;
    c->beta_end = 0.02;
    c->beta_schedule = VKR_BETAS_LINEAR;
    c->prediction_type = VKR_PRED_EPSILON;
    c->timestep_spacing = kind == VKR_SAMPLER_DDIM ? VKR_SPACING_LEADING : VKR_SPACING_LINSPACE;
    c->steps_offset = 0;
    c->clip_sample = true;
    c->clip_sample_range = 1.0;
    c->set_alpha_to_one = true;
    c->sigma_min = NAN;
    c->sigma_max = NAN;
    c->solver_order = 2;
    c->algorithm_type = VKR_DPM_ALGO_DPMSOLVERPP;
    c->solver_type = VKR_DPM_SOLVER_MIDPOINT;
    c->lower_order_final = true;
    c->final_sigmas_type = VKR_FINAL_SIGMA_ZERO;
    c->lambda_min_clipped = -INFINITY;
}

void vkr_sched_config_free(vkr_sched_config *c)
{
    if (!c)
        return;
    free(c->trained_betas);
    c->trained_betas = NULL;
}

int vkr_sched_config_copy(vkr_sched_config *dst, const vkr_sched_config *src)
{
    *dst = *src;
    dst->trained_betas = NULL;
    if (src->trained_betas) {
        size_t bytes = (size_t)src->num_train_timesteps * sizeof(float);
        dst->trained_betas = malloc(bytes);
        if (!dst->trained_betas)
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        memcpy(dst->trained_betas, src->trained_betas, bytes);
    }
    return VKR_OK;
}

int vkr_sched_config_for_kind(const vkr_sched_config *own, const char *path, vkr_sampler_kind kind,
                              vkr_sched_config *out)
{
    if (kind == own->kind)
        return vkr_sched_config_copy(out, own);
    return vkr_sched_config_load(out, path, (int)kind);
}

/* Python's json module writes float('inf') as Infinity and nan as NaN; cJSON
 * rejects both. Rewrite them outside string literals as numbers strtod turns
 * into +-inf (1e999) and as null. The output is never longer than the input. */
static char *pythonic_json_to_strict(const char *in, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (in_string) {
            out[o++] = ch;
            if (ch == '\\' && i + 1 < len)
                out[o++] = in[++i];
            else if (ch == '"')
                in_string = false;
            continue;
        }
        if (ch == '"') {
            in_string = true;
        } else if (len - i >= 8 && memcmp(in + i, "Infinity", 8) == 0) {
            memcpy(out + o, "1e999", 5), o += 5, i += 7;
            continue;
        } else if (len - i >= 3 && memcmp(in + i, "NaN", 3) == 0) {
            memcpy(out + o, "null", 4), o += 4, i += 2;
            continue;
        }
        out[o++] = ch;
    }
    out[o] = 0;
    return out;
}

typedef struct {
    vkr_sched_config *c;
    const cJSON *item;
    const char *key;
} key_ctx;

static int want_bool(const cJSON *it, const char *key, bool *out)
{
    if (cJSON_IsBool(it))
        *out = cJSON_IsTrue(it);
    else if (cJSON_IsNumber(it))
        *out = it->valuedouble != 0;
    else
        return vkr_fail(VKR_E_DATA, "scheduler config: \"%s\" must be a boolean", key);
    return VKR_OK;
}

static int want_number(const cJSON *it, const char *key, double *out)
{
    if (!cJSON_IsNumber(it))
        return vkr_fail(VKR_E_DATA, "scheduler config: \"%s\" must be a number", key);
    *out = it->valuedouble;
    return VKR_OK;
}

static int want_int(const cJSON *it, const char *key, int lo, int hi, int *out)
{
    double v = 0;
    int rc = want_number(it, key, &v);
    if (rc)
        return rc;
    if (!(v >= lo && v <= hi) || v != floor(v))
        return vkr_fail(VKR_E_DATA, "scheduler config: \"%s\" = %g is not an integer in [%d, %d]", key, v, lo, hi);
    *out = (int)v;
    return VKR_OK;
}

/* Maps a string value to its index in `names` (NULL-terminated). */
static int want_enum(const cJSON *it, const char *key, const char *const *names, int *out)
{
    if (!cJSON_IsString(it))
        return vkr_fail(VKR_E_DATA, "scheduler config: \"%s\" must be a string", key);
    for (int i = 0; names[i]; i++)
        if (strcmp(it->valuestring, names[i]) == 0) {
            *out = i;
            return VKR_OK;
        }
    return vkr_fail(VKR_E_DATA, "scheduler config: \"%s\" = \"%s\" is not supported", key, it->valuestring);
}

static int unsupported(const char *key, const char *what)
{
    return vkr_fail(VKR_E_DATA, "scheduler config: \"%s\" = %s is not supported", key, what);
}

/* Applies one key the class has. Unknown keys were filtered out by the caller. */
static int apply_key(vkr_sched_config *c, const char *key, const cJSON *it)
{
    int rc = VKR_OK, e = 0;
    if (!strcmp(key, "num_train_timesteps"))
        return want_int(it, key, 1, 1 << 20, &c->num_train_timesteps);
    if (!strcmp(key, "beta_start"))
        return want_number(it, key, &c->beta_start);
    if (!strcmp(key, "beta_end"))
        return want_number(it, key, &c->beta_end);
    if (!strcmp(key, "beta_schedule")) {
        static const char *const v[] = {"linear", "scaled_linear", "squaredcos_cap_v2", NULL};
        if (!(rc = want_enum(it, key, v, &e)) && c->beta_schedule != VKR_BETAS_TRAINED)
            c->beta_schedule = (vkr_beta_schedule)e;
        return rc;
    }
    if (!strcmp(key, "trained_betas")) {
        if (!cJSON_IsArray(it))
            return vkr_fail(VKR_E_DATA, "scheduler config: \"trained_betas\" must be a list of numbers");
        int n = cJSON_GetArraySize(it);
        if (n < 1)
            return vkr_fail(VKR_E_DATA, "scheduler config: \"trained_betas\" is empty");
        float *betas = malloc((size_t)n * sizeof *betas);
        if (!betas)
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        int i = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, it)
        {
            if (!cJSON_IsNumber(x)) {
                free(betas);
                return vkr_fail(VKR_E_DATA, "scheduler config: trained_betas[%d] is not a number", i);
            }
            betas[i++] = (float)x->valuedouble; /* torch.tensor(list, dtype=float32) */
        }
        free(c->trained_betas);
        c->trained_betas = betas;
        c->beta_schedule = VKR_BETAS_TRAINED;
        /* diffusers takes len(trained_betas) as the table length; it must equal
         * num_train_timesteps for timesteps and table to line up (checked once all
         * keys are read). */
        return VKR_OK;
    }
    if (!strcmp(key, "prediction_type")) {
        static const char *const v[] = {"epsilon", "v_prediction", "sample", "original_sample", NULL};
        if (!(rc = want_enum(it, key, v, &e)))
            c->prediction_type = e == 3 ? VKR_PRED_SAMPLE : (vkr_prediction_type)e;
        if (!rc && e == 3 && c->kind != VKR_SAMPLER_EULER)
            return unsupported(key, "\"original_sample\" (Euler only)");
        return rc;
    }
    if (!strcmp(key, "timestep_spacing")) {
        static const char *const v[] = {"leading", "linspace", "trailing", NULL};
        if (!(rc = want_enum(it, key, v, &e)))
            c->timestep_spacing = (vkr_timestep_spacing)e;
        return rc;
    }
    if (!strcmp(key, "steps_offset"))
        return want_int(it, key, 0, 1 << 20, &c->steps_offset);
    if (!strcmp(key, "rescale_betas_zero_snr"))
        return want_bool(it, key, &c->rescale_betas_zero_snr);
    if (!strcmp(key, "thresholding")) {
        if (!(rc = want_bool(it, key, &c->thresholding)) && c->thresholding)
            return unsupported(key, "true (dynamic thresholding is for pixel-space models)");
        return rc;
    }
    if (!strcmp(key, "clip_sample"))
        return want_bool(it, key, &c->clip_sample);
    if (!strcmp(key, "clip_sample_range"))
        return want_number(it, key, &c->clip_sample_range);
    if (!strcmp(key, "set_alpha_to_one"))
        return want_bool(it, key, &c->set_alpha_to_one);
    if (!strcmp(key, "interpolation_type")) {
        static const char *const v[] = {"linear", "log_linear", NULL};
        if (!(rc = want_enum(it, key, v, &e)) && e != 0)
            return unsupported(key, "\"log_linear\"");
        return rc;
    }
    if (!strcmp(key, "use_karras_sigmas"))
        return want_bool(it, key, &c->use_karras_sigmas);
    if (!strcmp(key, "sigma_min"))
        return want_number(it, key, &c->sigma_min);
    if (!strcmp(key, "sigma_max"))
        return want_number(it, key, &c->sigma_max);
    if (!strcmp(key, "timestep_type")) {
        static const char *const v[] = {"discrete", "continuous", NULL};
        if (!(rc = want_enum(it, key, v, &e)))
            c->timestep_type_continuous = e == 1;
        return rc;
    }
    if (!strcmp(key, "solver_order"))
        return want_int(it, key, 1, 3, &c->solver_order);
    if (!strcmp(key, "algorithm_type")) {
        /* diffusers maps the retired "deis" to dpmsolver++; the SDE variants need
         * per-step noise and are not offered. */
        static const char *const v[] = {"dpmsolver++", "dpmsolver", "deis", NULL};
        if (!(rc = want_enum(it, key, v, &e)))
            c->algorithm_type = e == 1 ? VKR_DPM_ALGO_DPMSOLVER : VKR_DPM_ALGO_DPMSOLVERPP;
        return rc;
    }
    if (!strcmp(key, "solver_type")) {
        static const char *const v[] = {"midpoint", "heun", "logrho", "bh1", "bh2", NULL};
        if (!(rc = want_enum(it, key, v, &e)))
            c->solver_type = e == 1 ? VKR_DPM_SOLVER_HEUN : VKR_DPM_SOLVER_MIDPOINT;
        return rc;
    }
    if (!strcmp(key, "lower_order_final"))
        return want_bool(it, key, &c->lower_order_final);
    if (!strcmp(key, "euler_at_final"))
        return want_bool(it, key, &c->euler_at_final);
    if (!strcmp(key, "use_lu_lambdas"))
        return want_bool(it, key, &c->use_lu_lambdas);
    if (!strcmp(key, "final_sigmas_type")) {
        static const char *const v[] = {"zero", "sigma_min", NULL};
        if (!(rc = want_enum(it, key, v, &e)))
            c->final_sigmas_type = (vkr_final_sigmas_type)e;
        return rc;
    }
    if (!strcmp(key, "lambda_min_clipped"))
        return want_number(it, key, &c->lambda_min_clipped);
    if (!strcmp(key, "variance_type")) {
        if (cJSON_IsString(it) && (!strcmp(it->valuestring, "learned") || !strcmp(it->valuestring, "learned_range")))
            return unsupported(key, it->valuestring);
        return VKR_OK;
    }
    return VKR_OK;
}

/* Constructor arguments per class at diffusers 0.27.2 that this port reads. */
static const struct { const char *key; unsigned classes; } known_keys[] = {
    {"num_train_timesteps", C_ALL}, {"beta_start", C_ALL}, {"beta_end", C_ALL},
    {"beta_schedule", C_ALL}, {"trained_betas", C_ALL}, {"prediction_type", C_ALL},
    {"timestep_spacing", C_ALL}, {"steps_offset", C_ALL}, {"rescale_betas_zero_snr", C_ALL},
    {"thresholding", C_DDIM | C_DPM},
    {"clip_sample", C_DDIM}, {"clip_sample_range", C_DDIM}, {"set_alpha_to_one", C_DDIM},
    {"interpolation_type", C_EULER}, {"use_karras_sigmas", C_EULER | C_DPM},
    {"sigma_min", C_EULER}, {"sigma_max", C_EULER}, {"timestep_type", C_EULER},
    {"solver_order", C_DPM}, {"algorithm_type", C_DPM}, {"solver_type", C_DPM},
    {"lower_order_final", C_DPM}, {"euler_at_final", C_DPM}, {"use_lu_lambdas", C_DPM},
    {"final_sigmas_type", C_DPM}, {"lambda_min_clipped", C_DPM}, {"variance_type", C_DPM},
};

int vkr_sched_config_parse(vkr_sched_config *c, const char *json, size_t len, int kind)
{
    int rc = VKR_OK;
    cJSON *root = NULL;
    char *strict = pythonic_json_to_strict(json, len);
    if (!strict)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    root = cJSON_Parse(strict);
    free(strict);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return vkr_fail(VKR_E_DATA, "scheduler config: not a JSON object");
    }

    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(root, "_class_name");
    if (kind < 0) {
        kind = VKR_SAMPLER_DDIM;
        if (cJSON_IsString(cls)) {
            int found = -1;
            for (int k = 0; k < VKR_SAMPLER_COUNT; k++)
                if (!strcmp(cls->valuestring, class_names[k]))
                    found = k;
            if (found < 0) {
                rc = vkr_fail(VKR_E_DATA,
                              "scheduler class \"%s\" is not supported; choose a sampler (ddim, euler, dpmpp_2m)",
                              cls->valuestring);
                goto fail;
            }
            kind = found;
        }
    } else if (kind >= VKR_SAMPLER_COUNT) {
        rc = vkr_fail(VKR_E_USAGE, "invalid sampler kind %d", kind);
        goto fail;
    }
    vkr_sched_config_defaults(c, (vkr_sampler_kind)kind);

    /* "trained_betas" must win over "beta_schedule" whatever the key order. */
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < sizeof known_keys / sizeof known_keys[0]; k++) {
            bool is_tb = !strcmp(known_keys[k].key, "trained_betas");
            if ((pass == 0) != is_tb || !(known_keys[k].classes & (1u << kind)))
                continue;
            const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, known_keys[k].key);
            if (!it || cJSON_IsNull(it))
                continue; /* absent or null: the class default */
            if ((rc = apply_key(c, known_keys[k].key, it)))
                goto fail;
        }
    }
    if (c->trained_betas) {
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "trained_betas"));
        if (n != c->num_train_timesteps) {
            rc = vkr_fail(VKR_E_DATA, "scheduler config: %d trained_betas for num_train_timesteps %d", n,
                          c->num_train_timesteps);
            goto fail;
        }
    }
    if (kind == VKR_SAMPLER_DPMPP_2M && c->algorithm_type != VKR_DPM_ALGO_DPMSOLVERPP &&
        c->final_sigmas_type == VKR_FINAL_SIGMA_ZERO) {
        rc = vkr_fail(VKR_E_DATA, "scheduler config: final_sigmas_type \"zero\" needs algorithm_type dpmsolver++");
        goto fail;
    }
    if (!(c->beta_start >= 0 && c->beta_end >= 0 && c->beta_start < 1 && c->beta_end < 1)) {
        rc = vkr_fail(VKR_E_DATA, "scheduler config: betas %g..%g outside [0, 1)", c->beta_start, c->beta_end);
        goto fail;
    }
    cJSON_Delete(root);
    return VKR_OK;
fail:
    cJSON_Delete(root);
    vkr_sched_config_free(c);
    return rc;
}

int vkr_sched_config_load(vkr_sched_config *c, const char *path, int kind)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    int rc;
    if (!f)
        return vkr_fail(VKR_E_NOINPUT, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) || ftell(f) < 0 || ftell(f) > (1L << 26)) {
        fclose(f);
        return vkr_fail(VKR_E_DATA, "%s: cannot read (or larger than 64 MiB)", path);
    }
    long n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(buf);
        return vkr_fail(VKR_E_DATA, "%s: short read", path);
    }
    rc = vkr_sched_config_parse(c, buf, (size_t)n, kind);
    free(buf);
    if (rc)
        return vkr_fail_context(rc, "%s", path);
    return VKR_OK;
}

/* torch 1.13 CPU linspace kernel for float32 (RangeFactoriesKernel.cpp), as
 * built with AVX2: step = (end - start) / (n - 1) in float; the scalar lambda
 * start + step*i (first half) / end - step*(n-1-i) (second half), which the
 * compiler contracts to one fma; the vector lambda fills 8 lanes as
 * base + k*step (two roundings) from a base given by the scalar lambda, two
 * vectors per iteration, and the leftover n % 16 elements come from the scalar
 * lambda. Checked bit for bit against torch for n in {5, 17, 100, 999, 1000, 1234}. */
void vkr_torch_linspace_f32(double start_d, double end_d, int n, float *out)
{
    if (n <= 0)
        return;
    if (n == 1) {
        out[0] = (float)start_d;
        return;
    }
    const float start = (float)start_d, end = (float)end_d;
    const float step = (end - start) / (float)(n - 1);
    const int halfway = n / 2;
    const int W = 8;
    int i = 0;
#define SCALAR_AT(idx) ((idx) < halfway ? fmaf(step, (float)(idx), start) : fmaf(-step, (float)(n - (idx)-1), end))
    for (; i + 2 * W <= n; i += W) {
        float base = SCALAR_AT(i);
        for (int k = 0; k < W; k++) {
            float prod = (float)k * step;
            out[i + k] = base + prod;
        }
    }
    for (; i < n; i++)
        out[i] = SCALAR_AT(i);
#undef SCALAR_AT
}

/* torch.cumprod on CPU accumulates float32 inputs in double (acc_type) and
 * stores every partial product as float32. */
static void cumprod_f32(const float *x, float *out, int n)
{
    double acc = 1.0;
    for (int i = 0; i < n; i++) {
        acc *= (double)x[i];
        out[i] = (float)acc;
    }
}

/* diffusers betas_for_alpha_bar(n, max_beta=0.999, "cosine"): Python doubles,
 * then torch.tensor(float32). */
static void betas_squaredcos(int n, float *betas)
{
    for (int i = 0; i < n; i++) {
        double t1 = (double)i / n, t2 = (double)(i + 1) / n;
        double a1 = cos((t1 + 0.008) / 1.008 * M_PI / 2), a2 = cos((t2 + 0.008) / 1.008 * M_PI / 2);
        double b = 1 - (a2 * a2) / (a1 * a1);
        betas[i] = (float)(b < 0.999 ? b : 0.999);
    }
}

/* diffusers rescale_zero_terminal_snr (arXiv 2305.08891, Algorithm 1), float32. */
static int rescale_zero_terminal_snr(float *betas, int n)
{
    if (n < 2)
        return vkr_fail(VKR_E_DATA, "rescale_betas_zero_snr needs at least 2 training timesteps");
    float *ab = calloc((size_t)n, sizeof *ab);
    if (!ab)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    for (int i = 0; i < n; i++)
        ab[i] = 1.0f - betas[i];
    cumprod_f32(ab, ab, n);
    for (int i = 0; i < n; i++)
        ab[i] = sqrtf(ab[i]);
    const float s0 = ab[0], sT = ab[n - 1];
    const float scale = s0 / (s0 - sT);
    for (int i = 0; i < n; i++) {
        float v = (ab[i] - sT) * scale;
        ab[i] = v * v; /* alphas_bar */
    }
    betas[0] = 1.0f - ab[0];
    for (int i = 1; i < n; i++)
        betas[i] = 1.0f - ab[i] / ab[i - 1];
    free(ab);
    return VKR_OK;
}

int vkr_sched_alphas_cumprod(const vkr_sched_config *c, float *betas, float *alphas_cumprod)
{
    const int n = c->num_train_timesteps;
    switch (c->beta_schedule) {
    case VKR_BETAS_TRAINED:
        memcpy(betas, c->trained_betas, (size_t)n * sizeof *betas);
        break;
    case VKR_BETAS_LINEAR:
        vkr_torch_linspace_f32(c->beta_start, c->beta_end, n, betas);
        break;
    case VKR_BETAS_SCALED_LINEAR:
        /* torch.linspace(beta_start**0.5, beta_end**0.5, n, float32) ** 2: the square
         * roots are Python doubles; pow(x, 2) is x*x in float32. */
        vkr_torch_linspace_f32(sqrt(c->beta_start), sqrt(c->beta_end), n, betas);
        for (int i = 0; i < n; i++)
            betas[i] = betas[i] * betas[i];
        break;
    case VKR_BETAS_SQUAREDCOS_CAP_V2:
        betas_squaredcos(n, betas);
        break;
    default:
        return vkr_fail(VKR_E_INTERNAL, "beta schedule %d", (int)c->beta_schedule);
    }
    if (c->rescale_betas_zero_snr) {
        int rc = rescale_zero_terminal_snr(betas, n);
        if (rc)
            return rc;
    }
    for (int i = 0; i < n; i++)
        alphas_cumprod[i] = 1.0f - betas[i];
    cumprod_f32(alphas_cumprod, alphas_cumprod, n);
    /* Euler and DPM-Solver keep the first sigma finite (fp16's smallest subnormal). */
    if (c->rescale_betas_zero_snr && c->kind != VKR_SAMPLER_DDIM)
        alphas_cumprod[n - 1] = 0x1p-24f;
    return VKR_OK;
}
