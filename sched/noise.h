/* Reproducible initial noise: a counter-based generator, so element i of a
 * latent tensor depends only on (seed, stream, i) — the same latents on every
 * device, thread count and chunking.
 *
 * Specification (docs/samplers.md has it in full):
 *   key      = (seed & 0xffffffff, seed >> 32)
 *   block b  = Philox4x32-10(counter = (b & 0xffffffff, b >> 32,
 *                                       stream & 0xffffffff, stream >> 32), key)
 *              -> 32-bit words w0 w1 w2 w3
 *   u_j      = (w_j + 0.5) / 2^32             (in (0, 1), exact in double)
 *   element 4b+0 = r0 cos(2 pi u1), 4b+1 = r0 sin(2 pi u1),   r0 = sqrt(-2 ln u0)
 *   element 4b+2 = r1 cos(2 pi u3), 4b+3 = r1 sin(2 pi u3),   r1 = sqrt(-2 ln u2)
 *   computed in double, rounded to float32.
 * It is not torch.randn: to reproduce a diffusers run exactly, inject its noise
 * with vkr_noise_load_latents (the CLI's --latents FILE.safetensors). */
#ifndef VKR_NOISE_H
#define VKR_NOISE_H

#include <stddef.h>
#include <stdint.h>

/* One Philox4x32 block with 10 rounds (Salmon et al., SC'11; Random123). */
void vkr_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Standard normals for elements first .. first+n-1 of (seed, stream). */
void vkr_noise_normal(uint64_t seed, uint64_t stream, uint64_t first, float *out, size_t n);

/* Reads initial latents from a safetensors file: the tensor named "latents",
 * else "in.latents" (the golden pipeline cases), else the file's only tensor.
 * Its shape must equal shape[0..ndim) (leading 1-sized dimensions on either
 * side are ignored). Any float or integer dtype is converted to float32. */
int vkr_noise_load_latents(const char *path, const int64_t *shape, int ndim, float *out);

#endif
