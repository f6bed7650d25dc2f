// Workgroup-wide sum and max. With VITTM_SUBGROUP_REDUCE the host makes the workgroup one
// subgroup (WG_SIZE = the subgroup size) and subgroup operations do it without shared memory
// or barriers; the includer then enables GL_KHR_shader_subgroup_arithmetic. Otherwise a tree
// through shared memory, for any power-of-two WG_SIZE: the includer declares
// `shared float red[WG_SIZE];`.
#ifdef VITTM_SUBGROUP_REDUCE
float wg_reduce_sum(float v)
{
  return subgroupAdd(v);
}

float wg_reduce_max(float v)
{
  return subgroupMax(v);
}
#else
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
      red[gl_LocalInvocationID.x] =
          max(red[gl_LocalInvocationID.x], red[gl_LocalInvocationID.x + s]);
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}
#endif
