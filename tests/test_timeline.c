/* Timeline arithmetic: hand-checked examples plus property tests over thousands
 * of random storyboards (fixed-seed PRNG), each boundary compared with an
 * independent computation (80-bit long double, and a quotient/remainder integer
 * formula) of the exact rational rounding. Boards are built directly in C so the
 * test does not depend on the storyboard parser. */
#include "pipeline/timeline.h"

#include "common/status.h"
#include "tests/check.h"

#include <float.h>
#include <inttypes.h>
#include <stdlib.h>

/* ---- independent references ---------------------------------------------- */

/* round(us * num / (den * 1e6)), halves up, in long double. Exact here: us*num
 * < 2^64 is representable, the quotient's error (~1e-11 at 6e7) is far below
 * the distance from a non-half fraction to 1/2 (>= 1/(2*den*1e6) >= 5e-10), and
 * exact halves are computed exactly. */
static int64_t ref_index_ld(int64_t us, int64_t num, int64_t den)
{
    long double x = (long double)us * (long double)num / ((long double)den * 1e6L);
    return (int64_t)floorl(x + 0.5L);
}

/* The same by quotient and remainder (us >= 0): q + (remainder >= divisor/2). */
static int64_t ref_index_qr(int64_t us, int64_t num, int64_t den)
{
    int64_t p = us * num, d = den * 1000000;
    int64_t q = p / d, r = p % d;
    return q + (2 * r >= d);
}

static int64_t ref_index(int64_t us, int64_t num, int64_t den)
{
    int64_t a = ref_index_ld(us, num, den), b = ref_index_qr(us, num, den);
    CHECK(a == b, "references disagree at us=%" PRId64 " rate=%" PRId64 "/%" PRId64
                  ": %" PRId64 " vs %" PRId64, us, num, den, a, b);
    return a;
}

/* ---- PRNG (splitmix64) ------------------------------------------------------ */

static uint64_t rng_state = 0x5eed5eed12345678ull;

static uint64_t rng_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rng_int(int lo, int hi) /* inclusive */
{
    return lo + (int)(rng_u64() % (uint64_t)(hi - lo + 1));
}

static double rng_unit(void) { return (double)(rng_u64() >> 11) * 0x1.0p-53; }

static double rng_range(double lo, double hi) { return lo + (hi - lo) * rng_unit(); }

/* ---- board construction ---------------------------------------------------- */

#define MAX_SHOTS 64
#define MAX_CUES 24
#define MAX_SUBS 12

typedef struct {
    vkr_storyboard sb;
    vkr_shot shots[MAX_SHOTS];
    vkr_cue cues[MAX_CUES];
    vkr_subtitle subs[MAX_SUBS];
} board;

static char text_shot[] = "shot subtitle", text_free[] = "free subtitle", prompt[] = "p";

static void board_init(board *b, int fps_num, int fps_den, int rate)
{
    memset(b, 0, sizeof *b);
    b->sb.output = (vkr_output_cfg){.width = 64, .height = 64, .fps_num = fps_num,
                                    .fps_den = fps_den, .sample_rate = rate, .channels = 2};
    b->sb.shots = b->shots;
    b->sb.cues = b->cues;
    b->sb.subtitles = b->subs;
}

static vkr_shot *add_shot(board *b, double duration)
{
    vkr_shot *s = &b->shots[b->sb.n_shots++];
    s->duration = duration;
    s->prompt = prompt;
    b->sb.total_duration += duration;
    return s;
}

static void add_crossfade(vkr_shot *s, double d)
{
    s->transition = VKR_TRANSITION_CROSSFADE;
    s->transition_duration = d;
}

static vkr_cue *add_cue(board *b, double start, double duration)
{
    vkr_cue *c = &b->cues[b->sb.n_cues++];
    c->start = c->at = start;
    c->duration = duration;
    c->prompt = prompt;
    return c;
}

static void add_subtitle(board *b, double start, double end)
{
    b->subs[b->sb.n_subtitles++] = (vkr_subtitle){.start = start, .end = end, .text = text_free};
}

/* ---- invariants ------------------------------------------------------------ */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Checks every property of tl against sb; returns the number of failed checks. */
static int check_timeline(const vkr_storyboard *sb, const vkr_timeline *tl)
{
    const int before = check_failed;
    const int64_t fn = sb->output.fps_num, fd = sb->output.fps_den, rate = sb->output.sample_rate;

    CHECK_EQ_INT(tl->n_shots, sb->n_shots);
    CHECK_EQ_INT(tl->fps_num, fn);
    CHECK_EQ_INT(tl->fps_den, fd);
    CHECK_EQ_INT(tl->sample_rate, rate);

    /* Shots: exact microsecond boundaries, independent rounding, tiling. */
    int64_t t = 0;
    int64_t dur[MAX_SHOTS];
    for (int i = 0; i < sb->n_shots && i < tl->n_shots; i++) {
        const vkr_tl_shot *s = &tl->shots[i];
        dur[i] = llround(sb->shots[i].duration * 1e6);
        CHECK(s->shot == i, "shot %d: index %d", i, s->shot);
        CHECK(s->start_us == t, "shot %d: start_us %" PRId64 ", expected %" PRId64, i,
              s->start_us, t);
        t += dur[i];
        CHECK(s->end_us == t, "shot %d: end_us %" PRId64 ", expected %" PRId64, i, s->end_us, t);
        CHECK(s->frame_begin == ref_index(s->start_us, fn, fd),
              "shot %d: frame_begin %" PRId64 ", expected %" PRId64 " (t=%" PRId64 " us, %" PRId64
              "/%" PRId64 " fps)", i, s->frame_begin, ref_index(s->start_us, fn, fd), s->start_us,
              fn, fd);
        CHECK(s->frame_end == ref_index(s->end_us, fn, fd),
              "shot %d: frame_end %" PRId64 ", expected %" PRId64, i, s->frame_end,
              ref_index(s->end_us, fn, fd));
        CHECK(s->sample_begin == ref_index(s->start_us, rate, 1),
              "shot %d: sample_begin %" PRId64 ", expected %" PRId64, i, s->sample_begin,
              ref_index(s->start_us, rate, 1));
        CHECK(s->sample_end == ref_index(s->end_us, rate, 1),
              "shot %d: sample_end %" PRId64 ", expected %" PRId64, i, s->sample_end,
              ref_index(s->end_us, rate, 1));
        CHECK(s->frame_begin <= s->frame_end && s->sample_begin <= s->sample_end,
              "shot %d: negative length", i);
        if (i == 0)
            CHECK(s->frame_begin == 0 && s->sample_begin == 0, "first shot starts at %" PRId64
                  "/%" PRId64, s->frame_begin, s->sample_begin);
        else
            CHECK(s->frame_begin == tl->shots[i - 1].frame_end &&
                      s->sample_begin == tl->shots[i - 1].sample_end,
                  "shot %d: gap or overlap: begins %" PRId64 "/%" PRId64 ", previous ends %" PRId64
                  "/%" PRId64, i, s->frame_begin, s->sample_begin, tl->shots[i - 1].frame_end,
                  tl->shots[i - 1].sample_end);
    }
    CHECK(tl->duration_us == t, "duration_us %" PRId64 ", expected %" PRId64, tl->duration_us, t);
    CHECK(tl->n_frames == ref_index(t, fn, fd), "n_frames %" PRId64 ", expected round(%" PRId64
          " us * %" PRId64 "/%" PRId64 ") = %" PRId64, tl->n_frames, t, fn, fd,
          ref_index(t, fn, fd));
    CHECK(tl->n_samples == ref_index(t, rate, 1), "n_samples %" PRId64 ", expected %" PRId64,
          tl->n_samples, ref_index(t, rate, 1));
    if (tl->n_shots > 0) {
        CHECK(tl->shots[tl->n_shots - 1].frame_end == tl->n_frames, "last shot ends at frame %"
              PRId64 " of %" PRId64, tl->shots[tl->n_shots - 1].frame_end, tl->n_frames);
        CHECK(tl->shots[tl->n_shots - 1].sample_end == tl->n_samples, "last shot ends at sample %"
              PRId64 " of %" PRId64, tl->shots[tl->n_shots - 1].sample_end, tl->n_samples);
    }

    /* Transitions: centred on the boundary in microseconds, inside the two
     * shots they join, never overlapping the neighbouring blends. */
    int64_t prev_half = 0;
    for (int i = 0; i < tl->n_shots; i++) {
        const vkr_tl_shot *s = &tl->shots[i];
        const vkr_shot *in = &sb->shots[i];
        int64_t half = 0;
        if (i > 0 && in->transition == VKR_TRANSITION_CROSSFADE) {
            half = llround(in->transition_duration * 0.5e6);
            if (half > dur[i])
                half = dur[i];
            if (half > dur[i - 1] - prev_half)
                half = dur[i - 1] - prev_half;
        }
        prev_half = half;
        CHECK(s->transition == (i > 0 ? in->transition : VKR_TRANSITION_CUT),
              "shot %d: transition %d", i, (int)s->transition);
        CHECK(s->xfade_us == 2 * half, "shot %d: xfade_us %" PRId64 ", expected %" PRId64, i,
              s->xfade_us, 2 * half);
        CHECK(s->xfade_frame_begin == ref_index(s->start_us - half, fn, fd) &&
                  s->xfade_frame_end == ref_index(s->start_us + half, fn, fd),
              "shot %d: xfade frames [%" PRId64 ", %" PRId64 "), expected [%" PRId64 ", %" PRId64
              ")", i, s->xfade_frame_begin, s->xfade_frame_end,
              ref_index(s->start_us - half, fn, fd), ref_index(s->start_us + half, fn, fd));
        CHECK(s->xfade_sample_begin == ref_index(s->start_us - half, rate, 1) &&
                  s->xfade_sample_end == ref_index(s->start_us + half, rate, 1),
              "shot %d: xfade samples [%" PRId64 ", %" PRId64 ")", i, s->xfade_sample_begin,
              s->xfade_sample_end);
        CHECK(s->xfade_frame_begin <= s->frame_begin && s->frame_begin <= s->xfade_frame_end &&
                  s->xfade_sample_begin <= s->sample_begin &&
                  s->sample_begin <= s->xfade_sample_end,
              "shot %d: blend does not straddle the boundary", i);
        /* Rounding both ends moves the centre by at most one index. */
        CHECK(llabs(s->xfade_frame_begin + s->xfade_frame_end - 2 * s->frame_begin) <= 1 &&
                  llabs(s->xfade_sample_begin + s->xfade_sample_end - 2 * s->sample_begin) <= 1,
              "shot %d: blend frames [%" PRId64 ", %" PRId64 ") not centred on %" PRId64, i,
              s->xfade_frame_begin, s->xfade_frame_end, s->frame_begin);
        if (half == 0)
            CHECK(s->xfade_frame_begin == s->frame_begin && s->xfade_frame_end == s->frame_begin &&
                      s->xfade_sample_begin == s->sample_begin &&
                      s->xfade_sample_end == s->sample_begin,
                  "shot %d: cut has a non-empty blend", i);
        if (i > 0) {
            const vkr_tl_shot *p = &tl->shots[i - 1];
            CHECK(s->xfade_frame_begin >= p->frame_begin && s->xfade_frame_end <= s->frame_end &&
                      s->xfade_sample_begin >= p->sample_begin &&
                      s->xfade_sample_end <= s->sample_end,
                  "shot %d: blend leaves the neighbouring shots", i);
            CHECK(p->xfade_frame_end <= s->xfade_frame_begin &&
                      p->xfade_sample_end <= s->xfade_sample_begin,
                  "shot %d: blend overlaps the previous shot's incoming blend", i);
        }
    }

    /* Cues: a permutation of the storyboard's, sorted by start then document
     * order, sample range from the exact start, frame containing the start. */
    CHECK_EQ_INT(tl->n_cues, sb->n_cues);
    char seen[MAX_CUES] = {0};
    for (int i = 0; i < tl->n_cues; i++) {
        const vkr_tl_cue *c = &tl->cues[i];
        CHECK(c->cue >= 0 && c->cue < sb->n_cues && !seen[c->cue], "cue %d: bad index %d", i,
              c->cue);
        if (c->cue < 0 || c->cue >= sb->n_cues)
            continue;
        seen[c->cue] = 1;
        const vkr_cue *in = &sb->cues[c->cue];
        int64_t start = llround(in->start * 1e6), end = start + llround(in->duration * 1e6);
        CHECK(c->start_us == start && c->end_us == end, "cue %d: [%" PRId64 ", %" PRId64
              ") us, expected [%" PRId64 ", %" PRId64 ")", c->cue, c->start_us, c->end_us, start,
              end);
        int64_t sb0 = min64(ref_index(start, rate, 1), tl->n_samples);
        int64_t sb1 = min64(ref_index(end, rate, 1), tl->n_samples);
        CHECK(c->sample_begin == sb0 && c->sample_end == sb1,
              "cue %d: samples [%" PRId64 ", %" PRId64 "), expected [%" PRId64 ", %" PRId64 ")",
              c->cue, c->sample_begin, c->sample_end, sb0, sb1);
        /* Frame k is on screen for samples with k <= s*fps/rate < k+1. */
        long double f = floorl((long double)c->sample_begin * fn / ((long double)rate * fd));
        int64_t frame = (int64_t)f;
        if (frame > tl->n_frames - 1)
            frame = tl->n_frames - 1; /* the last frame stays up to the clip end */
        if (frame < 0)
            frame = 0;
        CHECK(c->frame == frame, "cue %d: frame %" PRId64 ", expected %" PRId64
              " (sample %" PRId64 ")", c->cue, c->frame, frame, c->sample_begin);
        if (c->sample_begin < tl->n_samples && (int64_t)f < tl->n_frames)
            CHECK((__int128)c->frame * rate * fd <= (__int128)c->sample_begin * fn &&
                      (__int128)c->sample_begin * fn < (__int128)(c->frame + 1) * rate * fd,
                  "cue %d: frame %" PRId64 " does not contain sample %" PRId64, c->cue, c->frame,
                  c->sample_begin);
        if (i > 0) {
            const vkr_tl_cue *p = &tl->cues[i - 1];
            CHECK(p->start_us < c->start_us || (p->start_us == c->start_us && p->cue < c->cue),
                  "cues %d, %d out of order", i - 1, i);
        }
    }

    /* Subtitles: shot subtitles span their shot, free ones as given with the end
     * clamped (dropped when nothing is visible), stably sorted by start. */
    int n_expect = 0;
    for (int i = 0; i < sb->n_shots; i++)
        n_expect += sb->shots[i].subtitle != NULL;
    for (int i = 0; i < sb->n_subtitles; i++)
        n_expect += llround(sb->subtitles[i].start * 1e6) <
                    min64(llround(sb->subtitles[i].end * 1e6), tl->duration_us);
    CHECK_EQ_INT(tl->n_subtitles, n_expect);
    for (int i = 0; i < tl->n_subtitles; i++) {
        const vkr_tl_subtitle *s = &tl->subtitles[i];
        CHECK(s->start_us < s->end_us && s->end_us <= tl->duration_us && s->start_us >= 0,
              "subtitle %d: [%" PRId64 ", %" PRId64 ")", i, s->start_us, s->end_us);
        if (s->shot >= 0) {
            CHECK(s->shot < tl->n_shots && s->start_us == tl->shots[s->shot].start_us &&
                      s->end_us == tl->shots[s->shot].end_us &&
                      s->text == sb->shots[s->shot].subtitle,
                  "subtitle %d: does not span shot %d", i, s->shot);
        } else {
            CHECK(s->text == text_free, "subtitle %d: wrong text", i);
        }
        if (i > 0) {
            const vkr_tl_subtitle *p = &tl->subtitles[i - 1];
            CHECK(p->start_us <= s->start_us, "subtitles %d, %d out of order", i - 1, i);
            /* Stable: shot subtitles (document order) before free ones on ties. */
            if (p->start_us == s->start_us && p->shot >= 0 && s->shot >= 0)
                CHECK(p->shot < s->shot, "subtitles %d, %d: shot order not kept", i - 1, i);
            if (p->start_us == s->start_us)
                CHECK(!(p->shot < 0 && s->shot >= 0), "subtitles %d, %d: free before shot", i - 1,
                      i);
        }
    }
    return check_failed - before;
}

/* ---- hand-checked examples ------------------------------------------------- */

static void test_conversions(void)
{
    CHECK_EQ_INT(vkr_seconds_to_us(2.5), 2500000);
    CHECK_EQ_INT(vkr_seconds_to_us(-0.25), -250000);
    CHECK_EQ_INT(vkr_seconds_to_us(1.0 / 3.0), 333333);
    CHECK_EQ_INT(vkr_seconds_to_us(2.0 / 3.0), 666667);
    CHECK_EQ_INT(vkr_seconds_to_us(0.1), 100000);
    CHECK_EQ_INT(vkr_seconds_to_us(600.0), 600000000);
    CHECK_EQ_INT(vkr_seconds_to_us(0.001), 1000);

    CHECK_EQ_INT(vkr_us_to_index(1000000, 30, 1), 30);
    CHECK_EQ_INT(vkr_us_to_index(16666, 30, 1), 0);  /* 0.49998 */
    CHECK_EQ_INT(vkr_us_to_index(16667, 30, 1), 1);  /* 0.50001 */
    CHECK_EQ_INT(vkr_us_to_index(250000, 2, 1), 1);  /* exactly 0.5: halves up */
    CHECK_EQ_INT(vkr_us_to_index(750000, 2, 1), 2);  /* exactly 1.5 */
    CHECK_EQ_INT(vkr_us_to_index(-250000, 2, 1), 0); /* exactly -0.5: up is toward +inf */
    CHECK_EQ_INT(vkr_us_to_index(-250001, 2, 1), -1);
    CHECK_EQ_INT(vkr_us_to_index(-1, 30, 1), 0);
    CHECK_EQ_INT(vkr_us_to_index(600000000, 30000, 1001), 17982);       /* 17982.018 */
    CHECK_EQ_INT(vkr_us_to_index(600000000, 60000, 1001), 35964);       /* 35964.036 */
    CHECK_EQ_INT(vkr_us_to_index(600000000, 48000, 1), 28800000);
    CHECK_EQ_INT(vkr_us_to_index(1001000000, 30000, 1001), 30000);      /* exact */
    CHECK_EQ_INT(vkr_us_to_index(1000000 / 3, 44100, 1), 14700);         /* 14699.985 */
    /* Huge times stay exact (the product needs more than 64 bits). */
    CHECK_EQ_INT(vkr_us_to_index(INT64_C(4611686018427387904), 120000, 1001),
                 INT64_C(552849472738548));

    CHECK_EQ_INT(vkr_index_to_us(30, 30000, 1001), 1001000);
    CHECK_EQ_INT(vkr_index_to_us(1, 30000, 1001), 33366);  /* 33366.67 floors */
    CHECK_EQ_INT(vkr_index_to_us(1, 44100, 1), 22);        /* 22.68 floors */
    CHECK_EQ_INT(vkr_index_to_us(-1, 3, 1), -333334);      /* floor, not truncation */
    /* index -> us -> index is the identity at every rate below 1 MHz. */
    static const int64_t rates[][2] = {{30000, 1001}, {24, 1}, {96000, 1}, {44100, 1}, {1, 1}};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (int64_t i = 0; i < 100000; i += 97) {
            int64_t back = vkr_us_to_index(vkr_index_to_us(i, rates[r][0], rates[r][1]),
                                           rates[r][0], rates[r][1]);
            CHECK(back == i, "rate %" PRId64 "/%" PRId64 ": index %" PRId64 " -> %" PRId64,
                  rates[r][0], rates[r][1], i, back);
        }
}

static void test_thirds_at_30fps(void)
{
    board b;
    vkr_timeline tl;
    board_init(&b, 30, 1, 48000);
    for (int i = 0; i < 3; i++)
        add_shot(&b, 1.0 / 3.0);
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    check_timeline(&b.sb, &tl);
    /* 333333 us each: boundaries at 333333, 666666, 999999 us. */
    CHECK_EQ_INT(tl.duration_us, 999999);
    CHECK_EQ_INT(tl.n_frames, 30);
    CHECK_EQ_INT(tl.n_samples, 48000);
    static const int64_t frames[] = {0, 10, 20, 30}, samples[] = {0, 16000, 32000, 48000};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(tl.shots[i].frame_begin, frames[i]);
        CHECK_EQ_INT(tl.shots[i].frame_end, frames[i + 1]);
        CHECK_EQ_INT(tl.shots[i].sample_begin, samples[i]);
        CHECK_EQ_INT(tl.shots[i].sample_end, samples[i + 1]);
    }
    vkr_timeline_free(&tl);
}

static void test_ntsc_600s(void)
{
    board b;
    vkr_timeline tl;
    /* One 600 s shot at 29.97 fps. */
    board_init(&b, 30000, 1001, 48000);
    add_shot(&b, 600.0);
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    CHECK_EQ_INT(tl.n_frames, 17982);
    CHECK_EQ_INT(tl.n_samples, 28800000);
    vkr_timeline_free(&tl);

    /* The same clip as 600 one-second shots can't fit in a board struct here;
     * use 60 ten-second shots: boundary k at round(10k * 29.97...) frames. */
    board_init(&b, 30000, 1001, 44100);
    for (int i = 0; i < 60; i++)
        add_shot(&b, 10.0);
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    check_timeline(&b.sb, &tl);
    CHECK_EQ_INT(tl.n_frames, 17982);
    CHECK_EQ_INT(tl.n_samples, 26460000);
    CHECK_EQ_INT(tl.shots[0].frame_end, 300);   /* 299.7 */
    CHECK_EQ_INT(tl.shots[1].frame_end, 599);   /* 599.4 */
    CHECK_EQ_INT(tl.shots[2].frame_end, 899);   /* 899.1 */
    CHECK_EQ_INT(tl.shots[3].frame_end, 1199);  /* 1198.8 */
    CHECK_EQ_INT(tl.shots[33].frame_end, 10190); /* 340 s: 10189.81 */
    /* Adding per-shot rounded counts would drift: 60 x round(299.7) = 18000. */
    int64_t total = 0;
    for (int i = 0; i < 60; i++)
        total += tl.shots[i].frame_end - tl.shots[i].frame_begin;
    CHECK_EQ_INT(total, 17982);
    vkr_timeline_free(&tl);
}

static void test_crossfades(void)
{
    board b;
    vkr_timeline tl;
    board_init(&b, 24, 1, 48000);
    add_crossfade(add_shot(&b, 2.0), 1.0);
    add_crossfade(add_shot(&b, 2.0), 0.5);
    add_crossfade(add_shot(&b, 0.2), 1.0); /* clamped to the whole 0.2 s shot */
    add_shot(&b, 1.0);                     /* a cut */
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    check_timeline(&b.sb, &tl);
    /* Boundary at 2 s = frame 48; the blend covers [1.75 s, 2.25 s). */
    CHECK_EQ_INT(tl.shots[1].xfade_us, 500000);
    CHECK_EQ_INT(tl.shots[1].xfade_frame_begin, 42);
    CHECK_EQ_INT(tl.shots[1].xfade_frame_end, 54);
    CHECK_EQ_INT(tl.shots[1].xfade_sample_begin, 84000);
    CHECK_EQ_INT(tl.shots[1].xfade_sample_end, 108000);
    /* Boundary at 4 s, half-width min(0.5, 0.2, 2 - 0.25) = 0.2 s: [3.8 s, 4.2 s). */
    CHECK_EQ_INT(tl.shots[2].xfade_us, 400000);
    CHECK_EQ_INT(tl.shots[2].xfade_frame_begin, 91);  /* 91.2 */
    CHECK_EQ_INT(tl.shots[2].xfade_frame_end, 101);   /* 100.8 */
    CHECK_EQ_INT(tl.shots[2].xfade_sample_begin, 182400);
    CHECK_EQ_INT(tl.shots[2].xfade_sample_end, 201600);
    /* The cut: empty at the boundary (4.2 s = frame 100.8 -> 101). */
    CHECK_EQ_INT(tl.shots[3].transition, VKR_TRANSITION_CUT);
    CHECK_EQ_INT(tl.shots[3].xfade_frame_begin, 101);
    CHECK_EQ_INT(tl.shots[3].xfade_frame_end, 101);
    /* A crossfade written on the first shot is ignored: it has no predecessor. */
    CHECK_EQ_INT(tl.shots[0].transition, VKR_TRANSITION_CUT);
    CHECK_EQ_INT(tl.n_frames, 125); /* 5.2 s * 24 = 124.8 */
    vkr_timeline_free(&tl);
}

/* The longest crossfades the storyboard validator accepts: a half as long as a
 * whole neighbour, and a shot filled exactly by its incoming and outgoing halves. */
static void test_full_length_crossfades(void)
{
    board b;
    vkr_timeline tl;
    board_init(&b, 25, 1, 8000);
    add_shot(&b, 1.0);
    add_crossfade(add_shot(&b, 1.0), 2.0); /* blends over the whole of both shots */
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    check_timeline(&b.sb, &tl);
    CHECK_EQ_INT(tl.shots[1].xfade_us, 2000000);
    CHECK_EQ_INT(tl.shots[1].xfade_frame_begin, 0);
    CHECK_EQ_INT(tl.shots[1].xfade_frame_end, 50);
    CHECK_EQ_INT(tl.shots[1].xfade_sample_end, 16000);
    vkr_timeline_free(&tl);

    board_init(&b, 25, 1, 8000);
    add_shot(&b, 3.0);
    add_crossfade(add_shot(&b, 1.0), 1.2);  /* 0.6 s into the 1 s shot ... */
    add_crossfade(add_shot(&b, 3.0), 0.8);  /* ... and 0.4 s out of it: exactly full */
    add_crossfade(add_shot(&b, 0.5), 10.0); /* room left: 3 - 0.4 before, 0.5 after */
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    check_timeline(&b.sb, &tl);
    CHECK_EQ_INT(tl.shots[1].xfade_us, 1200000);
    CHECK_EQ_INT(tl.shots[2].xfade_us, 800000);
    CHECK_EQ_INT(tl.shots[1].xfade_frame_end, tl.shots[2].xfade_frame_begin); /* they touch */
    CHECK_EQ_INT(tl.shots[3].xfade_us, 1000000);
    CHECK_EQ_INT(tl.shots[3].xfade_frame_end, tl.n_frames);
    vkr_timeline_free(&tl);
}

static void test_tiny_shot_and_cues(void)
{
    board b;
    vkr_timeline tl;
    board_init(&b, 24, 1, 48000);
    add_shot(&b, 1.0)->subtitle = text_shot;
    add_shot(&b, 0.001);
    add_shot(&b, 1.0)->subtitle = text_shot;
    add_cue(&b, 1.5, 10.0);   /* runs past the end: clamped */
    add_cue(&b, 0.5, 0.25);
    add_cue(&b, 0.5, 0.1);    /* same start: stays after the previous one */
    add_cue(&b, 2.0009, 0.5); /* starts inside the last frame's extended display */
    add_subtitle(&b, 1.8, 5.0);  /* end clamped to 2.001 s */
    add_subtitle(&b, 0.0, 0.5);  /* same start as the first shot's: after it */
    add_subtitle(&b, 2.5, 3.0);  /* wholly after the clip: dropped */
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    check_timeline(&b.sb, &tl);
    /* 1.001 s is frame 24.024 -> 24: the 1 ms shot has no frame but 48 samples. */
    CHECK_EQ_INT(tl.shots[1].frame_begin, 24);
    CHECK_EQ_INT(tl.shots[1].frame_end, 24);
    CHECK_EQ_INT(tl.shots[1].sample_begin, 48000);
    CHECK_EQ_INT(tl.shots[1].sample_end, 48048);
    CHECK_EQ_INT(tl.n_frames, 48);
    CHECK_EQ_INT(tl.n_samples, 96048);

    CHECK_EQ_INT(tl.n_cues, 4);
    CHECK_EQ_INT(tl.cues[0].cue, 1);
    CHECK_EQ_INT(tl.cues[1].cue, 2);
    CHECK_EQ_INT(tl.cues[2].cue, 0);
    CHECK_EQ_INT(tl.cues[3].cue, 3);
    CHECK_EQ_INT(tl.cues[0].sample_begin, 24000);
    CHECK_EQ_INT(tl.cues[0].sample_end, 36000);
    CHECK_EQ_INT(tl.cues[0].frame, 12);
    CHECK_EQ_INT(tl.cues[2].sample_begin, 72000);
    CHECK_EQ_INT(tl.cues[2].sample_end, 96048);
    CHECK_EQ_INT(tl.cues[2].frame, 36);
    CHECK_EQ_INT(tl.cues[3].sample_begin, 96043);
    CHECK_EQ_INT(tl.cues[3].frame, 47); /* 48.02 by time, but frame 47 is the last */

    CHECK_EQ_INT(tl.n_subtitles, 4);
    CHECK_EQ_INT(tl.subtitles[0].shot, 0);
    CHECK_EQ_INT(tl.subtitles[1].shot, -1);
    CHECK_EQ_INT(tl.subtitles[1].end_us, 500000);
    CHECK_EQ_INT(tl.subtitles[2].shot, 2);
    CHECK_EQ_INT(tl.subtitles[2].start_us, 1001000);
    CHECK_EQ_INT(tl.subtitles[3].start_us, 1800000);
    CHECK_EQ_INT(tl.subtitles[3].end_us, 2001000);
    vkr_timeline_free(&tl);
}

static void test_errors(void)
{
    board b;
    vkr_timeline tl;
    board_init(&b, 24, 1, 48000);
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA); /* no shots */
    CHECK(tl.shots == NULL && tl.n_shots == 0, "failed build left shots");
    add_shot(&b, 1.0);
    b.sb.output.fps_num = 0;
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA);
    b.sb.output.fps_num = 24;
    b.sb.output.sample_rate = -1;
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA);
    b.sb.output.sample_rate = 48000;
    add_shot(&b, 0.0);
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA);
    b.shots[1].duration = NAN;
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA);
    b.shots[1].duration = 1e-7; /* rounds to 0 us */
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA);
    CHECK(tl.shots == NULL && tl.n_shots == 0, "failed build left shots");
    b.shots[1].duration = 1.0;
    add_cue(&b, -1.0, 1.0);
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA);
    b.cues[0].start = 0.0;
    add_subtitle(&b, 1.0, 1.0);
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_E_DATA);
    CHECK(tl.cues == NULL && tl.subtitles == NULL, "failed build left cues or subtitles");
    b.subs[0].end = 1.5;
    CHECK_EQ_INT(vkr_timeline_build(&b.sb, &tl), VKR_OK);
    vkr_timeline_free(&tl);
    vkr_timeline_free(&tl); /* freeing twice is harmless: free zeroes */
}

/* ---- property test ----------------------------------------------------------- */

static void random_rates(int *num, int *den, int *rate)
{
    static const int ntsc[][2] = {{24000, 1001}, {30000, 1001}, {60000, 1001}, {120000, 1001},
                                  {48000, 1001}, {25, 2},       {15, 2},       {1, 1},
                                  {120, 1}};
    static const int rates[] = {8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000};
    switch (rng_int(0, 2)) {
    case 0: *num = rng_int(1, 120), *den = 1; break;
    case 1: *num = ntsc[rng_int(0, 8)][0], *den = ntsc[rng_int(0, 8)][1]; break;
    default: /* any fraction in [1, 120] fps */
        *den = rng_int(1, 1001);
        *num = rng_int(*den, 120 * *den);
        break;
    }
    if (*num > 120 * *den) /* mixed pairs from the table can exceed 120 fps */
        *num = 120 * *den;
    *rate = rng_int(0, 1) ? rates[rng_int(0, 9)] : rng_int(8000, 96000);
}

static double random_duration(int mode, double budget)
{
    double d;
    switch (mode) {
    case 0: d = rng_int(0, 3) ? rng_range(0.001, 0.05) : 0.001; break; /* tiny */
    case 1: d = rng_range(0.001, 12.0); break;
    case 2: d = rng_range(5.0, 40.0); break;                         /* long boards */
    default: d = (double)rng_int(1, 120) / rng_int(1, 7); break;     /* thirds, sevenths... */
    }
    return d < budget ? d : budget;
}

static void test_random_boards(int n_boards)
{
    board *b = malloc(sizeof *b);
    int failed_boards = 0;
    int64_t max_frames = 0;
    for (int k = 0; k < n_boards && failed_boards < 3 && b; k++) {
        int num, den, rate;
        random_rates(&num, &den, &rate);
        board_init(b, num, den, rate);
        int mode = rng_int(0, 3), n_shots = rng_int(1, MAX_SHOTS);
        double budget = VKR_STORYBOARD_MAX_SECONDS;
        for (int i = 0; i < n_shots && budget >= 0.001; i++) {
            double d = random_duration(mode, budget);
            budget -= d;
            vkr_shot *s = add_shot(b, d);
            s->seed = rng_u64();
            if (i > 0 && rng_int(0, 1))
                add_crossfade(s, rng_int(0, 4) ? rng_range(0.0, 2.0) : rng_range(0.0, 60.0));
            if (rng_int(0, 3) == 0)
                s->subtitle = text_shot;
        }
        double total = b->sb.total_duration;
        for (int i = rng_int(0, MAX_CUES); i > 0; i--) {
            /* Mostly inside the clip; some exactly at boundaries or past the end. */
            double start = rng_int(0, 9) ? rng_range(0.0, total) : rng_range(0.0, total * 1.2);
            if (rng_int(0, 7) == 0) { /* exactly on a shot boundary */
                start = 0.0;
                for (int j = rng_int(0, b->sb.n_shots); j > 0; j--)
                    start += b->shots[j - 1].duration;
            }
            add_cue(b, start, rng_int(0, 3) ? rng_range(0.001, 5.0) : rng_range(1.0, 700.0));
        }
        for (int i = rng_int(0, MAX_SUBS); i > 0; i--) {
            double start = rng_range(0.0, total * 1.1);
            add_subtitle(b, start, start + rng_range(0.001, 10.0));
        }

        vkr_timeline tl;
        int ret = vkr_timeline_build(&b->sb, &tl);
        CHECK(ret == VKR_OK, "board %d: build failed: %s", k, vkr_last_error());
        if (ret == VKR_OK) {
            if (check_timeline(&b->sb, &tl)) {
                failed_boards++;
                fprintf(stderr, "  ^ board %d: %d shots, %.9g s, %d/%d fps, %d Hz\n", k,
                        b->sb.n_shots, total, num, den, rate);
            }
            if (tl.n_frames > max_frames)
                max_frames = tl.n_frames;
            vkr_timeline_free(&tl);
        }
    }
    printf("random boards: %d checked, longest %" PRId64 " frames\n", n_boards, max_frames);
    free(b);
}

/* Every integer rate 1..120 fps and the NTSC family, each with a 600 s board of
 * 64 shots whose lengths are not whole microseconds, against every sample rate. */
static void test_rate_sweep(void)
{
    static const int ntsc[][2] = {{24000, 1001}, {30000, 1001}, {60000, 1001}, {120000, 1001}};
    static const int rates[] = {8000, 11025, 22050, 44100, 48000, 96000};
    board *b = malloc(sizeof *b);
    int bad = 0;
    for (int f = 1; f <= 120 + 4 && b && bad < 3; f++) {
        int num = f <= 120 ? f : ntsc[f - 121][0], den = f <= 120 ? 1 : ntsc[f - 121][1];
        board_init(b, num, den, rates[f % 6]);
        double left = VKR_STORYBOARD_MAX_SECONDS;
        for (int i = 0; i < MAX_SHOTS - 1; i++) {
            double d = rng_range(0.001, 2 * left / (MAX_SHOTS - i));
            add_shot(b, d);
            left -= d;
        }
        add_shot(b, left > 0.001 ? left : 0.001);
        vkr_timeline tl;
        CHECK_EQ_INT(vkr_timeline_build(&b->sb, &tl), VKR_OK);
        if (check_timeline(&b->sb, &tl))
            bad++, fprintf(stderr, "  ^ sweep at %d/%d fps\n", num, den);
        /* 600 s, to within the rounding of 64 durations (and the 1 ms floor). */
        CHECK(llabs(tl.duration_us - 600000000) <= 1064, "sweep total %" PRId64 " us",
              tl.duration_us);
        vkr_timeline_free(&tl);
    }
    free(b);
}

int main(void)
{
    _Static_assert(LDBL_MANT_DIG >= 64, "the long double reference needs 64-bit mantissas");
    test_conversions();
    test_thirds_at_30fps();
    test_ntsc_600s();
    test_crossfades();
    test_full_length_crossfades();
    test_tiny_shot_and_cues();
    test_errors();
    test_rate_sweep();
    test_random_boards(20000);
    return check_summary("test_timeline");
}
