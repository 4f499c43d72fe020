/* vkreel golden CASE_DIR...: run golden cases (tests/golden/README.md format)
 * and compare every output with its tolerance; see pipeline/golden.h. */
#include "commands.h"

#include "common/status.h"
#include "pipeline/golden.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: vkreel golden [--json] [--verbose] [--device SPEC] CASE_DIR...\n"
           "       vkreel golden --list\n\n"
           "Runs each golden case directory (config.json, weights.safetensors, io.safetensors,\n"
           "case.json; or a tokenizer's expected.json) through its component and compares every\n"
           "expected out.* tensor: shape (exact), max abs error and relative L2 error against\n"
           "case.json's tolerance.recommended_max_abs / recommended_rel_l2; integer outputs\n"
           "(token ids, masks, timesteps) must match exactly; NaN/Inf always fails.\n\n"
           "Options:\n"
           "  --json         machine-readable output (one JSON document for all cases)\n"
           "  --verbose      also print the worst element of each output\n"
           "  --device SPEC  Vulkan device for model cases (index, UUID or name substring)\n"
           "  --list         list the runners and whether this build implements them\n\n"
           "Exit status: 0 every case passes; otherwise the code of the first case that did\n"
           "not: 65 out of tolerance or malformed case, 66 missing case or file, 70 component\n"
           "not implemented in this build; 64 usage.\n");
}

static void fmt_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", d ? "," : "", (long long)shape[d]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

/* Flat index -> "[i,j,k]" for the given shape. */
static void fmt_index(char *buf, size_t size, int ndim, const int64_t *shape, int64_t flat)
{
    int64_t idx[VKR_MAX_DIMS];
    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = shape[d] ? flat % shape[d] : 0;
        flat = shape[d] ? flat / shape[d] : 0;
    }
    fmt_shape(buf, size, ndim, idx);
}

static void print_line(const vkr_golden_report *rep, const vkr_golden_line *l, int verbose)
{
    char shape[160], ref_shape[160];
    fmt_shape(shape, sizeof shape, l->ndim, l->shape);
    fmt_shape(ref_shape, sizeof ref_shape, l->ref_ndim, l->ref_shape);
    printf("%s %s ", rep->case_name, l->name);
    if (!l->produced) {
        printf("shape=%s not produced FAIL\n", ref_shape);
        return;
    }
    if (!l->cmp.shape_ok) {
        printf("shape=%s expected %s FAIL (shape mismatch)\n", shape, ref_shape);
        return;
    }
    printf("shape=%s ", shape);
    if (l->tol.exact)
        printf("max_abs=%.3g (tol exact) rel_l2=%.3g (tol exact)", l->cmp.max_abs, l->cmp.rel_l2);
    else
        printf("max_abs=%.3e (tol %.1g) rel_l2=%.3e (tol %.1g)", l->cmp.max_abs, l->tol.max_abs, l->cmp.rel_l2,
               l->tol.rel_l2);
    printf(" %s", l->pass ? "OK" : "FAIL");
    if (!l->cmp.dtype_ok)
        printf(" (dtype %s, expected %s)", l->dtype == VKR_GOLDEN_I64 ? "I64" : "F32",
               l->ref_dtype == VKR_GOLDEN_I64 ? "I64" : "F32");
    if (l->cmp.n_nonfinite)
        printf(" (%lld NaN/Inf)", (long long)l->cmp.n_nonfinite);
    if (l->cmp.n_ref_nonfinite)
        printf(" (%lld NaN/Inf in the reference)", (long long)l->cmp.n_ref_nonfinite);
    if (l->tol.exact && l->cmp.n_mismatch)
        printf(" (%lld of %lld differ)", (long long)l->cmp.n_mismatch, (long long)l->cmp.numel);
    printf("\n");
    if (verbose && l->cmp.worst_index >= 0 && (l->cmp.n_mismatch || !l->tol.exact)) {
        char at[160];
        fmt_index(at, sizeof at, l->ndim, l->shape, l->cmp.worst_index);
        printf("  worst at %s (flat %lld): got %.9g expected %.9g; %lld of %lld elements differ\n", at,
               (long long)l->cmp.worst_index, l->cmp.worst_got, l->cmp.worst_ref, (long long)l->cmp.n_mismatch,
               (long long)l->cmp.numel);
    }
}

static void print_text(const vkr_golden_report *rep, int verbose)
{
    if (verbose)
        printf("%s: %s, runner %s%s%s\n", rep->case_name, rep->dir, rep->runner[0] ? rep->runner : "?",
               rep->note[0] ? ", " : "", rep->note);
    for (int i = 0; i < rep->n_lines; i++)
        print_line(rep, &rep->lines[i], verbose);
    if (rep->status == VKR_OK)
        printf("%s: PASS\n", rep->case_name);
    else if (rep->n_lines && rep->status == VKR_E_DATA && strcmp(rep->error, "outputs out of tolerance") == 0)
        printf("%s: FAIL\n", rep->case_name);
    else
        printf("%s: FAIL (%s: %s)\n", rep->case_name, vkr_status_name(rep->status), rep->error);
    fflush(stdout);
}

static cJSON *shape_json(int ndim, const int64_t *shape)
{
    cJSON *a = cJSON_CreateArray();
    for (int d = 0; d < ndim; d++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)shape[d]));
    return a;
}

/* JSON has no Inf/NaN: non-finite errors are written as null. */
static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static cJSON *report_json(const vkr_golden_report *rep)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "case", rep->case_name);
    cJSON_AddStringToObject(o, "dir", rep->dir);
    cJSON_AddStringToObject(o, "runner", rep->runner);
    cJSON_AddBoolToObject(o, "pass", rep->status == VKR_OK);
    cJSON_AddNumberToObject(o, "status", rep->status);
    if (rep->status)
        cJSON_AddStringToObject(o, "error", rep->error);
    if (rep->note[0])
        cJSON_AddStringToObject(o, "note", rep->note);
    cJSON *outs = cJSON_AddArrayToObject(o, "outputs");
    for (int i = 0; i < rep->n_lines; i++) {
        const vkr_golden_line *l = &rep->lines[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", l->name);
        cJSON_AddBoolToObject(e, "produced", l->produced);
        if (l->produced)
            cJSON_AddItemToObject(e, "shape", shape_json(l->ndim, l->shape));
        cJSON_AddItemToObject(e, "expected_shape", shape_json(l->ref_ndim, l->ref_shape));
        cJSON_AddStringToObject(e, "dtype", l->ref_dtype == VKR_GOLDEN_I64 ? "I64" : "F32");
        cJSON_AddBoolToObject(e, "exact", l->tol.exact);
        if (!l->tol.exact) {
            cJSON_AddNumberToObject(e, "tol_max_abs", l->tol.max_abs);
            cJSON_AddNumberToObject(e, "tol_rel_l2", l->tol.rel_l2);
        }
        if (l->produced) {
            cJSON_AddBoolToObject(e, "shape_ok", l->cmp.shape_ok);
            cJSON_AddBoolToObject(e, "dtype_ok", l->cmp.dtype_ok);
            add_num(e, "max_abs", l->cmp.max_abs);
            add_num(e, "rel_l2", l->cmp.rel_l2);
            cJSON_AddNumberToObject(e, "worst_index", (double)l->cmp.worst_index);
            if (l->cmp.worst_index >= 0) {
                add_num(e, "worst_got", l->cmp.worst_got);
                add_num(e, "worst_expected", l->cmp.worst_ref);
            }
            cJSON_AddNumberToObject(e, "n_mismatch", (double)l->cmp.n_mismatch);
            cJSON_AddNumberToObject(e, "n_nonfinite", (double)l->cmp.n_nonfinite);
        }
        cJSON_AddBoolToObject(e, "pass", l->pass);
        cJSON_AddItemToArray(outs, e);
    }
    return o;
}

static int list_runners(void)
{
    int n;
    const vkr_golden_runner *r = vkr_golden_runners(&n);
    for (int i = 0; i < n; i++)
        printf("%-20s %-16s %s\n", r[i].name, r[i].run ? "implemented" : "not implemented", r[i].summary);
    return VKR_OK;
}

int cmd_golden(int argc, char **argv)
{
    int json = 0, verbose = 0, list = 0, n_dirs = 0;
    const char *device = NULL;
    char **dirs = calloc((size_t)argc, sizeof *dirs);
    if (!dirs)
        return VKR_E_INTERNAL;
    if (cli_wants_help(argc, argv)) {
        usage();
        free(dirs);
        return VKR_OK;
    }
    int opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && strcmp(a, "--") == 0)
            opts_done = 1;
        else if (!opts_done && strcmp(a, "--json") == 0)
            json = 1;
        else if (!opts_done && (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0))
            verbose = 1;
        else if (!opts_done && strcmp(a, "--list") == 0)
            list = 1;
        else if (!opts_done && strcmp(a, "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (!opts_done && strncmp(a, "--device=", 9) == 0)
            device = a + 9;
        else if (!opts_done && a[0] == '-' && a[1]) {
            free(dirs);
            return cli_usage("golden", "unknown option '%s'", a);
        } else
            dirs[n_dirs++] = argv[i];
    }
    if (list) {
        free(dirs);
        return list_runners();
    }
    if (n_dirs == 0) {
        free(dirs);
        return cli_usage("golden", "no case directory given");
    }

    int exit_code = VKR_OK, n_pass = 0;
    cJSON *all = json ? cJSON_CreateArray() : NULL;
    for (int i = 0; i < n_dirs; i++) {
        vkr_golden_report rep;
        int rc = vkr_golden_run(dirs[i], device, &rep);
        if (json)
            cJSON_AddItemToArray(all, report_json(&rep));
        else
            print_text(&rep, verbose);
        if (rc == VKR_OK)
            n_pass++;
        else if (exit_code == VKR_OK)
            exit_code = rc;
        vkr_golden_report_free(&rep);
    }
    if (json) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddBoolToObject(doc, "pass", exit_code == VKR_OK);
        cJSON_AddNumberToObject(doc, "passed", n_pass);
        cJSON_AddNumberToObject(doc, "total", n_dirs);
        cJSON_AddItemToObject(doc, "cases", all);
        char *s = cJSON_Print(doc);
        if (s)
            printf("%s\n", s);
        free(s);
        cJSON_Delete(doc);
    } else if (n_dirs > 1) {
        printf("golden: %d of %d cases pass\n", n_pass, n_dirs);
    }
    free(dirs);
    return exit_code;
}
