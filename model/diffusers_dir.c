/* Hugging Face model directory layout (diffusers_dir.h). */
#include "diffusers_dir.h"

#include "common/status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* JSON side files are small; the cap keeps a wrong path (a weight file
 * passed as a config) from being slurped. */
#define MAX_JSON_BYTES (64l << 20)

static int join(char *buf, size_t cap, const char *a, const char *b)
{
    if (snprintf(buf, cap, "%s/%s", a, b) >= (int)cap)
        return vkr_fail(VKR_E_USAGE, "path too long: %s/%s", a, b);
    return VKR_OK;
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Reads and parses a JSON object file. */
static int load_json(const char *path, cJSON **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vkr_fail(VKR_E_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    char *text = NULL;
    int rc;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || n > MAX_JSON_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        rc = vkr_fail(VKR_E_DATA, "%s: not a readable JSON file (size %ld)", path, n);
        goto fail;
    }
    text = malloc((size_t)n + 1);
    if (!text) {
        rc = vkr_fail(VKR_E_INTERNAL, "%s: out of memory", path);
        goto fail;
    }
    if (fread(text, 1, (size_t)n, f) != (size_t)n) {
        rc = vkr_fail(VKR_E_NOINPUT, "%s: read error", path);
        goto fail;
    }
    text[n] = 0;
    cJSON *root = cJSON_ParseWithLength(text, (size_t)n);
    if (!root) {
        rc = vkr_fail(VKR_E_DATA, "%s: invalid JSON", path);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        rc = vkr_fail(VKR_E_DATA, "%s: top level is not a JSON object", path);
        goto fail;
    }
    *out = root;
    rc = VKR_OK;
fail:
    free(text);
    fclose(f);
    return rc;
}

/* ---- model_index.json ---- */

static char *dup_or_null(const cJSON *j) { return cJSON_IsString(j) ? strdup(j->valuestring) : NULL; }

int vkr_model_index_load(vkr_model_index *mi, const char *model_dir)
{
    memset(mi, 0, sizeof *mi);
    char path[PATH_MAX];
    int rc;
    cJSON *root = NULL;
    if (!is_dir(model_dir))
        return vkr_fail(VKR_E_NOINPUT, "%s: model directory not found", model_dir);
    if ((rc = join(path, sizeof path, model_dir, "model_index.json")))
        return rc;
    if (!is_file(path))
        return vkr_fail(VKR_E_NOINPUT,
                        "%s: no model_index.json (expected a diffusers pipeline directory)",
                        model_dir);
    if ((rc = load_json(path, &root)))
        return rc;
    mi->dir = strdup(model_dir);
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(root, "_class_name");
    if (!cJSON_IsString(cls)) {
        rc = vkr_fail(VKR_E_DATA, "%s: \"_class_name\" missing or not a string", path);
        goto fail;
    }
    mi->class_name = strdup(cls->valuestring);
    int n = cJSON_GetArraySize(root);
    mi->components = calloc((size_t)n + 1, sizeof *mi->components);
    if (!mi->dir || !mi->class_name || !mi->components) {
        rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
        goto fail;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        if (e->string[0] == '_') /* _class_name, _diffusers_version, _name_or_path */
            continue;
        /* Component entries are [library, class]; other keys (e.g. a pipeline's
         * "requires_safety_checker": true) are settings, not components. */
        if (!cJSON_IsArray(e))
            continue;
        const cJSON *lib = cJSON_GetArrayItem(e, 0), *klass = cJSON_GetArrayItem(e, 1);
        if (cJSON_GetArraySize(e) != 2 || !(cJSON_IsString(lib) || cJSON_IsNull(lib)) ||
            !(cJSON_IsString(klass) || cJSON_IsNull(klass))) {
            rc = vkr_fail(VKR_E_DATA,
                          "%s: component \"%s\" must be [library, class] (two strings or nulls)",
                          path, e->string);
            goto fail;
        }
        vkr_component *c = &mi->components[mi->n_components++];
        c->name = strdup(e->string);
        c->library = dup_or_null(lib);
        c->class_name = dup_or_null(klass);
        if (!c->name || (cJSON_IsString(lib) && !c->library) ||
            (cJSON_IsString(klass) && !c->class_name)) {
            rc = vkr_fail(VKR_E_INTERNAL, "out of memory");
            goto fail;
        }
    }
    cJSON_Delete(root);
    return VKR_OK;
fail:
    cJSON_Delete(root);
    vkr_model_index_free(mi);
    return rc;
}

void vkr_model_index_free(vkr_model_index *mi)
{
    for (int i = 0; i < mi->n_components; i++) {
        free(mi->components[i].name);
        free(mi->components[i].library);
        free(mi->components[i].class_name);
    }
    free(mi->components);
    free(mi->class_name);
    free(mi->dir);
    memset(mi, 0, sizeof *mi);
}

const vkr_component *vkr_model_index_find(const vkr_model_index *mi, const char *name)
{
    for (int i = 0; i < mi->n_components; i++)
        if (strcmp(mi->components[i].name, name) == 0)
            return &mi->components[i];
    return NULL;
}

/* ---- weight resolution ---- */

void vkr_weight_files_free(vkr_weight_files *f)
{
    for (int i = 0; i < f->n_paths; i++)
        free(f->paths[i]);
    free(f->paths);
    free(f->index_path);
    memset(f, 0, sizeof *f);
}

static int add_path(vkr_weight_files *f, const char *path)
{
    char **p = realloc(f->paths, (size_t)(f->n_paths + 1) * sizeof *p);
    if (!p)
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    f->paths = p;
    if (!(f->paths[f->n_paths] = strdup(path)))
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    f->n_paths++;
    return VKR_OK;
}

/* Shard names come from the file; accept only plain names in the folder. */
static bool plain_file_name(const char *s)
{
    return s[0] && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\');
}

static int load_shard_index(const char *dir, const char *index_path, vkr_weight_files *f)
{
    cJSON *root;
    int rc = load_json(index_path, &root);
    if (rc)
        return rc;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map) || !map->child) {
        rc = vkr_fail(VKR_E_DATA, "%s: \"weight_map\" missing, empty or not an object",
                      index_path);
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        if (!cJSON_IsString(e) || !plain_file_name(e->valuestring)) {
            rc = vkr_fail(VKR_E_DATA,
                          "%s: weight_map entry for tensor '%s' is not a file name in the folder",
                          index_path, e->string);
            goto done;
        }
        char path[PATH_MAX];
        if ((rc = join(path, sizeof path, dir, e->valuestring)))
            goto done;
        bool seen = false;
        for (int i = 0; i < f->n_paths && !seen; i++)
            seen = strcmp(f->paths[i], path) == 0;
        if (seen)
            continue;
        if (!is_file(path)) {
            rc = vkr_fail(VKR_E_NOINPUT, "%s: shard '%s' (holding tensor '%s') is missing",
                          index_path, e->valuestring, e->string);
            goto done;
        }
        if ((rc = add_path(f, path)))
            goto done;
    }
    f->index_path = strdup(index_path);
    rc = f->index_path ? VKR_OK : vkr_fail(VKR_E_INTERNAL, "out of memory");
done:
    cJSON_Delete(root);
    return rc;
}

/* Tries <dir>/<stem><variant>.<ext>, then the sharded index. Returns 1 when
 * found (f filled), 0 when not, or -status on error. */
static int try_candidate(const char *dir, const char *stem, const char *ext, bool fp16,
                         vkr_weight_files *f, char *tried, size_t tried_cap)
{
    char name[256], path[PATH_MAX];
    snprintf(name, sizeof name, "%s%s.%s", stem, fp16 ? ".fp16" : "", ext);
    size_t len = strlen(tried);
    snprintf(tried + len, tried_cap - len, "%s%s", len ? ", " : "", name);
    int rc = join(path, sizeof path, dir, name);
    if (rc)
        return -rc;
    if (is_file(path)) {
        if ((rc = add_path(f, path)))
            return -rc;
        f->is_fp16_variant = fp16;
        return 1;
    }
    /* Sharded: <stem>.<ext>.index.json (variant: <stem>.<ext>.index.fp16.json). */
    snprintf(name, sizeof name, "%s.%s.index%s.json", stem, ext, fp16 ? ".fp16" : "");
    if ((rc = join(path, sizeof path, dir, name)))
        return -rc;
    if (is_file(path)) {
        if ((rc = load_shard_index(dir, path, f)))
            return -rc;
        f->is_fp16_variant = fp16;
        return 1;
    }
    return 0;
}

int vkr_resolve_weights(const char *dir, vkr_variant variant, vkr_weight_files *f)
{
    memset(f, 0, sizeof *f);
    if (!is_dir(dir))
        return vkr_fail(VKR_E_NOINPUT, "%s: component folder not found", dir);
    /* diffusers names its files diffusion_pytorch_model.*, transformers
     * model.safetensors / pytorch_model.bin. */
    static const char *const st_stems[] = {"diffusion_pytorch_model", "model"};
    static const char *const bin_stems[] = {"diffusion_pytorch_model", "pytorch_model"};
    struct {
        const char *const *stems;
        const char *ext;
    } formats[] = {{st_stems, "safetensors"}, {bin_stems, "bin"}};
    char tried[2048] = "";
    for (int fmt = 0; fmt < 2; fmt++) {
        /* Preferred precision first, then the other one. */
        bool order[2] = {variant == VKR_VARIANT_FP16, variant != VKR_VARIANT_FP16};
        for (int o = 0; o < 2; o++)
            for (int s = 0; s < 2; s++) {
                int r = try_candidate(dir, formats[fmt].stems[s], formats[fmt].ext, order[o], f,
                                      tried, sizeof tried);
                if (r < 0) {
                    vkr_weight_files_free(f);
                    return -r;
                }
                if (r > 0) {
                    f->is_torch = fmt == 1;
                    return VKR_OK;
                }
            }
    }
    return vkr_fail(VKR_E_NOINPUT, "%s: no weights found (looked for %s and their sharded "
                                   ".index.json)", dir, tried);
}

/* Every tensor the shard index promises must be in the opened files. */
static int check_index_tensors(const char *index_path, const vkr_weights *w)
{
    cJSON *root;
    int rc = load_json(index_path, &root);
    if (rc)
        return rc;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "weight_map"))
    {
        if (!vkr_weights_find(w, e->string)) {
            rc = vkr_fail(VKR_E_DATA, "%s: tensor '%s' is listed in '%s' but not there",
                          index_path, e->string, e->valuestring);
            break;
        }
    }
    cJSON_Delete(root);
    return rc;
}

int vkr_open_dir_weights(const char *dir, vkr_variant variant, vkr_weights **w)
{
    *w = NULL;
    vkr_weight_files f;
    int rc = vkr_resolve_weights(dir, variant, &f);
    if (rc == VKR_E_NOINPUT) {
        /* The golden cases store one component as weights.safetensors. */
        char golden[PATH_MAX];
        if (join(golden, sizeof golden, dir, "weights.safetensors") == VKR_OK && is_file(golden))
            return vkr_weights_open(w, golden);
    }
    if (rc)
        return rc;
    rc = vkr_weights_open_files(w, (const char *const *)f.paths, f.n_paths,
                                f.index_path ? f.index_path : f.paths[0]);
    if (rc == VKR_OK && f.index_path && (rc = check_index_tensors(f.index_path, *w))) {
        vkr_weights_close(*w);
        *w = NULL;
    }
    vkr_weight_files_free(&f);
    return rc;
}

int vkr_open_component_weights(const char *model_dir, const char *component, vkr_variant variant,
                               vkr_weights **w)
{
    *w = NULL;
    char dir[PATH_MAX];
    int rc = join(dir, sizeof dir, model_dir, component);
    if (rc)
        return rc;
    return vkr_open_dir_weights(dir, variant, w);
}

int vkr_open_component_dir(const char *dir, vkr_variant variant, vkr_config *cfg, vkr_weights **w)
{
    char path[PATH_MAX];
    int rc;
    *w = NULL;
    memset(cfg, 0, sizeof *cfg);
    if ((rc = join(path, sizeof path, dir, "config.json")) || (rc = vkr_cfg_load(cfg, path)))
        return rc;
    if ((rc = vkr_open_dir_weights(dir, variant, w)))
        vkr_cfg_free(cfg);
    return rc;
}

/* ---- config.json ---- */

int vkr_cfg_load(vkr_config *cfg, const char *path)
{
    memset(cfg, 0, sizeof *cfg);
    cJSON *root;
    int rc = load_json(path, &root);
    if (rc)
        return rc;
    cfg->path = strdup(path);
    if (!cfg->path) {
        cJSON_Delete(root);
        return vkr_fail(VKR_E_INTERNAL, "out of memory");
    }
    cfg->root = root;
    return VKR_OK;
}

int vkr_cfg_load_component(vkr_config *cfg, const char *model_dir, const char *component)
{
    memset(cfg, 0, sizeof *cfg);
    char dir[PATH_MAX], path[PATH_MAX];
    int rc = join(dir, sizeof dir, model_dir, component);
    if (rc)
        return rc;
    if (!is_dir(dir))
        return vkr_fail(VKR_E_NOINPUT, "%s: component folder not found", dir);
    static const char *const names[] = {"config.json", "scheduler_config.json"};
    for (int i = 0; i < 2; i++) {
        if ((rc = join(path, sizeof path, dir, names[i])))
            return rc;
        if (is_file(path))
            return vkr_cfg_load(cfg, path);
    }
    return vkr_fail(VKR_E_NOINPUT, "%s: no config.json or scheduler_config.json", dir);
}

void vkr_cfg_free(vkr_config *cfg)
{
    cJSON_Delete(cfg->root);
    free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}

/* The value of `key`, or NULL when absent or null. */
static const cJSON *value(const vkr_config *cfg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)cfg->root, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

bool vkr_cfg_has(const vkr_config *cfg, const char *key) { return value(cfg, key) != NULL; }

static bool json_int(const cJSON *v, int *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (d != floor(d) || d < INT_MIN || d > INT_MAX)
        return false;
    *out = (int)d;
    return true;
}

int vkr_cfg_int(const vkr_config *cfg, const char *key, int def, int *out)
{
    const cJSON *v = value(cfg, key);
    if (!v) {
        *out = def;
        return VKR_OK;
    }
    if (!json_int(v, out))
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" must be an integer", cfg->path, key);
    return VKR_OK;
}

int vkr_cfg_double(const vkr_config *cfg, const char *key, double def, double *out)
{
    const cJSON *v = value(cfg, key);
    if (!v) {
        *out = def;
        return VKR_OK;
    }
    if (!cJSON_IsNumber(v))
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" must be a number", cfg->path, key);
    *out = v->valuedouble;
    return VKR_OK;
}

int vkr_cfg_bool(const vkr_config *cfg, const char *key, bool def, bool *out)
{
    const cJSON *v = value(cfg, key);
    if (!v) {
        *out = def;
        return VKR_OK;
    }
    if (!cJSON_IsBool(v))
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" must be true or false", cfg->path, key);
    *out = cJSON_IsTrue(v);
    return VKR_OK;
}

int vkr_cfg_string(const vkr_config *cfg, const char *key, const char *def, const char **out)
{
    const cJSON *v = value(cfg, key);
    if (!v) {
        *out = def;
        return VKR_OK;
    }
    if (!cJSON_IsString(v))
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" must be a string", cfg->path, key);
    *out = v->valuestring;
    return VKR_OK;
}

int vkr_cfg_int_array(const vkr_config *cfg, const char *key, const int *def, int n_def, int *out,
                      int max, int *n)
{
    const cJSON *v = value(cfg, key);
    if (!v) {
        if (n_def > max)
            return vkr_fail(VKR_E_INTERNAL, "default for \"%s\" exceeds %d entries", key, max);
        for (int i = 0; i < n_def; i++)
            out[i] = def[i];
        *n = n_def;
        return VKR_OK;
    }
    if (!cJSON_IsArray(v))
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" must be an array of integers", cfg->path, key);
    int k = cJSON_GetArraySize(v);
    if (k > max)
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" has %d entries, at most %d supported", cfg->path,
                        key, k, max);
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, v)
    {
        if (!json_int(x, &out[i]))
            return vkr_fail(VKR_E_DATA, "%s: \"%s\"[%d] must be an integer", cfg->path, key, i);
        i++;
    }
    *n = k;
    return VKR_OK;
}

int vkr_cfg_string_array(const vkr_config *cfg, const char *key, const char *const *def, int n_def,
                         const char **out, int max, int *n)
{
    const cJSON *v = value(cfg, key);
    if (!v) {
        if (n_def > max)
            return vkr_fail(VKR_E_INTERNAL, "default for \"%s\" exceeds %d entries", key, max);
        for (int i = 0; i < n_def; i++)
            out[i] = def[i];
        *n = n_def;
        return VKR_OK;
    }
    if (!cJSON_IsArray(v))
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" must be an array of strings", cfg->path, key);
    int k = cJSON_GetArraySize(v);
    if (k > max)
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" has %d entries, at most %d supported", cfg->path,
                        key, k, max);
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, v)
    {
        if (!cJSON_IsString(x))
            return vkr_fail(VKR_E_DATA, "%s: \"%s\"[%d] must be a string", cfg->path, key, i);
        out[i++] = x->valuestring;
    }
    *n = k;
    return VKR_OK;
}

int vkr_cfg_int_per_block(const vkr_config *cfg, const char *key, int n, int def, int *out)
{
    const cJSON *v = value(cfg, key);
    int x = def;
    if (v && cJSON_IsArray(v)) {
        int k = cJSON_GetArraySize(v);
        if (k != n)
            return vkr_fail(VKR_E_DATA, "%s: \"%s\" has %d entries, expected one per block (%d)",
                            cfg->path, key, k, n);
        int rc = vkr_cfg_int_array(cfg, key, NULL, 0, out, n, &k);
        return rc;
    }
    if (v && !json_int(v, &x))
        return vkr_fail(VKR_E_DATA, "%s: \"%s\" must be an integer or a list of integers",
                        cfg->path, key);
    for (int i = 0; i < n; i++)
        out[i] = x;
    return VKR_OK;
}
