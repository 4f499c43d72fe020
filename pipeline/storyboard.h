/* Storyboard v1: the parsed, validated and resolved form of a board.json.
 * docs/storyboard.md specifies every field (type, unit, default, range).
 *
 * After a successful vkr_storyboard_parse() every default is filled in and every
 * reference is resolved: shot seeds and samplers are final, cue start times are
 * absolute. Strings are owned by the storyboard (UTF-8, NUL-terminated). */
#ifndef VKR_STORYBOARD_H
#define VKR_STORYBOARD_H

#include "sched/schedule.h" /* vkr_sampler_kind: one enum for the board and the samplers */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VKR_STORYBOARD_VERSION 1
#define VKR_STORYBOARD_MAX_BYTES (4u << 20) /* files over 4 MiB are rejected */
#define VKR_STORYBOARD_MAX_DEPTH 64         /* JSON nesting limit */
#define VKR_STORYBOARD_MAX_SECONDS 600.0    /* total clip length limit */
#define VKR_STORYBOARD_MAX_SHOTS 1000
#define VKR_STORYBOARD_MAX_CUES 1000
#define VKR_STORYBOARD_MAX_SUBTITLES 1000
#define VKR_STORYBOARD_MAX_STRING 4096      /* bytes, after unescaping */

typedef struct {
    vkr_sampler_kind name;
    int steps;       /* 1..1000 */
    double guidance; /* classifier-free guidance scale w (diffusers convention), 0..50 */
} vkr_sampler_cfg;

typedef enum { VKR_TRANSITION_CUT, VKR_TRANSITION_CROSSFADE } vkr_transition_kind;

typedef struct {
    char *id;
    double duration;         /* seconds, > 0 */
    char *prompt;            /* the shot's own prompt (style prompt not yet applied) */
    char *negative_prompt;   /* NULL when absent */
    uint64_t seed;           /* resolved: explicit, or vkr_storyboard_seed(board seed, id) */
    bool seed_explicit;
    vkr_sampler_cfg sampler; /* resolved: board sampler with this shot's overrides */
    /* How this shot begins: the transition from the previous shot into this one.
     * A crossfade of d seconds is centred on the boundary (d/2 on each side) and
     * never changes the clip length. The first shot's transition is always a cut. */
    vkr_transition_kind transition;
    double transition_duration; /* seconds; 0 for a cut */
    char *ambience_prompt;      /* NULL: no ambience under this shot */
    double ambience_gain_db;
    char *subtitle;             /* NULL: none; shown for the shot's whole duration */
} vkr_shot;

typedef struct {
    char *id;
    double at;       /* seconds as written: absolute, or relative to `shot`'s start */
    char *shot;      /* NULL: `at` is absolute */
    double start;    /* resolved absolute start, seconds */
    double duration; /* seconds, > 0 */
    char *prompt;
    double gain_db;  /* -60..+12 */
    double pan;      /* -1 (left) .. +1 (right), equal-power */
    uint64_t seed;   /* resolved: explicit, or vkr_storyboard_seed(board seed, id) */
    bool seed_explicit;
} vkr_cue;

typedef struct {
    double start, end; /* seconds, end > start */
    char *text;
} vkr_subtitle;

typedef struct {
    int width, height;    /* even, 64..4096 */
    int fps_num, fps_den; /* frame rate as a reduced fraction; 1..120 fps */
    int sample_rate;      /* Hz */
    int channels;         /* 1 or 2 */
    int crf;              /* x264 constant rate factor, 0..51 */
} vkr_output_cfg;

typedef struct {
    char *path; /* the file it was read from (for messages) */
    int version;
    char *title;       /* "" when absent */
    vkr_output_cfg output;
    char *video_model; /* model directories; NULL when absent (CLI flags override) */
    char *audio_model;
    uint64_t seed;
    char *style_prompt;          /* appended to every shot prompt; NULL when absent */
    char *style_negative_prompt; /* appended to every negative prompt; NULL when absent */
    vkr_sampler_cfg sampler;       /* video sampler defaults */
    vkr_sampler_cfg audio_sampler; /* audio sampler (ambience, SFX, music) */

    vkr_shot *shots;
    int n_shots;
    vkr_cue *cues;
    int n_cues;

    bool has_music;
    char *music_prompt;
    double music_gain_db;
    uint64_t music_seed; /* explicit, or vkr_storyboard_seed(board seed, "music") */
    bool music_seed_explicit;

    vkr_subtitle *subtitles; /* free subtitles, in document order */
    int n_subtitles;

    double loudness_lufs;  /* integrated loudness target */
    double true_peak_dbtp; /* true-peak ceiling */

    double total_duration; /* sum of the shot durations, seconds */
    char *canonical_json;  /* the resolved board as compact JSON (output metadata) */
} vkr_storyboard;

/* One validation problem, located in the source text. */
typedef struct {
    int line, col;  /* 1-based position of the offending value (or key); 0 when unknown */
    char *pointer;  /* RFC 6901 JSON pointer, "" for the document root */
    char *message;  /* "expected ..., found ..." */
} vkr_diag;

/* Zero-initialise before first use. At most 1000 are kept; the rest are counted. */
typedef struct {
    vkr_diag *items;
    int n, cap;
    int dropped; /* problems found beyond the kept ones */
} vkr_diags;

/* Parses and validates `len` bytes of `text` (need not be NUL-terminated).
 * `path` is used only in messages. Returns VKR_OK, or VKR_E_DATA with every
 * problem found appended to `diags` (sorted by position), or VKR_E_INTERNAL when
 * out of memory; on failure the storyboard is left empty (zeroed). */
int vkr_storyboard_parse(const char *path, const char *text, size_t len, vkr_storyboard *sb,
                         vkr_diags *diags);

/* Reads the file (VKR_E_NOINPUT if it cannot be read; VKR_E_DATA with a diag
 * when it exceeds VKR_STORYBOARD_MAX_BYTES) and parses it. */
int vkr_storyboard_load(const char *path, vkr_storyboard *sb, vkr_diags *diags);

void vkr_storyboard_free(vkr_storyboard *sb);

/* Replaces the board seed (vkreel render --seed): every seed not given
 * explicitly (shots, cues, music) is derived again, and canonical_json is
 * rebuilt so output metadata names the seeds actually used. */
int vkr_storyboard_set_seed(vkr_storyboard *sb, uint64_t seed);

/* Full prompt for a shot: "<prompt>, <style_prompt>" (style omitted when absent). malloc'd. */
char *vkr_shot_full_prompt(const vkr_storyboard *sb, const vkr_shot *shot);
char *vkr_shot_full_negative_prompt(const vkr_storyboard *sb, const vkr_shot *shot);

const char *vkr_sampler_name(vkr_sampler_kind k);

/* The seed of an item without an explicit one (docs/storyboard.md, "Seeds"):
 * splitmix64(board_seed XOR fnv1a64(id)) cut to 53 bits. Depends on the id, not
 * the position, so reordering keeps seeds. */
uint64_t vkr_storyboard_seed(uint64_t board_seed, const char *id);

/* Prints "FILE:LINE:COL: /pointer: message", one line each ("FILE: message"
 * without a position or pointer), then "FILE: N more problems not shown" if any
 * were dropped. */
void vkr_diags_print(const vkr_diags *d, const char *file, FILE *out);
void vkr_diags_free(vkr_diags *d);

#endif
