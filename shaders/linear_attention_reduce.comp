#version 450
// Linear attention, stage 2 of 3: slot 0 of the scratch buffer += slots 1 … groups−1, in slot
// order, so that the sums do not depend on scheduling (no float atomics).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;

layout(std430, set = 0, binding = 0) buffer BufS { float scratch[]; };

layout(push_constant) uniform Push {
  uint count; // floats per slot
  uint groups;
} p;

void main()
{
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
    float s = scratch[i];
    for (uint g = 1; g < p.groups; g++)
      s += scratch[g * p.count + i];
    scratch[i] = s;
  }
}
