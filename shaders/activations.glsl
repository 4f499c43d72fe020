/* Activation functions in f32, shared by the elementwise kernels and by fused
 * epilogues of other kernels. Each matches the diffusers/PyTorch definition
 * named in its comment (see gpu/ref_eltwise.c for the plain-C reference). */

/* tanh with the argument clamped: some drivers evaluate tanh through exp and
 * return NaN for |x| > ~44; tanh(15) is 1 in f32 already. */
float vkr_tanh(float x) { return tanh(clamp(x, -15.0, 15.0)); }

float vkr_sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

/* torch.nn.SiLU: x * sigmoid(x) */
float vkr_silu(float x) { return x / (1.0 + exp(-x)); }

/* erf: Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7 (GLSL has no erf). */
float vkr_erf(float x)
{
    float t = 1.0 / (1.0 + 0.3275911 * abs(x));
    float y = 1.0 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
                        exp(-x * x);
    return x >= 0.0 ? y : -y;
}

/* torch.nn.GELU() (approximate="none"): 0.5 x (1 + erf(x / sqrt 2)) */
float vkr_gelu_erf(float x) { return 0.5 * x * (1.0 + vkr_erf(x * 0.70710678118654752)); }

/* torch.nn.GELU(approximate="tanh") / "gelu_new": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
float vkr_gelu_tanh(float x) { return 0.5 * x * (1.0 + vkr_tanh(0.79788456080286536 * (x + 0.044715 * x * x * x))); }

/* CLIP's quick_gelu: x * sigmoid(1.702 x) */
float vkr_quick_gelu(float x) { return x * vkr_sigmoid(1.702 * x); }
