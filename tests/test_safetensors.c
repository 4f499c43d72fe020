#define _GNU_SOURCE /* nftw */
/* safetensors reader: every golden file opens and its numbers match the
 * statistics recorded in case.json; a corpus of hostile headers is rejected
 * with VKR_E_DATA naming the tensor and the problem. */
#include "check.h"
#include "common/status.h"
#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

static cJSON *read_json(const char *path)
{
    char *s = read_text(path);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    return j;
}

/* Compares the shape (and mean / sample std / max|x| when recorded) of
 * `prefix<name>` in io.safetensors with a case.json "inputs"/"outputs" entry. */
static int check_against_case(const vkr_safetensors *st, const cJSON *entries, const char *prefix)
{
    int checked = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        const cJSON *shape = cJSON_GetObjectItem(e, "shape");
        if (!cJSON_IsArray(shape))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, e->string);
        const vkr_st_tensor *t = vkr_st_find(st, name);
        CHECK(t != NULL, "%s: tensor '%s' missing", st->path, name);
        if (!t)
            continue;
        CHECK_EQ_INT(t->ndim, cJSON_GetArraySize(shape));
        for (int i = 0; i < t->ndim && i < cJSON_GetArraySize(shape); i++)
            CHECK(t->shape[i] == (int64_t)cJSON_GetArrayItem(shape, i)->valuedouble,
                  "%s '%s' shape[%d] = %lld, case.json says %g", st->path, name, i,
                  (long long)t->shape[i], cJSON_GetArrayItem(shape, i)->valuedouble);
        const cJSON *mean = cJSON_GetObjectItem(e, "mean");
        const cJSON *sd = cJSON_GetObjectItem(e, "std");
        const cJSON *mx = cJSON_GetObjectItem(e, "max_abs");
        if (cJSON_IsNumber(mean) && cJSON_IsNumber(sd) && cJSON_IsNumber(mx) && t->numel > 1) {
            float *v = vkr_st_load_f32(st, name, NULL);
            CHECK(v != NULL, "load '%s': %s", name, vkr_last_error());
            if (!v)
                continue;
            double s = 0, s2 = 0, m = 0;
            for (int64_t i = 0; i < t->numel; i++)
                s += v[i];
            double mu = s / (double)t->numel;
            for (int64_t i = 0; i < t->numel; i++) {
                s2 += (v[i] - mu) * (v[i] - mu);
                if (fabs(v[i]) > m)
                    m = fabs(v[i]);
            }
            double sdev = sqrt(s2 / (double)(t->numel - 1));
            double scale = fabs(sd->valuedouble) + fabs(mean->valuedouble);
            CHECK(fabs(mu - mean->valuedouble) <= 1e-6 * scale + 1e-9,
                  "%s '%s' mean %.9g, case.json %.9g", st->path, name, mu, mean->valuedouble);
            CHECK(fabs(sdev - sd->valuedouble) <= 1e-6 * scale + 1e-9,
                  "%s '%s' std %.9g, case.json %.9g", st->path, name, sdev, sd->valuedouble);
            CHECK(fabs(m - mx->valuedouble) <= 1e-7 * fabs(mx->valuedouble),
                  "%s '%s' max_abs %.9g, case.json %.9g", st->path, name, m, mx->valuedouble);
            free(v);
        }
        checked++;
    }
    return checked;
}

/* Every .safetensors under tests/golden opens; its size matches index.json
 * where listed, and io.safetensors tensors agree with the case's case.json. */
static cJSON *golden_index;
static int golden_files, golden_tensors, golden_compared;

static void check_golden_file(const char *path)
{
    vkr_safetensors st;
    int rc = vkr_st_open(&st, path);
    CHECK(rc == 0, "%s: %s", path, vkr_last_error());
    if (rc)
        return;
    golden_files++;
    golden_tensors += st.n_tensors;
    const cJSON *listed = cJSON_GetObjectItem(cJSON_GetObjectItem(golden_index, "files"),
                                              path + strlen("tests/golden/"));
    if (listed)
        CHECK(st.map_len == (size_t)cJSON_GetObjectItem(listed, "bytes")->valuedouble,
              "%s: %zu bytes, index.json says %g", path, st.map_len,
              cJSON_GetObjectItem(listed, "bytes")->valuedouble);
    CHECK(st.n_tensors > 0, "%s: no tensors", path);
    CHECK(st.metadata_json && strstr(st.metadata_json, "\"format\""),
          "%s: __metadata__ not kept", path);
    for (int i = 1; i < st.n_tensors; i++)
        CHECK(strcmp(st.tensors[i - 1].name, st.tensors[i].name) < 0, "%s: not sorted at %d",
              path, i);
    for (int i = 0; i < st.n_tensors; i++)
        CHECK(vkr_st_find(&st, st.tensors[i].name) == &st.tensors[i], "%s: find '%s'", path,
              st.tensors[i].name);
    CHECK(vkr_st_find(&st, "no.such.tensor") == NULL, "%s: found a missing name", path);

    const char *base = strrchr(path, '/');
    if (strcmp(base, "/io.safetensors") == 0) {
        char case_path[512];
        snprintf(case_path, sizeof case_path, "%.*s/case.json", (int)(base - path), path);
        cJSON *c = read_json(case_path);
        CHECK(c != NULL, "cannot read %s", case_path);
        if (c) {
            golden_compared += check_against_case(&st, cJSON_GetObjectItem(c, "inputs"), "in.");
            golden_compared += check_against_case(&st, cJSON_GetObjectItem(c, "outputs"), "out.");
            cJSON_Delete(c);
        }
    }
    vkr_st_close(&st);
}

static int golden_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    size_t len = strlen(path);
    if (type == FTW_F && len > 12 && strcmp(path + len - 12, ".safetensors") == 0)
        check_golden_file(path);
    return 0;
}

static void test_golden(void)
{
    golden_index = read_json("tests/golden/index.json");
    CHECK(golden_index != NULL, "cannot read tests/golden/index.json");
    CHECK(nftw("tests/golden", golden_visit, 8, FTW_PHYS) == 0, "walk tests/golden");
    cJSON_Delete(golden_index);
    printf("golden: %d files, %d tensors, %d compared with case.json\n", golden_files,
           golden_tensors, golden_compared);
    CHECK(golden_files >= 49, "only %d golden safetensors files", golden_files);
    CHECK(golden_compared >= 60, "only %d tensors compared with case.json", golden_compared);
}

/* Values the references fix exactly: the DDIM "leading" timesteps and the
 * first alphas_cumprod (1 - beta_start). */
static void test_known_values(void)
{
    vkr_safetensors st;
    int rc = vkr_st_open(&st, "tests/golden/schedulers/ddim_sd_eps_n10/io.safetensors");
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    const vkr_st_tensor *t = vkr_st_find(&st, "out.timesteps");
    CHECK(t && t->dtype == VKR_I64 && t->numel == 10, "out.timesteps");
    if (t && t->numel == 10) {
        int64_t ts[10];
        CHECK_EQ_INT(vkr_st_to_i64(t, ts), 0);
        for (int i = 0; i < 10; i++)
            CHECK(ts[i] == 901 - 100 * i, "timesteps[%d] = %lld, expected %d", i,
                  (long long)ts[i], 901 - 100 * i);
    }
    int64_t n = 0;
    float *a = vkr_st_load_f32(&st, "out.alphas_cumprod", &n);
    CHECK(a && n == 1000, "alphas_cumprod");
    if (a) {
        CHECK_NEAR(a[0], 1.0 - 0.00085, 1e-7);
        CHECK(a[999] > 0 && a[999] < a[0], "alphas_cumprod decreasing");
    }
    free(a);
    float *none = vkr_st_load_f32(&st, "out.nope", NULL);
    CHECK(none == NULL && strstr(vkr_last_error(), "missing tensor 'out.nope'"), "%s",
          vkr_last_error());
    vkr_st_close(&st);
}

/* ---- synthetic files ---- */

static char tmpdir[] = "/tmp/vkr_st_XXXXXX";

/* Writes 8-byte length + header + data. hlen_override replaces the length
 * field when non-zero; truncate_to cuts the file when non-negative. */
static void write_file(const char *path, const char *hdr, uint64_t hlen_override,
                       const void *data, size_t data_len, long truncate_to)
{
    FILE *f = fopen(path, "wb");
    uint64_t n = hlen_override ? hlen_override : strlen(hdr);
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(n >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(hdr, 1, strlen(hdr), f);
    if (data_len)
        fwrite(data, 1, data_len, f);
    fclose(f);
    if (truncate_to >= 0)
        CHECK(truncate(path, truncate_to) == 0, "truncate %s", path);
}

typedef struct {
    const char *what;
    const char *hdr;
    size_t data_len;
    uint64_t hlen_override;
    long truncate_to;
    const char *expect1, *expect2; /* substrings of the error message */
} hostile_case;

static void test_hostile(void)
{
    static const uint8_t zeros[64];
    const hostile_case cases[] = {
        {"empty file", "", 0, 0, 0, "too short", NULL},
        {"truncated data", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
         0, 8 + 56 + 8, "'w'", "past the end"},
        {"header length past EOF", "{}", 0, 1000, -1, "exceeds the file", NULL},
        {"header length 2^63", "{}", 0, (uint64_t)1 << 63, -1, "exceeds the file", NULL},
        {"offsets past end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         8, 0, -1, "'w'", "past the end"},
        {"overlap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         16, 0, -1, "'b'", "overlap tensor 'a'"},
        {"identical ranges",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         8, 0, -1, "overlap", NULL},
        {"wrong size for shape",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24, 0, -1, "'w'",
         "needs 24"},
        {"negative dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,2],\"data_offsets\":[0,0]}}", 0,
         0, -1, "'w'", "shape[0]"},
        {"fractional dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 8,
         0, -1, "'w'", "shape[0]"},
        {"string dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, 0,
         -1, "'w'", "shape[0]"},
        {"unknown dtype", "{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,2]}}", 8,
         0, -1, "'w'", "unsupported dtype \"Q4_K\""},
        {"missing dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, -1, "'w'",
         "dtype"},
        {"missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, 0, -1, "'w'",
         "shape"},
        {"non-object header", "[1,2,3]", 0, 0, -1, "not a JSON object", NULL},
        {"non-object entry", "{\"w\":5}", 0, 0, -1, "'w'", "not an object"},
        {"huge shape overflow",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
         "\"data_offsets\":[0,8]}}",
         8, 0, -1, "'w'", "overflows"},
        {"byte-count overflow",
         "{\"w\":{\"dtype\":\"F64\",\"shape\":[1125899906842624,4096],\"data_offsets\":[0,8]}}",
         8, 0, -1, "'w'", "too many bytes"},
        {"too many dims",
         "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 8, 0,
         -1, "'w'", "dimensions"},
        {"duplicate names",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, 0, -1, "'a'", "duplicate"},
        {"invalid JSON", "{\"w\":{\"dtype\":", 0, 0, -1, "not valid JSON", NULL},
        {"begin after end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8,
         0, -1, "'w'", "end before begin"},
        {"negative offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
         0, -1, "'w'", "data_offsets"},
        {"three offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
         0, -1, "'w'", "data_offsets"},
        {"offsets beyond 2^53",
         "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],"
         "\"data_offsets\":[18446744073709551615,18446744073709551615]}}",
         8, 0, -1, "'w'", "data_offsets"},
        {"metadata not an object", "{\"__metadata__\":[1]}", 0, 0, -1, "__metadata__", NULL},
    };
    char path[64];
    snprintf(path, sizeof path, "%s/h.safetensors", tmpdir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const hostile_case *c = &cases[i];
        write_file(path, c->hdr, c->hlen_override, zeros, c->data_len, c->truncate_to);
        vkr_safetensors st;
        vkr_clear_error();
        int rc = vkr_st_open(&st, path);
        const char *err = vkr_last_error();
        CHECK(rc == VKR_E_DATA, "%s: rc %d, expected 65 (%s)", c->what, rc, err);
        CHECK(strstr(err, path) != NULL, "%s: message does not name the file: %s", c->what, err);
        CHECK(!c->expect1 || strstr(err, c->expect1), "%s: message lacks \"%s\": %s", c->what,
              c->expect1, err);
        CHECK(!c->expect2 || strstr(err, c->expect2), "%s: message lacks \"%s\": %s", c->what,
              c->expect2, err);
        CHECK(st.map == NULL && st.tensors == NULL, "%s: state not reset", c->what);
        if (rc == 0)
            vkr_st_close(&st);
    }

    /* A header length above the cap, in a (sparse) file big enough to hold it. */
    write_file(path, "{}", (uint64_t)101 << 20, NULL, 0, (101l << 20) + 8);
    vkr_safetensors st;
    int rc = vkr_st_open(&st, path);
    CHECK(rc == VKR_E_DATA && strstr(vkr_last_error(), "limit"), "header cap: rc %d %s", rc,
          vkr_last_error());

    rc = vkr_st_open(&st, "tests/model/does-not-exist.safetensors");
    CHECK(rc == VKR_E_NOINPUT, "missing file: rc %d", rc);
    rc = vkr_st_open(&st, tmpdir);
    CHECK(rc == VKR_E_NOINPUT, "directory: rc %d (%s)", rc, vkr_last_error());
    unlink(path);
}

/* Valid corner cases: every dtype converts, unaligned data, empty and
 * scalar tensors, zero-size ranges that coincide with others. */
static void test_dtypes(void)
{
    /* Header length is odd on purpose so the data section is unaligned. */
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\"},"
                      "\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"f16\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                      "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]},"
                      "\"f64\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]},"
                      "\"i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]},"
                      "\"i32\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[32,36]},"
                      "\"i16\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[36,38]},"
                      "\"i8\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[38,39]},"
                      "\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[39,40]},"
                      "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[40,42]},"
                      "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[42,46]},"
                      "\"empty\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[4,4]}}";
    uint8_t data[46];
    float f32[2] = {1.5f, -2.25f};
    uint16_t f16[2] = {0x3c00, 0xc000};  /* 1, -2 */
    uint16_t bf16[2] = {0x3f80, 0x4040}; /* 1, 3 */
    double f64 = 0.125;
    int64_t i64 = -123456789012;
    int32_t i32 = -70000;
    int16_t i16 = -300;
    int8_t i8 = -5;
    uint8_t u8 = 250, b[2] = {0, 7};
    float sc = 42.0f;
    memcpy(data, f32, 8);
    memcpy(data + 8, f16, 4);
    memcpy(data + 12, bf16, 4);
    memcpy(data + 16, &f64, 8);
    memcpy(data + 24, &i64, 8);
    memcpy(data + 32, &i32, 4);
    memcpy(data + 36, &i16, 2);
    memcpy(data + 38, &i8, 1);
    memcpy(data + 39, &u8, 1);
    memcpy(data + 40, b, 2);
    memcpy(data + 42, &sc, 4);
    char path[64];
    snprintf(path, sizeof path, "%s/d.safetensors", tmpdir);
    CHECK(strlen(hdr) % 2 == 1, "header length should be odd");
    write_file(path, hdr, 0, data, sizeof data, -1);

    vkr_safetensors st;
    int rc = vkr_st_open(&st, path);
    CHECK(rc == 0, "%s", vkr_last_error());
    if (rc)
        return;
    CHECK_EQ_INT(st.n_tensors, 12);
    CHECK(st.metadata_json && strstr(st.metadata_json, "\"k\":\"v\""), "metadata %s",
          st.metadata_json ? st.metadata_json : "(null)");
    struct {
        const char *name;
        vkr_dtype dt;
        float want[2];
        int n;
    } w[] = {{"f32", VKR_F32, {1.5f, -2.25f}, 2}, {"f16", VKR_F16, {1, -2}, 2},
             {"bf16", VKR_BF16, {1, 3}, 2},       {"f64", VKR_F64, {0.125f}, 1},
             {"i64", VKR_I64, {-123456789012.0f}, 1}, {"i32", VKR_I32, {-70000}, 1},
             {"i16", VKR_I16, {-300}, 1},         {"i8", VKR_I8, {-5}, 1},
             {"u8", VKR_U8, {250}, 1},            {"bool", VKR_BOOL, {0, 1}, 2},
             {"scalar", VKR_F32, {42}, 1}};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        const vkr_st_tensor *t = vkr_st_find(&st, w[i].name);
        CHECK(t && t->dtype == w[i].dt && t->numel == w[i].n, "tensor %s", w[i].name);
        if (!t)
            continue;
        float out[2] = {-1, -1};
        CHECK_EQ_INT(vkr_st_to_f32(t, out), 0);
        for (int k = 0; k < w[i].n; k++)
            CHECK(out[k] == w[i].want[k], "%s[%d] = %g, expected %g", w[i].name, k, out[k],
                  w[i].want[k]);
    }
    int64_t iv[2];
    const vkr_st_tensor *t = vkr_st_find(&st, "i64");
    CHECK(t && vkr_st_to_i64(t, iv) == 0 && iv[0] == i64, "i64 exact");
    t = vkr_st_find(&st, "i16");
    CHECK(t && vkr_st_to_i64(t, iv) == 0 && iv[0] == -300, "i16 -> i64");
    t = vkr_st_find(&st, "bool");
    CHECK(t && vkr_st_to_i64(t, iv) == 0 && iv[0] == 0 && iv[1] == 1, "bool -> i64");
    t = vkr_st_find(&st, "f32");
    CHECK(t && vkr_st_to_i64(t, iv) == VKR_E_DATA && strstr(vkr_last_error(), "'f32'"),
          "float -> i64 must fail naming the tensor: %s", vkr_last_error());
    t = vkr_st_find(&st, "scalar");
    CHECK(t && t->ndim == 0 && t->numel == 1, "scalar: ndim 0, numel 1");
    t = vkr_st_find(&st, "empty");
    CHECK(t && t->ndim == 2 && t->numel == 0 && t->nbytes == 0, "empty tensor");
    int64_t n = -1;
    float *e = vkr_st_load_f32(&st, "empty", &n);
    CHECK(e != NULL && n == 0, "load empty tensor");
    free(e);
    vkr_st_close(&st);

    /* A file with only a header and no tensors is valid. */
    write_file(path, "{}", 0, NULL, 0, -1);
    rc = vkr_st_open(&st, path);
    CHECK(rc == 0 && st.n_tensors == 0 && vkr_st_find(&st, "x") == NULL, "empty header: %s",
          vkr_last_error());
    if (rc == 0)
        vkr_st_close(&st);
    unlink(path);
}

int main(void)
{
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    test_golden();
    test_known_values();
    test_hostile();
    test_dtypes();
    rmdir(tmpdir);
    return check_summary("test_safetensors");
}
