/* Unit tests of the storyboard parser (pipeline/storyboard.h) and the JSON
 * reader under it (pipeline/json_dom.h). Runs from the repository root. */
#include "check.h"

#include "common/status.h"
#include "pipeline/json_dom.h"
#include "pipeline/storyboard.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- reference seed derivation, written from docs/storyboard.md ---- */
static uint64_t ref_seed(uint64_t board_seed, const char *id)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    uint64_t z = (board_seed ^ h) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z & ((1ull << 53) - 1);
}

/* Parses a NUL-free copy of `text` that is NOT NUL-terminated (so ASan catches
 * any read past the end). */
static int parse(const char *text, vkr_storyboard *sb, vkr_diags *d)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = vkr_storyboard_parse("t.json", copy, len, sb, d);
    free(copy);
    return rc;
}

static const vkr_diag *find_diag(const vkr_diags *d, const char *pointer)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->items[i].pointer, pointer) == 0)
            return &d->items[i];
    return NULL;
}

static void test_defaults(void)
{
    vkr_storyboard sb;
    vkr_diags d = {0};
    int rc = parse("{\"version\":1,\"shots\":[{\"id\":\"a\",\"duration\":2.5,\"prompt\":\"p\"},"
                   "{\"id\":\"b\",\"duration\":1,\"prompt\":\"q\"}]}",
                   &sb, &d);
    CHECK_EQ_INT(rc, VKR_OK);
    CHECK_EQ_INT(d.n, 0);
    CHECK_EQ_INT(sb.version, 1);
    CHECK_EQ_STR(sb.title, "");
    CHECK_EQ_INT(sb.output.width, 1280);
    CHECK_EQ_INT(sb.output.height, 720);
    CHECK_EQ_INT(sb.output.fps_num, 24);
    CHECK_EQ_INT(sb.output.fps_den, 1);
    CHECK_EQ_INT(sb.output.sample_rate, 48000);
    CHECK_EQ_INT(sb.output.channels, 2);
    CHECK_EQ_INT(sb.output.crf, 18);
    CHECK(sb.video_model == NULL && sb.audio_model == NULL, "models should be absent");
    CHECK_EQ_INT(sb.seed, 0);
    CHECK(sb.style_prompt == NULL && sb.style_negative_prompt == NULL, "style should be absent");
    CHECK_EQ_INT(sb.sampler.name, VKR_SAMPLER_DDIM);
    CHECK_EQ_INT(sb.sampler.steps, 25);
    CHECK_NEAR(sb.sampler.guidance, 9.0, 0);
    CHECK_EQ_INT(sb.audio_sampler.name, VKR_SAMPLER_DDIM);
    CHECK_EQ_INT(sb.audio_sampler.steps, 25);
    CHECK_NEAR(sb.audio_sampler.guidance, 2.5, 0);
    CHECK_NEAR(sb.loudness_lufs, -16, 0);
    CHECK_NEAR(sb.true_peak_dbtp, -1, 0);
    CHECK_EQ_INT(sb.n_shots, 2);
    CHECK_EQ_INT(sb.n_cues, 0);
    CHECK_EQ_INT(sb.n_subtitles, 0);
    CHECK(!sb.has_music, "music should be absent");
    CHECK_NEAR(sb.total_duration, 3.5, 0);
    CHECK_EQ_STR(sb.path, "t.json");
    if (sb.n_shots == 2) {
        const vkr_shot *s = &sb.shots[0];
        CHECK_EQ_STR(s->id, "a");
        CHECK_EQ_STR(s->prompt, "p");
        CHECK(s->negative_prompt == NULL, "negative prompt should be absent");
        CHECK_EQ_INT(s->transition, VKR_TRANSITION_CUT);
        CHECK_NEAR(s->transition_duration, 0, 0);
        CHECK(s->ambience_prompt == NULL && s->subtitle == NULL, "no ambience, no subtitle");
        CHECK_NEAR(s->ambience_gain_db, -18, 0);
        CHECK(!s->seed_explicit, "seed is derived");
        CHECK(s->seed == ref_seed(0, "a"), "seed %llu, expected %llu", (unsigned long long)s->seed,
              (unsigned long long)ref_seed(0, "a"));
        CHECK(sb.shots[1].seed != s->seed, "shots a and b got the same seed");
        CHECK(vkr_storyboard_seed(0, "a") == s->seed, "vkr_storyboard_seed disagrees");
        CHECK_EQ_INT(s->sampler.steps, 25);
    }
    vkr_storyboard_free(&sb);
    vkr_diags_free(&d);
}

/* vkr_storyboard_set_seed (render --seed): implicit seeds of shots, cues and
 * music follow the new board seed, explicit ones stay, and the canonical JSON
 * is rebuilt to name them. */
static void test_set_seed(void)
{
    const char *board =
        "{\"version\":1,\"seed\":42,\"shots\":["
        "{\"id\":\"a\",\"duration\":1,\"prompt\":\"p\"},{\"id\":\"c\",\"duration\":1,\"prompt\":\"p\",\"seed\":7}],"
        "\"sfx\":[{\"id\":\"x\",\"at\":0,\"duration\":1,\"prompt\":\"s\"},"
        "{\"id\":\"y\",\"at\":1,\"duration\":1,\"prompt\":\"s\",\"seed\":5}],\"music\":{\"prompt\":\"m\"}}";
    vkr_storyboard sb, back;
    vkr_diags d = {0};
    CHECK_EQ_INT(parse(board, &sb, &d), VKR_OK);
    if (sb.n_shots != 2 || sb.n_cues != 2)
        return;
    char *before = strdup(sb.canonical_json);
    CHECK_EQ_INT(vkr_storyboard_set_seed(&sb, 1000), VKR_OK);
    CHECK(sb.seed == 1000, "board seed");
    CHECK(sb.shots[0].seed == ref_seed(1000, "a"), "implicit shot seed re-derived");
    CHECK(sb.shots[1].seed == 7, "explicit shot seed kept");
    CHECK(sb.cues[0].seed == ref_seed(1000, "x") && !sb.cues[0].seed_explicit, "implicit cue seed re-derived");
    CHECK(sb.cues[1].seed == 5 && sb.cues[1].seed_explicit, "explicit cue seed kept");
    CHECK(sb.music_seed == ref_seed(1000, "music") && !sb.music_seed_explicit, "music seed re-derived");
    CHECK(before && strcmp(before, sb.canonical_json) != 0, "canonical JSON rebuilt");
    /* The canonical JSON is the new board: it parses back to the same seeds. */
    CHECK_EQ_INT(parse(sb.canonical_json, &back, &d), VKR_OK);
    if (back.n_shots == 2 && back.n_cues == 2)
        CHECK(back.seed == 1000 && back.shots[0].seed == sb.shots[0].seed && back.cues[0].seed == sb.cues[0].seed &&
                  back.music_seed == sb.music_seed,
              "canonical JSON carries the new seeds");
    vkr_storyboard_free(&back);
    free(before);
    vkr_storyboard_free(&sb);
    vkr_diags_free(&d);
}

static void test_seeds_stable_under_reordering(void)
{
    const char *board1 =
        "{\"version\":1,\"seed\":42,\"shots\":["
        "{\"id\":\"a\",\"duration\":1,\"prompt\":\"p\"},{\"id\":\"b\",\"duration\":1,\"prompt\":\"p\"},"
        "{\"id\":\"c\",\"duration\":1,\"prompt\":\"p\",\"seed\":7}],"
        "\"sfx\":[{\"id\":\"x\",\"at\":0,\"duration\":1,\"prompt\":\"s\"},"
        "{\"id\":\"y\",\"at\":1,\"duration\":1,\"prompt\":\"s\"}],\"music\":{\"prompt\":\"m\"}}";
    const char *board2 = /* same board, shots and cues reordered */
        "{\"version\":1,\"seed\":42,\"shots\":["
        "{\"id\":\"c\",\"duration\":1,\"prompt\":\"p\",\"seed\":7},{\"id\":\"b\",\"duration\":1,"
        "\"prompt\":\"p\"},{\"id\":\"a\",\"duration\":1,\"prompt\":\"p\"}],"
        "\"music\":{\"prompt\":\"m\"},\"sfx\":[{\"id\":\"y\",\"at\":1,\"duration\":1,\"prompt\":\"s\"},"
        "{\"id\":\"x\",\"at\":0,\"duration\":1,\"prompt\":\"s\"}]}";
    vkr_storyboard s1, s2, s3;
    vkr_diags d = {0};
    CHECK_EQ_INT(parse(board1, &s1, &d), VKR_OK);
    CHECK_EQ_INT(parse(board2, &s2, &d), VKR_OK);
    if (s1.n_shots == 3 && s2.n_shots == 3 && s1.n_cues == 2 && s2.n_cues == 2) {
        for (int i = 0; i < 3; i++)
            CHECK(s1.shots[i].seed == s2.shots[2 - i].seed, "shot %s: seed %llu vs %llu after reordering",
                  s1.shots[i].id, (unsigned long long)s1.shots[i].seed,
                  (unsigned long long)s2.shots[2 - i].seed);
        CHECK(s1.shots[0].seed == ref_seed(42, "a"), "shot a seed %llu, expected %llu",
              (unsigned long long)s1.shots[0].seed, (unsigned long long)ref_seed(42, "a"));
        CHECK(s1.shots[2].seed == 7 && s1.shots[2].seed_explicit, "explicit seed kept");
        CHECK(s1.cues[0].seed == s2.cues[1].seed && s1.cues[1].seed == s2.cues[0].seed,
              "cue seeds change with order");
        CHECK(s1.cues[0].seed == ref_seed(42, "x"), "cue x seed");
        CHECK(s1.music_seed == ref_seed(42, "music") && s2.music_seed == s1.music_seed,
              "music seed %llu, expected %llu", (unsigned long long)s1.music_seed,
              (unsigned long long)ref_seed(42, "music"));
        /* The board seed does matter. */
        char *board3 = strdup(board1);
        memcpy(strstr(board3, "\"seed\":42"), "\"seed\":43", 9);
        CHECK_EQ_INT(parse(board3, &s3, &d), VKR_OK);
        if (s3.n_shots == 3)
            CHECK(s3.shots[0].seed != s1.shots[0].seed && s3.shots[2].seed == 7,
                  "board seed should change derived seeds only");
        vkr_storyboard_free(&s3);
        free(board3);
    }
    vkr_storyboard_free(&s1);
    vkr_storyboard_free(&s2);
    vkr_diags_free(&d);
}

static void test_cue_starts(void)
{
    vkr_storyboard sb;
    vkr_diags d = {0};
    int rc = parse("{\"version\":1,\"shots\":["
                   "{\"id\":\"a\",\"duration\":2,\"prompt\":\"p\"},"
                   "{\"id\":\"b\",\"duration\":3,\"prompt\":\"p\"},"
                   "{\"id\":\"c\",\"duration\":4,\"prompt\":\"p\"}],"
                   "\"sfx\":[{\"id\":\"abs\",\"at\":1.25,\"duration\":1,\"prompt\":\"s\"},"
                   "{\"id\":\"rel\",\"shot\":\"c\",\"at\":0.5,\"duration\":1,\"prompt\":\"s\"},"
                   "{\"id\":\"early\",\"shot\":\"b\",\"at\":-0.25,\"duration\":1,\"prompt\":\"s\","
                   "\"gain_db\":3,\"pan\":-0.5}]}",
                   &sb, &d);
    CHECK_EQ_INT(rc, VKR_OK);
    CHECK_EQ_INT(sb.n_cues, 3);
    if (sb.n_cues == 3) {
        CHECK_NEAR(sb.cues[0].start, 1.25, 0);
        CHECK(sb.cues[0].shot == NULL, "absolute cue has no shot");
        CHECK_NEAR(sb.cues[1].start, 5.5, 1e-12);
        CHECK_NEAR(sb.cues[1].at, 0.5, 0);
        CHECK_EQ_STR(sb.cues[1].shot, "c");
        CHECK_NEAR(sb.cues[2].start, 1.75, 1e-12);
        CHECK_NEAR(sb.cues[0].gain_db, -6, 0);
        CHECK_NEAR(sb.cues[0].pan, 0, 0);
        CHECK_NEAR(sb.cues[2].gain_db, 3, 0);
        CHECK_NEAR(sb.cues[2].pan, -0.5, 0);
    }
    CHECK_NEAR(sb.total_duration, 9, 0);
    vkr_storyboard_free(&sb);
    vkr_diags_free(&d);
}

static void test_positions(void)
{
    vkr_storyboard sb;
    vkr_diags d = {0};
    /* Columns count characters: "ééé" is 6 bytes but 5 columns with its quotes. */
    const char *text = "{\r\n"
                       "  \"version\": 1, \"title\": \"\xC3\xA9\xC3\xA9\xC3\xA9\", \"seed\": -1,\r\n"
                       "\t\"shots\": [ { \"id\": \"a\", \"duration\": 0, \"prompt\": \"p\" } ]\n"
                       "}";
    int rc = parse(text, &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 2);
    const vkr_diag *g = find_diag(&d, "/seed");
    CHECK(g != NULL, "no /seed diagnostic");
    if (g) {
        CHECK_EQ_INT(g->line, 2);
        CHECK_EQ_INT(g->col, 41);
        CHECK(strstr(g->message, "found -1") != NULL, "message: %s", g->message);
    }
    g = find_diag(&d, "/shots/0/duration");
    CHECK(g != NULL, "no /shots/0/duration diagnostic");
    if (g) {
        CHECK_EQ_INT(g->line, 3);
        CHECK_EQ_INT(g->col, 38);
    }
    CHECK(sb.shots == NULL && sb.n_shots == 0 && sb.canonical_json == NULL,
          "storyboard should be left empty on failure");
    vkr_diags_free(&d);

    /* A syntax error: position of the offending character and its pointer. */
    rc = parse("{\"version\": 1,\n \"shots\": [\n  {\"id\": \"a\" \"duration\": 1}]}", &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 1);
    if (d.n == 1) {
        CHECK_EQ_INT(d.items[0].line, 3);
        CHECK_EQ_INT(d.items[0].col, 14);
        CHECK_EQ_STR(d.items[0].pointer, "/shots/0");
    }
    vkr_diags_free(&d);

    /* Invalid UTF-8: the position of the first bad byte. */
    rc = parse("{\"version\": 1,\n\"title\": \"ab\xC3\xA9\xFF\"}", &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 1);
    if (d.n == 1) {
        CHECK_EQ_INT(d.items[0].line, 2);
        CHECK_EQ_INT(d.items[0].col, 14);
        CHECK(strstr(d.items[0].message, "0xFF") && strstr(d.items[0].message, "offset 29"),
              "message: %s", d.items[0].message);
    }
    vkr_diags_free(&d);
}

static void test_did_you_mean(void)
{
    vkr_storyboard sb;
    vkr_diags d = {0};
    int rc = parse("{\"version\":1,\"shots\":[{\"id\":\"a\",\"durration\":1,\"prompt\":\"p\","
                   "\"Seed\":1,\"zzzzzz\":0,\"transition\":{\"tpye\":\"cut\"}}],"
                   "\"sampler\":{\"name\":\"Euler\"},\"sfx\":[{\"id\":\"s\",\"shot\":\"aa\",\"at\":0,"
                   "\"duration\":1,\"prompt\":\"x\"}]}",
                   &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    struct {
        const char *pointer, *needle;
    } want[] = {
        {"/shots/0/durration", "did you mean \"duration\"?"},
        {"/shots/0/Seed", "did you mean \"seed\"?"},
        {"/shots/0/zzzzzz", "expected one of: id, duration, prompt"},
        {"/shots/0/transition/tpye", "did you mean \"type\"?"},
        {"/shots/0/duration", "missing required key \"duration\""},
        {"/sampler/name", "did you mean \"euler\"?"},
        {"/sfx/0/shot", "did you mean \"a\"?"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const vkr_diag *g = find_diag(&d, want[i].pointer);
        CHECK(g && strstr(g->message, want[i].needle), "%s: expected a message with '%s', got '%s'",
              want[i].pointer, want[i].needle, g ? g->message : "(none)");
    }
    vkr_diags_free(&d);
}

static void test_canonical_round_trip(void)
{
    static const char *files[] = {
        "storyboards/otter-on-a-plane.json",
        "storyboards/rainy-window.json",
        "storyboards/minimal.json",
        "tests/storyboards/good/edge-values.json",
        "tests/storyboards/good/unicode-prompts.json",
        "tests/storyboards/good/rational-fps-tight-crossfades.json",
        "tests/storyboards/good/bom-crlf-tabs.json",
        "tests/storyboards/good/limits-600s-1000-shots.json",
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        vkr_storyboard a, b;
        vkr_diags d = {0};
        int rc = vkr_storyboard_load(files[f], &a, &d);
        CHECK(rc == VKR_OK, "%s: rc %d (%s)", files[f], rc, vkr_last_error());
        if (rc != VKR_OK) {
            vkr_diags_print(&d, files[f], stderr);
            vkr_diags_free(&d);
            continue;
        }
        rc = vkr_storyboard_parse("canonical", a.canonical_json, strlen(a.canonical_json), &b, &d);
        CHECK(rc == VKR_OK, "%s: canonical JSON does not parse back", files[f]);
        if (rc == VKR_OK) {
            CHECK(strcmp(a.canonical_json, b.canonical_json) == 0,
                  "%s: canonical JSON changes on a round trip", files[f]);
            CHECK_EQ_INT(a.n_shots, b.n_shots);
            CHECK_EQ_INT(a.n_cues, b.n_cues);
            CHECK_NEAR(a.total_duration, b.total_duration, 0);
            for (int i = 0; i < a.n_shots && i < b.n_shots; i++)
                CHECK(a.shots[i].seed == b.shots[i].seed, "%s: shot %d seed", files[f], i);
            for (int i = 0; i < a.n_cues && i < b.n_cues; i++) {
                CHECK_NEAR(a.cues[i].start, b.cues[i].start, 0);
                CHECK(a.cues[i].seed == b.cues[i].seed, "%s: cue %d seed", files[f], i);
            }
            CHECK(a.music_seed == b.music_seed, "%s: music seed", files[f]);
        } else {
            vkr_diags_print(&d, "canonical", stderr);
        }
        vkr_storyboard_free(&a);
        vkr_storyboard_free(&b);
        vkr_diags_free(&d);
    }

    /* The otter board, field by field. */
    vkr_storyboard sb;
    vkr_diags d = {0};
    CHECK_EQ_INT(vkr_storyboard_load("storyboards/otter-on-a-plane.json", &sb, &d), VKR_OK);
    CHECK_NEAR(sb.total_duration, 20.0, 0);
    CHECK(sb.n_shots >= 5, "otter board has %d shots", sb.n_shots);
    if (sb.n_shots >= 3) {
        char *full = vkr_shot_full_prompt(&sb, &sb.shots[0]);
        char *neg0 = vkr_shot_full_negative_prompt(&sb, &sb.shots[0]);
        char *neg2 = vkr_shot_full_negative_prompt(&sb, &sb.shots[2]);
        char buf[1024];
        const char *want = buf;
        snprintf(buf, sizeof buf, "%s, %s", sb.shots[0].prompt, sb.style_prompt);
        CHECK_EQ_STR(full, want);
        CHECK_EQ_STR(neg0, sb.style_negative_prompt);
        snprintf(buf, sizeof buf, "human hands, %s", sb.style_negative_prompt);
        CHECK_EQ_STR(neg2, want);
        CHECK_EQ_INT(sb.shots[2].sampler.steps, 30);
        CHECK_NEAR(sb.shots[2].sampler.guidance, 9.0, 0);
        free(full);
        free(neg0);
        free(neg2);
    }
    vkr_storyboard_free(&sb);
    vkr_diags_free(&d);

    /* Without a style the prompt is used as is; no negative at all gives "". */
    CHECK_EQ_INT(vkr_storyboard_load("storyboards/minimal.json", &sb, &d), VKR_OK);
    if (sb.n_shots == 1) {
        char *full = vkr_shot_full_prompt(&sb, &sb.shots[0]);
        char *neg = vkr_shot_full_negative_prompt(&sb, &sb.shots[0]);
        CHECK_EQ_STR(full, sb.shots[0].prompt);
        CHECK_EQ_STR(neg, "");
        free(full);
        free(neg);
    }
    vkr_storyboard_free(&sb);
    vkr_diags_free(&d);

    /* Rational frame rates are reduced. */
    CHECK_EQ_INT(parse("{\"version\":1,\"output\":{\"fps\":\"60000/2002\"},"
                       "\"shots\":[{\"id\":\"a\",\"duration\":1,\"prompt\":\"p\"}]}",
                       &sb, &d),
                 VKR_OK);
    CHECK_EQ_INT(sb.output.fps_num, 30000);
    CHECK_EQ_INT(sb.output.fps_den, 1001);
    CHECK(sb.canonical_json && strstr(sb.canonical_json, "\"fps\":\"30000/1001\""),
          "canonical fps: %s", sb.canonical_json ? sb.canonical_json : "(null)");
    vkr_storyboard_free(&sb);
    vkr_diags_free(&d);
}

static void test_every_problem_reported(void)
{
    vkr_storyboard sb;
    vkr_diags d = {0};
    int rc = vkr_storyboard_load("tests/storyboards/bad/multi-schema.json", &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 14);
    for (int i = 1; i < d.n; i++)
        CHECK(d.items[i - 1].line < d.items[i].line ||
                  (d.items[i - 1].line == d.items[i].line && d.items[i - 1].col <= d.items[i].col),
              "diagnostics out of order at %d", i);
    /* vkr_diags_print: "FILE:LINE:COL: /pointer: message". */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    vkr_diags_print(&d, "b.json", mem);
    fclose(mem);
    CHECK(strncmp(buf, "b.json:2:14: /version: expected 1", 33) == 0, "printed: %.80s", buf);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    CHECK_EQ_INT(lines, 14);
    free(buf);
    vkr_diags_free(&d);

    /* Very many problems: the first 1000 are kept, the rest counted. */
    size_t cap = 64 + 1000 * 64;
    char *text = malloc(cap);
    size_t o = (size_t)snprintf(text, cap, "{\"version\":1,\"shots\":[");
    for (int i = 0; i < 1000; i++)
        o += (size_t)snprintf(text + o, cap - o, "%s{\"id\":\"s%d\",\"duration\":-1,\"prompt\":\"\"}",
                              i ? "," : "", i);
    snprintf(text + o, cap - o, "]}");
    rc = parse(text, &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 1000);
    CHECK_EQ_INT(d.dropped, 1000);
    free(text);
    vkr_diags_free(&d);

    /* Size limit and missing files. */
    size_t big = VKR_STORYBOARD_MAX_BYTES + 1;
    text = malloc(big);
    memset(text, ' ', big);
    rc = vkr_storyboard_parse("big.json", text, big, &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK(d.n == 1 && strstr(d.items[0].message, "larger than"), "size limit diagnostic");
    free(text);
    vkr_diags_free(&d);
    rc = vkr_storyboard_load("tests/storyboards/no-such-file.json", &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_NOINPUT);
    CHECK_EQ_INT(d.n, 0);
    vkr_diags_free(&d);
}

/* One mistake, one diagnostic: problems that follow from an already reported
 * one are not reported again. */
static void test_no_cascades(void)
{
    vkr_storyboard sb;
    vkr_diags d = {0};
    /* A cue naming a shot whose id is itself invalid. */
    int rc = parse("{\"version\":1,\"shots\":[{\"id\":\"bad id\",\"duration\":1,\"prompt\":\"p\"}],"
                   "\"sfx\":[{\"id\":\"s\",\"shot\":\"bad id\",\"at\":0,\"duration\":1,\"prompt\":\"x\"}]}",
                   &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 1);
    CHECK(find_diag(&d, "/shots/0/id") != NULL, "no /shots/0/id diagnostic");
    vkr_diags_free(&d);
    /* Unreadable shots: cue references and timing are not checked against them. */
    rc = parse("{\"version\":1,\"shots\":{},"
               "\"sfx\":[{\"id\":\"s\",\"shot\":\"a\",\"at\":100,\"duration\":1,\"prompt\":\"x\"}],"
               "\"subtitles\":[{\"start\":0,\"end\":900,\"text\":\"t\"}]}",
               &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 1);
    CHECK(find_diag(&d, "/shots") != NULL, "no /shots diagnostic");
    vkr_diags_free(&d);
    /* An invalid transition type is reported once, not again as a timing problem. */
    rc = parse("{\"version\":1,\"shots\":[{\"id\":\"a\",\"duration\":0.1,\"prompt\":\"p\"},"
               "{\"id\":\"b\",\"duration\":1,\"prompt\":\"p\",\"transition\":{\"type\":\"wipe\","
               "\"duration\":5}}]}",
               &sb, &d);
    CHECK_EQ_INT(rc, VKR_E_DATA);
    CHECK_EQ_INT(d.n, 1);
    CHECK(find_diag(&d, "/shots/1/transition/type") != NULL, "no transition type diagnostic");
    vkr_diags_free(&d);
}

static void on_err(void *user, const char *pointer, int line, int col, const char *message)
{
    (void)pointer;
    (void)line;
    (void)col;
    (void)message;
    (*(int *)user)++;
}

static void test_json_reader(void)
{
    /* Nesting: 64 levels are fine, 65 are not. */
    char text[256];
    for (int depth = 63; depth <= 66; depth++) {
        int n = 0;
        for (int i = 0; i < depth; i++)
            text[n++] = '[';
        for (int i = 0; i < depth; i++)
            text[n++] = ']';
        vkr_json_doc doc;
        int errors = 0;
        int rc = vkr_json_parse(text, (size_t)n, 64, &doc, on_err, &errors);
        CHECK(rc == (depth <= 64 ? 0 : 1), "depth %d: rc %d", depth, rc);
        CHECK_EQ_INT(errors, depth <= 64 ? 0 : 1);
        vkr_json_free(&doc);
    }
    /* Escapes decode to UTF-8, including a surrogate pair. */
    const char *s = "{\"k\": \"a\\u00e9\\ud83e\\udda6\\n\\\"\\/\"}";
    vkr_json_doc doc;
    int errors = 0;
    CHECK_EQ_INT(vkr_json_parse(s, strlen(s), 64, &doc, on_err, &errors), 0);
    const vkr_json *k = vkr_json_get(doc.root, "k");
    CHECK(k && k->type == VKR_JSON_STRING && k->str_len == 10 &&
              memcmp(k->str, "a\xC3\xA9\xF0\x9F\xA6\xA6\n\"/", 10) == 0,
          "decoded string wrong");
    vkr_json_free(&doc);
    /* Duplicate keys are reported but do not stop the reader; the first wins. */
    s = "{\"a\": 1, \"b\": {\"a\": 2}, \"a\": 3}";
    errors = 0;
    CHECK_EQ_INT(vkr_json_parse(s, strlen(s), 64, &doc, on_err, &errors), 0);
    CHECK_EQ_INT(errors, 1);
    k = vkr_json_get(doc.root, "a");
    CHECK(k && k->number == 1, "first duplicate should win");
    vkr_json_free(&doc);
    /* Out-of-range numbers are reported and marked. */
    s = "[1e309, -1e309, 1e-400]";
    errors = 0;
    CHECK_EQ_INT(vkr_json_parse(s, strlen(s), 64, &doc, on_err, &errors), 0);
    CHECK_EQ_INT(errors, 2);
    CHECK(doc.root && doc.root->first->reported && !doc.root->last->reported, "range flags");
    vkr_json_free(&doc);
    /* Pointer escaping (RFC 6901). */
    vkr_jptr p = {0};
    size_t m = vkr_jptr_push_key(&p, "a/b~c", 5);
    vkr_jptr_push_index(&p, 12);
    CHECK_EQ_STR(vkr_jptr_str(&p), "/a~1b~0c/12");
    vkr_jptr_pop(&p, m);
    CHECK_EQ_STR(vkr_jptr_str(&p), "");
    vkr_jptr_free(&p);
}

int main(void)
{
    CHECK_EQ_STR(vkr_sampler_name(VKR_SAMPLER_DDIM), "ddim");
    CHECK_EQ_STR(vkr_sampler_name(VKR_SAMPLER_DPMPP_2M), "dpmpp_2m");
    CHECK_EQ_STR(vkr_sampler_name(VKR_SAMPLER_EULER), "euler");
    test_defaults();
    test_seeds_stable_under_reordering();
    test_set_seed();
    test_cue_starts();
    test_positions();
    test_did_you_mean();
    test_canonical_round_trip();
    test_every_problem_reported();
    test_no_cascades();
    test_json_reader();
    return check_summary("test_storyboard");
}
