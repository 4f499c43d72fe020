/* Golden-case runner: case identity, expected outputs, tolerances, comparison
 * (see golden.h). The runners themselves are in golden_runners.c and below. */
#include "pipeline/golden.h"

#include "common/atomic_file.h"
#include "common/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* case.json / expected.json are small; the largest expected.json is ~0.3 MB. */
#define GOLDEN_JSON_MAX ((size_t)64 << 20)

/* ---- tensors ---- */

static int add_tensor(vkr_golden_tensors *ts, const char *name, vkr_golden_dtype dt, int ndim, const int64_t *shape,
                      void *data)
{
    if (!data)
        return vkr_fail(VKR_E_INTERNAL, "%s: out of memory", name);
    if (ndim < 0 || ndim > VKR_MAX_DIMS || strlen(name) >= VKR_GOLDEN_NAME_MAX) {
        free(data);
        return vkr_fail(VKR_E_INTERNAL, "%s: bad tensor (ndim %d)", name, ndim);
    }
    if (ts->n == ts->cap) {
        int cap = ts->cap ? 2 * ts->cap : 16;
        vkr_golden_tensor *v = realloc(ts->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(data);
            return vkr_fail(VKR_E_INTERNAL, "out of memory");
        }
        ts->v = v, ts->cap = cap;
    }
    vkr_golden_tensor *t = &ts->v[ts->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dt;
    t->ndim = ndim;
    t->numel = 1;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d], t->numel *= shape[d];
    if (dt == VKR_GOLDEN_F32)
        t->f32 = data;
    else
        t->i64 = data;
    return 0;
}

int vkr_golden_add_f32(vkr_golden_tensors *ts, const char *name, int ndim, const int64_t *shape, float *data)
{
    return add_tensor(ts, name, VKR_GOLDEN_F32, ndim, shape, data);
}

int vkr_golden_add_i64(vkr_golden_tensors *ts, const char *name, int ndim, const int64_t *shape, int64_t *data)
{
    return add_tensor(ts, name, VKR_GOLDEN_I64, ndim, shape, data);
}

vkr_golden_tensor *vkr_golden_find(const vkr_golden_tensors *ts, const char *name)
{
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->v[i].name, name) == 0)
            return &ts->v[i];
    return NULL;
}

void vkr_golden_tensors_free(vkr_golden_tensors *ts)
{
    for (int i = 0; i < ts->n; i++)
        free(ts->v[i].f32), free(ts->v[i].i64);
    free(ts->v);
    memset(ts, 0, sizeof *ts);
}

static int is_integer_dtype(vkr_dtype d)
{
    return d == VKR_I64 || d == VKR_I32 || d == VKR_I16 || d == VKR_I8 || d == VKR_U8 || d == VKR_BOOL;
}

int vkr_golden_load_st(const vkr_safetensors *st, const char *name, vkr_golden_tensor *out)
{
    memset(out, 0, sizeof *out);
    const vkr_st_tensor *t = vkr_st_find(st, name);
    if (!t)
        return vkr_fail(VKR_E_DATA, "no tensor %s", name);
    if (strlen(name) >= VKR_GOLDEN_NAME_MAX)
        return vkr_fail(VKR_E_DATA, "tensor name too long: %.60s...", name);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->ndim = t->ndim;
    out->numel = t->numel;
    memcpy(out->shape, t->shape, sizeof out->shape);
    size_t n = (size_t)(t->numel ? t->numel : 1);
    int rc;
    if (is_integer_dtype(t->dtype)) {
        out->dtype = VKR_GOLDEN_I64;
        out->i64 = malloc(n * sizeof *out->i64);
        rc = out->i64 ? vkr_st_to_i64(t, out->i64) : vkr_fail(VKR_E_INTERNAL, "out of memory");
    } else {
        out->dtype = VKR_GOLDEN_F32;
        out->f32 = malloc(n * sizeof *out->f32);
        rc = out->f32 ? vkr_st_to_f32(t, out->f32) : vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    if (rc) {
        free(out->f32), free(out->i64);
        out->f32 = NULL, out->i64 = NULL;
        return vkr_fail_context(rc, "%s", name);
    }
    return 0;
}

/* ---- comparison ---- */

static double value_at(const vkr_golden_tensor *t, int64_t k)
{
    return t->dtype == VKR_GOLDEN_F32 ? (double)t->f32[k] : (double)t->i64[k];
}

void vkr_golden_compare(const vkr_golden_tensor *got, const vkr_golden_tensor *ref, const vkr_golden_tol *tol,
                        vkr_golden_cmp *out)
{
    memset(out, 0, sizeof *out);
    out->worst_index = -1;
    out->dtype_ok = got->dtype == ref->dtype;
    out->shape_ok = got->ndim == ref->ndim && got->numel == ref->numel;
    for (int d = 0; out->shape_ok && d < got->ndim; d++)
        out->shape_ok = got->shape[d] == ref->shape[d];
    if (!out->shape_ok) {
        out->max_abs = out->rel_l2 = INFINITY;
        return;
    }
    out->numel = ref->numel;
    const int both_int = got->dtype == VKR_GOLDEN_I64 && ref->dtype == VKR_GOLDEN_I64;
    double sum_err = 0, sum_ref = 0;
    for (int64_t k = 0; k < ref->numel; k++) {
        const double g = value_at(got, k), r = value_at(ref, k);
        if (!isfinite(r))
            out->n_ref_nonfinite++;
        if (both_int ? got->i64[k] != ref->i64[k] : !(g == r))
            out->n_mismatch++;
        if (!isfinite(g)) {
            /* the first non-finite element is the worst one */
            if (out->n_nonfinite++ == 0)
                out->max_abs = INFINITY, out->worst_index = k, out->worst_got = g, out->worst_ref = r;
            continue;
        }
        const double d = fabs(g - r);
        if (isfinite(r)) {
            sum_err += d * d;
            sum_ref += r * r;
        }
        if (d > out->max_abs || out->worst_index < 0)
            out->max_abs = d, out->worst_index = k, out->worst_got = g, out->worst_ref = r;
    }
    if (out->n_nonfinite || out->n_ref_nonfinite)
        out->rel_l2 = INFINITY;
    else
        out->rel_l2 = sum_ref > 0 ? sqrt(sum_err / sum_ref) : sqrt(sum_err);
    if (out->n_ref_nonfinite)
        out->max_abs = INFINITY;
    int ok = out->dtype_ok && out->n_nonfinite == 0 && out->n_ref_nonfinite == 0;
    if (tol->exact)
        ok = ok && out->n_mismatch == 0;
    else
        ok = ok && out->max_abs <= tol->max_abs && out->rel_l2 <= tol->rel_l2;
    out->pass = ok;
}

/* ---- cases ---- */

static cJSON *read_json(const char *path, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    *rc = vkr_read_file(path, GOLDEN_JSON_MAX, &text, &len);
    if (*rc)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        *rc = vkr_fail(VKR_E_DATA, "%s: not a JSON object", path);
        return NULL;
    }
    return j;
}

static int file_exists(const char *dir, const char *name)
{
    char p[4200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The last path component, without trailing slashes. */
static void base_name(const char *dir, char *out, size_t size)
{
    size_t e = strlen(dir);
    while (e > 1 && dir[e - 1] == '/')
        e--;
    size_t b = e;
    while (b > 0 && dir[b - 1] != '/')
        b--;
    snprintf(out, size, "%.*s", (int)(e - b), dir + b);
}

/* The registry key of a case with case.json: "schedulers/<variant>" -> one
 * runner for every variant; else the case name, the directory name, or for a
 * renamed pipeline case its diffusers pipeline class. The name itself when none
 * matches (reported as "no runner"). */
static void choose_runner(vkr_golden_case *c)
{
    static const struct {
        const char *cls, *runner;
    } pipelines[] = {{"diffusers.TextToVideoSDPipeline", "pipeline_t2v"},
                     {"diffusers.AudioLDMPipeline", "pipeline_audioldm"}};
    char base[256];
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(c->json, "pipeline_class");
    base_name(c->dir, base, sizeof base);
    snprintf(c->runner, sizeof c->runner, "%s", c->name);
    if (strncmp(c->name, "schedulers/", 11) == 0)
        snprintf(c->runner, sizeof c->runner, "schedulers");
    else if (vkr_golden_find_runner(c->name))
        return;
    else if (vkr_golden_find_runner(base))
        snprintf(c->runner, sizeof c->runner, "%s", base);
    else if (cJSON_IsString(cls))
        for (size_t i = 0; i < sizeof pipelines / sizeof pipelines[0]; i++)
            if (strcmp(cls->valuestring, pipelines[i].cls) == 0)
                snprintf(c->runner, sizeof c->runner, "%s", pipelines[i].runner);
}

int vkr_golden_case_open(vkr_golden_case *c, const char *dir)
{
    char path[4200];
    struct stat sb;
    int rc = 0;
    memset(c, 0, sizeof *c);
    if (strlen(dir) >= sizeof c->dir)
        return vkr_fail(VKR_E_USAGE, "case directory name too long");
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return vkr_fail(VKR_E_NOINPUT, "%s: no such case directory", dir);

    if (file_exists(dir, "case.json")) {
        snprintf(path, sizeof path, "%s/case.json", dir);
        c->json = read_json(path, &rc);
        if (!c->json)
            return rc;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c->json, "case");
        if (cJSON_IsString(name) && name->valuestring[0])
            snprintf(c->name, sizeof c->name, "%s", name->valuestring);
        else
            base_name(dir, c->name, sizeof c->name);
        choose_runner(c);
        snprintf(path, sizeof path, "%s/io.safetensors", dir);
        rc = vkr_st_open(&c->io, path);
        if (rc)
            goto fail;
        c->has_io = 1;
        return 0;
    }
    if (file_exists(dir, "expected.json")) {
        snprintf(path, sizeof path, "%s/expected.json", dir);
        c->expected = read_json(path, &rc);
        if (!c->expected)
            return rc;
        base_name(dir, c->name, sizeof c->name);
        if (strncmp(c->name, "tokenizer_", 10) == 0 && vkr_golden_find_runner(c->name))
            snprintf(c->runner, sizeof c->runner, "%s", c->name);
        else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c->expected, "vocab_file")))
            snprintf(c->runner, sizeof c->runner, "tokenizer_clip"); /* one OpenAI BPE file */
        else if (file_exists(dir, "vocab.json") && file_exists(dir, "merges.txt"))
            snprintf(c->runner, sizeof c->runner, "tokenizer_roberta");
        else {
            rc = vkr_fail(VKR_E_DATA, "%s: expected.json of an unknown tokenizer", dir);
            goto fail;
        }
        return 0;
    }
    return vkr_fail(VKR_E_NOINPUT, "%s: no case.json or expected.json", dir);
fail:
    vkr_golden_case_close(c);
    return rc;
}

void vkr_golden_case_close(vkr_golden_case *c)
{
    cJSON_Delete(c->json);
    cJSON_Delete(c->expected);
    if (c->has_io)
        vkr_st_close(&c->io);
    c->json = c->expected = NULL;
    c->has_io = 0;
}

static int tol_value(const cJSON *j, const char *key, double *v)
{
    if (cJSON_IsObject(j))
        j = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= 0))
        return -1;
    *v = j->valuedouble;
    return 0;
}

int vkr_golden_case_tol(const vkr_golden_case *c, const char *name, vkr_golden_tol *tol)
{
    const char *key = strncmp(name, "out.", 4) == 0 ? name + 4 : name;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(c->json, "tolerance");
    memset(tol, 0, sizeof *tol);
    if (tol_value(cJSON_GetObjectItemCaseSensitive(t, "recommended_max_abs"), key, &tol->max_abs) ||
        tol_value(cJSON_GetObjectItemCaseSensitive(t, "recommended_rel_l2"), key, &tol->rel_l2))
        return vkr_fail(VKR_E_DATA, "case.json states no tolerance.recommended_max_abs / recommended_rel_l2 for %s",
                        name);
    tol->exact = tol->max_abs == 0 && tol->rel_l2 == 0;
    return 0;
}

/* ---- running ---- */

static void report_error(vkr_golden_report *rep, int code)
{
    rep->status = code;
    snprintf(rep->error, sizeof rep->error, "%s", vkr_last_error()[0] ? vkr_last_error() : vkr_status_name(code));
}

/* The expected tensors: the runner's (tokenizers), else io.safetensors' out.*. */
static int expected_outputs(const vkr_golden_case *c, vkr_golden_result *r, vkr_golden_tensors *want)
{
    if (r->want.n) {
        *want = r->want;
        memset(&r->want, 0, sizeof r->want);
        return 0;
    }
    for (int i = 0; c->has_io && i < c->io.n_tensors; i++) {
        const char *name = c->io.tensors[i].name;
        if (strncmp(name, "out.", 4) != 0)
            continue;
        vkr_golden_tensor t;
        int rc = vkr_golden_load_st(&c->io, name, &t);
        if (rc)
            return rc;
        rc = t.dtype == VKR_GOLDEN_F32 ? vkr_golden_add_f32(want, name, t.ndim, t.shape, t.f32)
                                       : vkr_golden_add_i64(want, name, t.ndim, t.shape, t.i64);
        if (rc)
            return rc;
    }
    if (!want->n)
        return vkr_fail(VKR_E_DATA, "%s: the case has no expected out.* outputs", c->dir);
    return 0;
}

int vkr_golden_run(const char *dir, const char *device, vkr_golden_report *rep)
{
    vkr_golden_case c;
    vkr_golden_result r;
    vkr_golden_tensors want = {0};
    memset(rep, 0, sizeof *rep);
    memset(&r, 0, sizeof r);
    snprintf(rep->dir, sizeof rep->dir, "%s", dir);
    base_name(dir, rep->case_name, sizeof rep->case_name);
    vkr_clear_error();

    int rc = vkr_golden_case_open(&c, dir);
    if (rc) {
        report_error(rep, rc);
        return rep->status;
    }
    c.device = device;
    snprintf(rep->case_name, sizeof rep->case_name, "%s", c.name);
    snprintf(rep->runner, sizeof rep->runner, "%s", c.runner);

    const vkr_golden_runner *runner = vkr_golden_find_runner(c.runner);
    if (!runner) {
        rc = vkr_fail(VKR_E_DATA, "no runner for case \"%s\" (see vkreel golden --list)", c.name);
        goto fail;
    }
    if (!runner->run) {
        rc = vkr_fail(VKR_E_INTERNAL, "component %s is not implemented in this build", runner->name);
        goto fail;
    }
    rc = runner->run(&c, &r);
    if (rc) {
        vkr_fail_context(rc, "%s", runner->name);
        goto fail;
    }
    snprintf(rep->note, sizeof rep->note, "%s", r.note);
    rc = expected_outputs(&c, &r, &want);
    if (rc)
        goto fail;

    rep->lines = calloc((size_t)want.n, sizeof *rep->lines);
    if (!rep->lines) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    int all_pass = 1;
    for (int i = 0; i < want.n; i++) {
        const vkr_golden_tensor *ref = &want.v[i];
        const vkr_golden_tensor *got = vkr_golden_find(&r.got, ref->name);
        vkr_golden_tol tol = {0};
        if (got && got->has_tol)
            tol = got->tol;
        else if (ref->has_tol)
            tol = ref->tol;
        else if (ref->dtype == VKR_GOLDEN_I64)
            tol.exact = 1; /* token ids, masks, integer timesteps */
        else if ((rc = vkr_golden_case_tol(&c, ref->name, &tol)))
            goto fail; /* a malformed case: no line for it */
        vkr_golden_line *l = &rep->lines[rep->n_lines++];
        snprintf(l->name, sizeof l->name, "%s", ref->name);
        l->ref_ndim = ref->ndim;
        memcpy(l->ref_shape, ref->shape, sizeof l->ref_shape);
        l->ref_dtype = ref->dtype;
        l->tol = tol;
        if (!got) {
            l->produced = 0;
            l->pass = 0;
            all_pass = 0;
            continue;
        }
        l->produced = 1;
        l->ndim = got->ndim;
        memcpy(l->shape, got->shape, sizeof l->shape);
        l->dtype = got->dtype;
        vkr_golden_compare(got, ref, &l->tol, &l->cmp);
        l->pass = l->cmp.pass;
        all_pass &= l->pass;
    }
    rep->status = all_pass ? VKR_OK : VKR_E_DATA;
    if (!all_pass)
        snprintf(rep->error, sizeof rep->error, "outputs out of tolerance");
    vkr_golden_tensors_free(&want);
    vkr_golden_tensors_free(&r.got);
    vkr_golden_tensors_free(&r.want);
    vkr_golden_case_close(&c);
    return rep->status;
fail:
    report_error(rep, rc);
    vkr_golden_tensors_free(&want);
    vkr_golden_tensors_free(&r.got);
    vkr_golden_tensors_free(&r.want);
    vkr_golden_case_close(&c);
    return rep->status;
}

void vkr_golden_report_free(vkr_golden_report *rep)
{
    free(rep->lines);
    rep->lines = NULL;
    rep->n_lines = 0;
}
