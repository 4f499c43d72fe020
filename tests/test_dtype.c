/* f16 / bf16 conversions: every half value decodes as the IEEE formula says;
 * encoding rounds to nearest, ties to even, checked as a property against the
 * neighbouring representable values (and against the compiler's _Float16
 * where available) over a sweep of f32 bit patterns plus every rounding
 * midpoint; dtype names and sizes. */
#include "check.h"
#include "common/dtype.h"

#include <float.h>
#include <stdint.h>

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Reference decoding of a half, straight from the IEEE 754 definition. */
static double half_value(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static void test_f16_decode(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vkr_f16_to_f32((uint16_t)h);
        double ref = half_value((uint16_t)h);
        if (isnan(ref) ? !isnan(f) : (double)f != ref || !signbit(f) != !signbit(ref)) {
            if (bad++ < 5)
                fprintf(stderr, "f16 0x%04x -> %.9g, expected %.9g\n", h, f, ref);
        }
        /* Round trip: every half is exactly representable in f32. */
        uint16_t back = vkr_f32_to_f16(f);
        int same = isnan(ref) ? ((back & 0x7c00) == 0x7c00 && (back & 0x3ff) && (back >> 15) == (h >> 15))
                              : back == h;
        if (!same && bad++ < 5)
            fprintf(stderr, "f16 0x%04x round trip -> 0x%04x\n", h, back);
    }
    CHECK(bad == 0, "%d half values decode or round-trip wrongly", bad);
}

/* Is h the correctly rounded half of x (nearest, ties to even, overflow
 * to infinity at 65520 as IEEE specifies)? */
static int half_is_rounded(float x, uint16_t h)
{
    if (isnan(x))
        return (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    double ax = fabs((double)x);
    if ((h >> 15) != (signbit(x) ? 1 : 0) && !(ax == 0))
        return 0;
    uint16_t mag = h & 0x7fff;
    if (ax >= 65520.0)
        return mag == 0x7c00;
    if (mag >= 0x7c00)
        return 0;
    double v = half_value(mag), d = fabs(ax - v);
    double up = mag < 0x7bff ? fabs(half_value((uint16_t)(mag + 1)) - ax) : INFINITY;
    double down = mag > 0 ? fabs(ax - half_value((uint16_t)(mag - 1))) : INFINITY;
    if (d > up || d > down)
        return 0;
    if ((d == up || d == down) && (mag & 1))
        return 0; /* a tie must go to the even mantissa */
    return 1;
}

static int bf16_is_rounded(float x, uint16_t b)
{
    if (isnan(x))
        return (b & 0x7f80) == 0x7f80 && (b & 0x7f);
    if (isinf(x))
        return b == (f32_bits(x) >> 16);
    uint32_t u = f32_bits(x);
    uint16_t lo = (uint16_t)(u >> 16); /* truncation: the candidate below |x| */
    double ax = fabs((double)x);
    double vlo = fabs((double)vkr_bf16_to_f32(lo));
    double vhi = (lo & 0x7fff) == 0x7f7f ? ldexp(1.0, 128) /* rounds to inf past max */
                                         : fabs((double)vkr_bf16_to_f32((uint16_t)(lo + 1)));
    uint16_t want;
    if (ax - vlo < vhi - ax)
        want = lo;
    else if (ax - vlo > vhi - ax)
        want = (uint16_t)(lo + 1);
    else
        want = (lo & 1) ? (uint16_t)(lo + 1) : lo;
    return b == want;
}

static void test_encode(void)
{
    int bad16 = 0, badbf = 0, badref = 0;
    long n = 0;
    /* A sweep of bit patterns (both signs, all exponents)... */
    for (uint64_t u = 0; u <= 0xffffffffu; u += 4093) {
        float x = bits_f32((uint32_t)u);
        n++;
        uint16_t h = vkr_f32_to_f16(x), b = vkr_f32_to_bf16(x);
        if (!half_is_rounded(x, h) && bad16++ < 5)
            fprintf(stderr, "f32 %a (0x%08x) -> f16 0x%04x\n", x, (uint32_t)u, h);
        if (!bf16_is_rounded(x, b) && badbf++ < 5)
            fprintf(stderr, "f32 %a (0x%08x) -> bf16 0x%04x\n", x, (uint32_t)u, b);
#ifdef __FLT16_MAX__
        _Float16 r = (_Float16)x;
        uint16_t rb;
        memcpy(&rb, &r, 2);
        if (!isnan(x) && rb != h && badref++ < 5)
            fprintf(stderr, "f32 %a -> 0x%04x, _Float16 gives 0x%04x\n", x, h, rb);
#endif
    }
    /* ...and every f16 rounding midpoint, exactly and one f32 ulp either side. */
    for (uint32_t m = 0; m < 0x7c00; m++) {
        double mid = (half_value((uint16_t)m) + half_value((uint16_t)(m + 1))) / 2;
        float x = (float)mid; /* exact: a half midpoint has 12 significant bits */
        float xs[3] = {nextafterf(x, 0), x, nextafterf(x, INFINITY)};
        for (int k = 0; k < 3; k++)
            for (int sign = 0; sign < 2; sign++) {
                float v = sign ? -xs[k] : xs[k];
                uint16_t h = vkr_f32_to_f16(v);
                n++;
                if (!half_is_rounded(v, h) && bad16++ < 10)
                    fprintf(stderr, "midpoint f32 %a -> f16 0x%04x\n", v, h);
            }
    }
    printf("encode: %ld values checked\n", n);
    CHECK(bad16 == 0, "%d f32->f16 conversions not correctly rounded", bad16);
    CHECK(badbf == 0, "%d f32->bf16 conversions not correctly rounded", badbf);
    CHECK(badref == 0, "%d f32->f16 conversions differ from _Float16", badref);

    /* Named corner cases. */
    CHECK_EQ_INT(vkr_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(vkr_f32_to_f16(65519.99f), 0x7bff);
    CHECK_EQ_INT(vkr_f32_to_f16(65520.0f), 0x7c00);
    CHECK_EQ_INT(vkr_f32_to_f16(-1e9f), 0xfc00);
    CHECK_EQ_INT(vkr_f32_to_f16(ldexpf(1, -24)), 0x0001);
    CHECK_EQ_INT(vkr_f32_to_f16(ldexpf(1, -25)), 0x0000); /* tie -> even (zero) */
    CHECK_EQ_INT(vkr_f32_to_f16(ldexpf(1.5f, -25)), 0x0001);
    CHECK_EQ_INT(vkr_f32_to_f16(ldexpf(1, -14)), 0x0400); /* smallest normal */
    CHECK_EQ_INT(vkr_f32_to_f16(-0.0f), 0x8000);
    CHECK_EQ_INT(vkr_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00); /* tie -> even */
    CHECK_EQ_INT(vkr_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3c02);
    CHECK(isnan(vkr_f16_to_f32(vkr_f32_to_f16(NAN))), "NaN stays NaN");
    CHECK_EQ_INT(vkr_f32_to_bf16(bits_f32(0x3f808000)), 0x3f80); /* tie -> even */
    CHECK_EQ_INT(vkr_f32_to_bf16(bits_f32(0x3f818000)), 0x3f82);
    CHECK_EQ_INT(vkr_f32_to_bf16(FLT_MAX), 0x7f80);
    CHECK_EQ_INT(vkr_f32_to_bf16(-INFINITY), 0xff80);
    CHECK(isnan(vkr_bf16_to_f32(vkr_f32_to_bf16(NAN))), "bf16 NaN stays NaN");
    CHECK(isnan(vkr_bf16_to_f32(vkr_f32_to_bf16(bits_f32(0x7f800001)))),
          "a NaN with only low payload bits must not become Inf");
    CHECK(vkr_bf16_to_f32(0x4049) == 3.140625f, "bf16 decode");
}

static void test_names(void)
{
    size_t sizes[VKR_DTYPE_COUNT] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
    for (int t = 0; t < VKR_DTYPE_COUNT; t++) {
        vkr_dtype back;
        CHECK(vkr_dtype_from_name(vkr_dtype_name((vkr_dtype)t), &back) && back == (vkr_dtype)t,
              "name round trip %d", t);
        CHECK(vkr_dtype_size((vkr_dtype)t) == sizes[t], "size of %s", vkr_dtype_name((vkr_dtype)t));
    }
    vkr_dtype d;
    CHECK(!vkr_dtype_from_name("F8_E4M3", &d) && !vkr_dtype_from_name("", &d) &&
              !vkr_dtype_from_name("f32", &d),
          "unknown names rejected");
    CHECK_EQ_INT(vkr_dtype_size(VKR_DTYPE_COUNT), 0);
    CHECK_EQ_STR(vkr_dtype_name((vkr_dtype)99), "?");
}

int main(void)
{
    test_f16_decode();
    test_encode();
    test_names();
    return check_summary("test_dtype");
}
