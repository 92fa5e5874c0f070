// Internal to the GEMM: what each instruction set provides (gemm_portable.cc, gemm_avx2.cc,
// gemm_avx512.cc, each compiled for its own target) to the ISA-independent driver in gemm.cc,
// which cuts a problem into pool tasks and cache blocks and calls these on each block.
//
// Packed layouts (BLIS's): a block of op(A) of mc × kc is stored as ⌈mc / rows⌉ panels of
// rows × kc floats, column after column (for each depth p, the `rows` values of that column);
// a block of op(B) of kc × nc as ⌈nc / cols⌉ panels of kc × cols, row after row. Panels of the
// last, partial tile are padded with zeros so that the micro-kernel never reads garbage (which
// could be NaN or a slow denormal) into lanes it then discards.
#pragma once

#include <cstdint>

#include "../simd/isa.h"
#include "gemm.h"

namespace superlora::gemm::detail {

// One cache block of the output: out block (mc × nc) [+]= alpha · packed A · packed B, then, on
// the last depth block (`finish`), + bias and the activation.
struct Block {
  int64_t mc = 0;
  int64_t nc = 0;
  int64_t kc = 0;
  const float* packed_a = nullptr;
  const float* packed_b = nullptr;
  float* out = nullptr;  // at the block's first row and column
  int64_t ld_out = 0;
  float alpha = 1.0f;
  bool accumulate = false;  // add to what out holds (a later depth block) instead of overwriting
  bool finish = false;      // last depth block: add the bias and apply the activation
  const float* bias = nullptr;  // at the block's first row and column (null: no bias)
  int64_t bias_row_stride = 0;
  int64_t bias_col_stride = 0;  // 0 or 1
  Activation activation = Activation::kLinear;
};

struct IsaKernels {
  simd::Isa isa;
  int rows;  // register tile rows (A panel height)
  int cols;  // register tile columns (B panel width)
  // Packs rows [0, mc) and depths [0, kc) of op(A), where `a` points at op(A)'s element (0, 0) of
  // the block: a[i · ld + p] when not transposed, a[p · ld + i] when transposed.
  void (*pack_a)(const float* a, int64_t ld, bool transposed, int64_t mc, int64_t kc, float* out);
  // Packs depths [0, kc) and columns [0, nc) of op(B): b[p · ld + j], or b[j · ld + p] transposed.
  void (*pack_b)(const float* b, int64_t ld, bool transposed, int64_t kc, int64_t nc, float* out);
  // The register-tiled loops over one block.
  void (*block)(const Block& block);
};

const IsaKernels& PortableKernels();
#if defined(__x86_64__) || defined(_M_X64)
const IsaKernels& Avx2Kernels();
const IsaKernels& Avx512Kernels();
#endif

}  // namespace superlora::gemm::detail
