// Workgroup-wide sum and max through shared memory. No subgroup size is assumed: the tree
// works for any power-of-two WG_SIZE. The includer declares `shared float red[WG_SIZE];`.
float wg_reduce_sum(float v)
{
  red[gl_LocalInvocationID.x] = v;
  barrier();
  for (uint s = WG_SIZE / 2; s > 0; s >>= 1) {
    if (gl_LocalInvocationID.x < s)
      red[gl_LocalInvocationID.x] += red[gl_LocalInvocationID.x + s];
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}

float wg_reduce_max(float v)
{
  red[gl_LocalInvocationID.x] = v;
  barrier();
  for (uint s = WG_SIZE / 2; s > 0; s >>= 1) {
    if (gl_LocalInvocationID.x < s)
      red[gl_LocalInvocationID.x] = max(red[gl_LocalInvocationID.x], red[gl_LocalInvocationID.x + s]);
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}
