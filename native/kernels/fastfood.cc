// The fastfood projection of SPEC §7 as two FWHT-shaped sweeps with their inputs and outputs fused
// into the first and last passes (fwht_kernels.h):
//
// forward  ũ = H_{L1}(B ⊙ z) for L1 = nextpow2(m) only: x = z zero-padded is zero past L1, and
//          H_L = H_{L/L1} ⊗ H_{L1} repeats the small transform in every block of L1 (the first
//          row of H_{L/L1} is all ones), so u[i] = ũ[i mod L1]. Then w = Gv ⊙ ũ[π mod L1] is
//          gathered as the first pass of the big transform reads it, and the last pass writes
//          y = factor · (H w)[0, n) straight to the output (blocks past n are never transformed).
// backward t = H(dy zero-padded); the last pass scatters Gv ⊙ t by π into L1 accumulators (the
//          transpose of "u[i] = ũ[i mod L1]" is "fold the L/L1 blocks"), one per concurrent task
//          when indices collide; the first pass of H_{L1} sums them, and its last pass writes
//          dz = factor · B ⊙ (...)[0, m).
// with factor = scale / sqrt(n · Σ Gv²).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../parallel/thread_pool.h"
#include "fastfood.h"
#include "fwht_kernels.h"

namespace superlora::kernels {
namespace {

// Non-temporal stores skip reading the output's cache lines before overwriting them, which
// saves a third of the last pass's traffic when the output is far larger than the caches; for
// smaller outputs the next consumer would rather find them cached.
constexpr size_t kStreamMinBytes = size_t{16} << 20;

int Log2Ceil(uint64_t value) {
  int log = 0;
  while ((uint64_t{1} << log) < value) ++log;
  return log;
}

float Factor(const FastfoodTable& table, int64_t n, float scale) {
  return static_cast<float>(static_cast<double>(scale) /
                            std::sqrt(static_cast<double>(n) * table.gaussian_sum_sq));
}

}  // namespace

size_t FastfoodScratchFloats(int64_t size) { return 2 * static_cast<size_t>(size); }

void FastfoodForward(const FastfoodTable& table, const float* z, int64_t m, int64_t n, float scale,
                     float* y, float* scratch, simd::Isa isa) {
  const detail::IsaKernels& kernels = detail::KernelsFor(isa);
  const size_t size = static_cast<size_t>(table.size);
  const int log_size = Log2Ceil(size);
  const int log_small = Log2Ceil(static_cast<uint64_t>(m));
  float* work = scratch;
  float* small = scratch + size;

  detail::Source input;
  input.kind = detail::SourceKind::kSignedPadded;
  input.data = z;
  input.limit = static_cast<size_t>(m);
  input.signs = table.signs;
  detail::Transform(kernels, log_small, small, input, detail::Sink{});

  detail::Source gather;
  gather.kind = detail::SourceKind::kGather;
  gather.data = small;
  gather.perm = table.perm;
  gather.gaussians = table.gaussians;
  gather.mask = static_cast<uint32_t>((uint64_t{1} << log_small) - 1);
  detail::Sink output;
  output.kind = detail::SinkKind::kScaled;
  output.out = y;
  output.limit = static_cast<size_t>(n);
  output.factor = Factor(table, n, scale);
  output.stream = static_cast<size_t>(n) * sizeof(float) >= kStreamMinBytes &&
                  reinterpret_cast<uintptr_t>(y) % 64 == 0;
  detail::Transform(kernels, log_size, work, gather, output);
}

void FastfoodBackward(const FastfoodTable& table, const float* dy, int64_t n, int64_t m,
                      float scale, float* dz, float* scratch, simd::Isa isa) {
  const detail::IsaKernels& kernels = detail::KernelsFor(isa);
  const size_t size = static_cast<size_t>(table.size);
  const int log_size = Log2Ceil(size);
  const int log_small = Log2Ceil(static_cast<uint64_t>(m));
  const size_t small_size = size_t{1} << log_small;
  float* work = scratch;
  float* accumulators = scratch + size;

  // Private accumulators only where indices collide (L1 < L) and the big transform's last pass
  // really runs in parallel; the 2 · L floats of scratch hold L / L1 of them.
  size_t count = 1;
  if (small_size < size && log_size > detail::kMaxSingleBlockLog && !parallel::InsideJob()) {
    count = static_cast<size_t>(parallel::ThreadPool::Instance().Threads());
    if (count > size / small_size) count = size / small_size;
    if (count < 1) count = 1;
  }
  std::memset(accumulators, 0, count * small_size * sizeof(float));

  detail::Source input;
  input.kind = detail::SourceKind::kPadded;
  input.data = dy;
  input.limit = static_cast<size_t>(n);
  detail::Sink scatter;
  scatter.kind = detail::SinkKind::kScatter;
  scatter.perm = table.perm;
  scatter.gaussians = table.gaussians;
  scatter.acc = accumulators;
  scatter.mask = static_cast<uint32_t>(small_size - 1);
  scatter.acc_count = count;
  scatter.acc_stride = small_size;
  detail::Transform(kernels, log_size, work, input, scatter);

  detail::Source fold;
  fold.kind = detail::SourceKind::kSum;
  fold.data = accumulators;
  fold.count = count;
  fold.stride = small_size;
  detail::Sink output;
  output.kind = detail::SinkKind::kSignedScaled;
  output.out = dz;
  output.limit = static_cast<size_t>(m);
  output.factor = Factor(table, n, scale);
  output.signs = table.signs;
  detail::Transform(kernels, log_small, work, fold, output);
}

void FastfoodForward(const FastfoodTable& table, const float* z, int64_t m, int64_t n, float scale,
                     float* y, float* scratch) {
  FastfoodForward(table, z, m, n, scale, y, scratch, simd::ActiveIsa());
}

void FastfoodBackward(const FastfoodTable& table, const float* dy, int64_t n, int64_t m,
                      float scale, float* dz, float* scratch) {
  FastfoodBackward(table, dy, n, m, scale, dz, scratch, simd::ActiveIsa());
}

}  // namespace superlora::kernels
