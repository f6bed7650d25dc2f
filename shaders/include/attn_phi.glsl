// ViTTM's linear-attention feature map φ(x) = elu(x) + 1: x + 1 for x > 0, else exp(x).
float attn_phi(float x)
{
  return x > 0.0 ? x + 1.0 : exp(x);
}
