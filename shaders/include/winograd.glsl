// Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks"): a 3×3 convolution's m×m output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A of
// its (m + 2)×(m + 2) input tile d and the kernel g: (m + 2)² products per channel pair
// instead of 9·m². Three kernels share these matrices (segmenter/ops/gemm.c, Winograd):
// winograd_input.comp (V = Bᵀ d B), winograd_weight.comp (U = G g Gᵀ) and
// winograd_output.comp (Y = Aᵀ M A). TILE (m) is 2 or 4: F(2×2) multiplies 2.25× less than
// the direct sum with transforms of 0 and ±1 (±½ in G), F(4×4) 4× less with larger ones,
// which cost fp32 a few bits: its interpolation points 0, ±1, ½, -2 (and ∞) lose a third as
// many as the usual 0, ±1, ±2 (largest error over 520 channels, simulated in numpy against
// float64: 0.6–0.7 against 1.5–2.3 times 2e-5 of the output's magnitude).
layout(constant_id = 1) const uint TILE = 4;
const uint ALPHA = TILE + 2u; // the input tile's side

// Bᵀ, G and Aᵀ row-major; F(2×2)'s in the first rows and columns of the 6-wide arrays.
const float BT2[36] = float[](1, 0, -1, 0, 0, 0,  0, 1, 1, 0, 0, 0,  0, -1, 1, 0, 0, 0,
                              0, 1, 0, -1, 0, 0,  0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0);
const float BT4[36] = float[](1, -1.5, -2, 1.5, 1, 0,  0, -1, 0.5, 2.5, 1, 0,
                              0, 1, -2.5, 0.5, 1, 0,  0, -2, -1, 2, 1, 0,
                              0, 0.5, -1, -0.5, 1, 0,  0, 1, -1.5, -2, 1.5, 1);
const float G2[18] = float[](1, 0, 0,  0.5, 0.5, 0.5,  0.5, -0.5, 0.5,  0, 0, 1,  0, 0, 0,
                             0, 0, 0);
const float G4[18] = float[](1, 0, 0,  1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0,
                             -1.0 / 3.0, 1.0 / 3.0, -1.0 / 3.0,
                             -16.0 / 15.0, -8.0 / 15.0, -4.0 / 15.0,
                             1.0 / 15.0, -2.0 / 15.0, 4.0 / 15.0,  0, 0, 1);
const float AT2[24] = float[](1, 1, 1, 0, 0, 0,  0, 1, -1, -1, 0, 0,  0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0);
const float AT4[24] = float[](1, 1, 1, 1, 1, 0,  0, 1, -1, 0.5, -2, 0,  0, 1, 1, 0.25, 4, 0,
                              0, 1, -1, 0.125, -8, 1);

float winograd_bt(uint i, uint j) { return TILE == 2u ? BT2[i * 6u + j] : BT4[i * 6u + j]; }
float winograd_g(uint i, uint j) { return TILE == 2u ? G2[i * 3u + j] : G4[i * 3u + j]; }
float winograd_at(uint i, uint j) { return TILE == 2u ? AT2[i * 6u + j] : AT4[i * 6u + j]; }
