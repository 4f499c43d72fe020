/* The plan JSON (docs/timeline.md): valid (parsed back with cJSON), stable (same
 * input -> identical bytes), keys in the documented order, integers exact
 * (64-bit seeds included), strings escaped, style prompts applied. */
#include "pipeline/timeline.h"

#include "common/status.h"
#include "tests/check.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>

static char title[] = "Quote \" backslash \\ tab \t newline \n ctrl \x01 caf\xc3\xa9 \xf0\x9f\x8e\xac";
static char id0[] = "opening", id1[] = "shot/2", cue_id[] = "door";
static char p0[] = "a foggy harbour at dawn, \"cinematic\"", p1[] = "gulls\nover water";
static char style[] = "35mm film", neg_style[] = "blurry";
static char neg1[] = "text, watermark", amb[] = "harbour ambience, waves";
static char sub0[] = "Dawn.", free_sub[] = "\xe2\x80\x94 later \xe2\x80\x94";
static char cue_prompt[] = "door slam", music[] = "slow ambient pads";

static void make_board(vkr_storyboard *sb, vkr_shot shots[2], vkr_cue *cue, vkr_subtitle *sub)
{
    memset(sb, 0, sizeof *sb);
    memset(shots, 0, 2 * sizeof *shots);
    sb->version = 1;
    sb->title = title;
    sb->output = (vkr_output_cfg){.width = 576, .height = 320, .fps_num = 24000, .fps_den = 1001,
                                  .sample_rate = 16000, .channels = 2, .crf = 18};
    sb->seed = 42;
    sb->style_prompt = style;
    sb->style_negative_prompt = neg_style;
    sb->sampler = (vkr_sampler_cfg){VKR_SAMPLER_DPMPP_2M, 25, 9.0};
    sb->audio_sampler = (vkr_sampler_cfg){VKR_SAMPLER_DDIM, 100, 2.5};
    shots[0] = (vkr_shot){.id = id0, .duration = 2.5, .prompt = p0, .seed = UINT64_MAX,
                          .sampler = sb->sampler, .subtitle = sub0};
    shots[1] = (vkr_shot){.id = id1, .duration = 1.0 / 3.0, .prompt = p1, .negative_prompt = neg1,
                          .seed = 7, .sampler = {VKR_SAMPLER_EULER, 30, 7.25},
                          .transition = VKR_TRANSITION_CROSSFADE, .transition_duration = 0.25,
                          .ambience_prompt = amb, .ambience_gain_db = -12.5};
    sb->shots = shots;
    sb->n_shots = 2;
    *cue = (vkr_cue){.id = cue_id, .at = 0.5, .shot = id1, .start = 3.0, .duration = 0.75,
                     .prompt = cue_prompt, .gain_db = -3, .pan = -0.4,
                     .seed = UINT64_C(12345678901234567890)};
    sb->cues = cue;
    sb->n_cues = 1;
    sb->has_music = true;
    sb->music_prompt = music;
    sb->music_gain_db = -18;
    sb->music_seed = 99;
    *sub = (vkr_subtitle){.start = 2.0, .end = 10.0, .text = free_sub};
    sb->subtitles = sub;
    sb->n_subtitles = 1;
    sb->loudness_lufs = -16;
    sb->true_peak_dbtp = -1;
    sb->total_duration = 2.5 + 1.0 / 3.0;
}

/* CHECK_EQ_STR through pointers: arrays as arguments trip -Waddress. */
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *got_ = (a), *want_ = (b);                                                      \
        CHECK((got_ && want_ && strcmp(got_, want_) == 0) || (!got_ && !want_),                    \
              "%s = \"%s\", expected \"%s\"", #a, got_ ? got_ : "(null)",                         \
              want_ ? want_ : "(null)");                                                           \
    } while (0)

/* The object's keys, comma-separated, in document order. */
static void key_list(const cJSON *o, char *buf, size_t n)
{
    buf[0] = 0;
    for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
        if (buf[0])
            strncat(buf, ",", n - strlen(buf) - 1);
        strncat(buf, c->string ? c->string : "?", n - strlen(buf) - 1);
    }
}

#define CHECK_KEYS(obj, expected)                                                                  \
    do {                                                                                           \
        char keys_[1024];                                                                          \
        key_list((obj), keys_, sizeof keys_);                                                      \
        CHECK_STR(keys_, expected);                                                         \
    } while (0)

static int64_t get_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : INT64_MIN;
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_plan_json(void)
{
    vkr_storyboard sb;
    vkr_shot shots[2];
    vkr_cue cue;
    vkr_subtitle sub;
    vkr_timeline tl;
    make_board(&sb, shots, &cue, &sub);
    CHECK_EQ_INT(vkr_timeline_build(&sb, &tl), VKR_OK);

    char *a = vkr_timeline_to_json(&sb, &tl), *b = vkr_timeline_to_json(&sb, &tl);
    CHECK(a && b, "to_json returned NULL: %s", vkr_last_error());
    if (!a || !b)
        goto done;
    CHECK(strcmp(a, b) == 0, "two serialisations of the same timeline differ");
    /* A fresh build of an equal board gives the same bytes too. */
    vkr_timeline tl2;
    CHECK_EQ_INT(vkr_timeline_build(&sb, &tl2), VKR_OK);
    char *c = vkr_timeline_to_json(&sb, &tl2);
    CHECK(c && strcmp(a, c) == 0, "rebuilt timeline serialises differently");
    free(c);
    vkr_timeline_free(&tl2);
    CHECK(a[strlen(a) - 1] == '\n', "JSON does not end with a newline");
    /* 64-bit seeds are printed exactly (a double would round them). */
    CHECK(strstr(a, "18446744073709551615") != NULL, "UINT64_MAX seed not printed exactly");
    CHECK(strstr(a, "12345678901234567890") != NULL, "cue seed not printed exactly");

    cJSON *root = cJSON_Parse(a);
    CHECK(root != NULL, "plan JSON does not parse: %.80s", cJSON_GetErrorPtr());
    if (!root)
        goto done;
    CHECK_KEYS(root, "format,version,title,output,models,audio_sampler,totals,shots,cues,music,"
                     "subtitles,loudness");
    CHECK_STR(get_str(root, "format"), "vkreel-plan");
    CHECK_EQ_INT(get_int(root, "version"), 1);
    CHECK_STR(get_str(root, "title"), title);

    const cJSON *out = cJSON_GetObjectItemCaseSensitive(root, "output");
    CHECK_KEYS(out, "width,height,fps_num,fps_den,sample_rate,channels,crf");
    CHECK_EQ_INT(get_int(out, "fps_num"), 24000);
    CHECK_EQ_INT(get_int(out, "fps_den"), 1001);
    CHECK_EQ_INT(get_int(out, "sample_rate"), 16000);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
              cJSON_GetObjectItemCaseSensitive(root, "models"), "video")),
          "models.video is not null");
    CHECK_KEYS(cJSON_GetObjectItemCaseSensitive(root, "audio_sampler"), "name,steps,guidance");
    CHECK_STR(get_str(cJSON_GetObjectItemCaseSensitive(root, "audio_sampler"), "name"),
                 vkr_sampler_name(VKR_SAMPLER_DDIM));

    const cJSON *tot = cJSON_GetObjectItemCaseSensitive(root, "totals");
    CHECK_KEYS(tot, "duration_us,n_frames,n_samples,n_shots,n_cues,n_subtitles");
    CHECK_EQ_INT(get_int(tot, "duration_us"), 2833333);
    CHECK_EQ_INT(get_int(tot, "n_frames"), tl.n_frames);
    CHECK_EQ_INT(get_int(tot, "n_frames"), 68); /* 2.833333 s * 23.976 = 67.93 */
    CHECK_EQ_INT(get_int(tot, "n_samples"), 45333);
    CHECK_EQ_INT(get_int(tot, "n_subtitles"), 2);

    const cJSON *js = cJSON_GetObjectItemCaseSensitive(root, "shots");
    CHECK_EQ_INT(cJSON_GetArraySize(js), 2);
    for (int i = 0; i < 2 && i < cJSON_GetArraySize(js); i++) {
        const cJSON *s = cJSON_GetArrayItem(js, i);
        const vkr_tl_shot *t = &tl.shots[i];
        CHECK_KEYS(s, "index,id,start_us,end_us,frame_begin,frame_end,sample_begin,sample_end,"
                      "transition,prompt,negative_prompt,seed,sampler,ambience,subtitle");
        CHECK_EQ_INT(get_int(s, "index"), i);
        CHECK_STR(get_str(s, "id"), shots[i].id);
        CHECK_EQ_INT(get_int(s, "start_us"), t->start_us);
        CHECK_EQ_INT(get_int(s, "end_us"), t->end_us);
        CHECK_EQ_INT(get_int(s, "frame_begin"), t->frame_begin);
        CHECK_EQ_INT(get_int(s, "frame_end"), t->frame_end);
        CHECK_EQ_INT(get_int(s, "sample_begin"), t->sample_begin);
        CHECK_EQ_INT(get_int(s, "sample_end"), t->sample_end);
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(s, "transition");
        CHECK_KEYS(tr, "kind,duration_us,frame_begin,frame_end,sample_begin,sample_end");
        CHECK_STR(get_str(tr, "kind"), i ? "crossfade" : "cut");
        CHECK_EQ_INT(get_int(tr, "duration_us"), t->xfade_us);
        CHECK_EQ_INT(get_int(tr, "frame_begin"), t->xfade_frame_begin);
        CHECK_EQ_INT(get_int(tr, "frame_end"), t->xfade_frame_end);
        CHECK_EQ_INT(get_int(tr, "sample_begin"), t->xfade_sample_begin);
        CHECK_EQ_INT(get_int(tr, "sample_end"), t->xfade_sample_end);
        char *full = vkr_shot_full_prompt(&sb, &shots[i]);
        char *neg = vkr_shot_full_negative_prompt(&sb, &shots[i]);
        CHECK_STR(get_str(s, "prompt"), full);
        CHECK(get_str(s, "prompt") && strstr(get_str(s, "prompt"), style),
              "shot %d: style not applied to the prompt", i);
        if (neg)
            CHECK_STR(get_str(s, "negative_prompt"), neg);
        free(full);
        free(neg);
        const cJSON *sm = cJSON_GetObjectItemCaseSensitive(s, "sampler");
        CHECK_KEYS(sm, "name,steps,guidance");
        CHECK_STR(get_str(sm, "name"), vkr_sampler_name(shots[i].sampler.name));
        CHECK_EQ_INT(get_int(sm, "steps"), shots[i].sampler.steps);
        CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(sm, "guidance")->valuedouble,
                   shots[i].sampler.guidance, 0);
    }
    /* 0.25 s crossfade into a 1/3 s shot: half-width min(125000 us, half of
     * either shot) = 125000 us, not clamped. */
    CHECK_EQ_INT(tl.shots[1].xfade_us, 250000);
    const cJSON *s0 = cJSON_GetArrayItem(js, 0), *s1 = cJSON_GetArrayItem(js, 1);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s0, "ambience")), "shot 0 ambience");
    CHECK_KEYS(cJSON_GetObjectItemCaseSensitive(s1, "ambience"), "prompt,gain_db");
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s1, "ambience"),
                                                "gain_db")->valuedouble, -12.5, 0);
    CHECK_STR(get_str(s0, "subtitle"), sub0);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s1, "subtitle")), "shot 1 subtitle");

    const cJSON *jc = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "cues"), 0);
    CHECK_KEYS(jc, "index,id,start_us,end_us,sample_begin,sample_end,frame,prompt,gain_db,pan,"
                   "seed");
    CHECK_EQ_INT(get_int(jc, "start_us"), 3000000);
    CHECK_EQ_INT(get_int(jc, "sample_begin"), 45333); /* starts after the clip: empty at end */
    CHECK_EQ_INT(get_int(jc, "sample_end"), 45333);
    CHECK_EQ_INT(get_int(jc, "frame"), 67);
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(jc, "pan")->valuedouble, -0.4, 0);

    const cJSON *mu = cJSON_GetObjectItemCaseSensitive(root, "music");
    CHECK_KEYS(mu, "prompt,gain_db,seed");
    CHECK_EQ_INT(get_int(mu, "seed"), 99);

    const cJSON *jsub = cJSON_GetObjectItemCaseSensitive(root, "subtitles");
    CHECK_EQ_INT(cJSON_GetArraySize(jsub), 2);
    CHECK_KEYS(cJSON_GetArrayItem(jsub, 0), "start_us,end_us,shot,text");
    CHECK_EQ_INT(get_int(cJSON_GetArrayItem(jsub, 0), "shot"), 0);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(jsub, 1), "shot")),
          "free subtitle has a shot");
    CHECK_EQ_INT(get_int(cJSON_GetArrayItem(jsub, 1), "end_us"), 2833333);
    CHECK_STR(get_str(cJSON_GetArrayItem(jsub, 1), "text"), free_sub);

    CHECK_KEYS(cJSON_GetObjectItemCaseSensitive(root, "loudness"),
               "integrated_lufs,true_peak_dbtp");
    cJSON_Delete(root);

    /* No music: null, still valid. */
    sb.has_music = false;
    char *d = vkr_timeline_to_json(&sb, &tl);
    root = d ? cJSON_Parse(d) : NULL;
    CHECK(root && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "music")),
          "music is not null without music");
    cJSON_Delete(root);
    free(d);

    /* The table prints without crashing and names every shot. */
    char *table = NULL;
    size_t table_len = 0;
    FILE *mem = open_memstream(&table, &table_len);
    if (mem) {
        vkr_timeline_print(&sb, &tl, mem);
        fclose(mem);
        CHECK(table && strstr(table, "opening") && strstr(table, "shot/2") &&
                  strstr(table, "door"),
              "table lacks shot or cue ids:\n%s", table ? table : "");
        free(table);
    }
done:
    free(a);
    free(b);
    vkr_timeline_free(&tl);
}

int main(void)
{
    test_plan_json();
    return check_summary("test_timeline_json");
}
