// GELU, erf form (PyTorch's default, approximate='none').
// erf by Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below fp32 rounding of the result.
float vittm_erf(float x)
{
  float t = 1.0 / (1.0 + 0.3275911 * abs(x));
  float poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
                + 0.254829592) * t;
  return sign(x) * (1.0 - poly * exp(-x * x));
}

float vittm_gelu(float x)
{
  return 0.5 * x * (1.0 + vittm_erf(x * 0.70710678118654752));
}
