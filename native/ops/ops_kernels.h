// Internal to native/ops/: the contiguous loops each instruction set provides (ops_portable.cc,
// ops_avx2.cc, ops_avx512.cc, each compiled for its own target from ops_loops.h) to the
// ISA-independent driver in ops.cc, which handles broadcasting, reduction layouts and threads.
#pragma once

#include <cstdint>

#include "ops.h"

namespace superlora::ops::detail {

struct OpsKernels {
  simd::Isa isa;
  // out[i] = op(x[i]), i < n.
  void (*unary)(UnaryOp op, const float* x, float* out, int64_t n);
  // out[i] = op(a[i · a_step], b[i · b_step]), i < n, with steps 0 or 1.
  void (*binary)(BinaryOp op, const float* a, int64_t a_step, const float* b, int64_t b_step,
                 float* out, int64_t n);
  // out[r] = op over x[r · size, (r + 1) · size), r < rows.
  void (*reduce_rows)(ReduceOp op, const float* x, float* out, int64_t rows, int64_t size);
  // out[c] = op over x[b · stride + c] for b < size, c < width; `scratch` holds `width` doubles.
  void (*reduce_columns)(ReduceOp op, const float* x, int64_t stride, float* out, int64_t size,
                         int64_t width, double* scratch);
  // Softmax of each of `rows` rows of `cols` floats (see ops.h).
  void (*softmax_rows)(const float* x, float* out, int64_t rows, int64_t cols);
};

const OpsKernels& PortableOpsKernels();
#if defined(__x86_64__) || defined(_M_X64)
const OpsKernels& Avx2OpsKernels();
const OpsKernels& Avx512OpsKernels();
#endif

}  // namespace superlora::ops::detail
