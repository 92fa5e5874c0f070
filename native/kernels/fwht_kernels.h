// Internal to the FWHT and fastfood kernels: the per-ISA register kernels (fwht_engine.h compiled
// once per instruction set) and the ISA-independent driver that plans cache-blocked passes and
// spreads them over the thread pool (fwht.cc). Nothing outside native/kernels/ includes this.
//
// A transform of size 2^k runs as at most a few passes over memory: "column" passes first (the
// high levels, on panels of a few contiguous columns of the 2^(k-c) × 2^c row-major view, each
// panel small enough for L2), then one "row" pass (the low c levels, each contiguous block of 2^c
// transformed while it sits in cache). The levels of a Walsh–Hadamard transform commute, so any
// order gives H; fixing this one lets the fastfood kernels fuse their input (zero padding, signs,
// the gather by π) into the first pass and their output (scaling, truncation, the scatter by π)
// into the last one, which writes contiguous blocks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../simd/isa.h"

namespace superlora::kernels::detail {

// A transform up to 2^16 floats (256 KiB, within L2) is one row block finished by one thread:
// splitting it would cost more in synchronisation than it saves.
constexpr int kMaxSingleBlockLog = 16;

// What the first pass reads for the element with transform index i (vectors of consecutive i).
enum class SourceKind : int {
  kWork,          // work[i] (in place)
  kPadded,        // data[i] for i < limit, else 0
  kSignedPadded,  // signs[i] · data[i] for i < limit, else 0
  kGather,        // gaussians[i] · table[perm[i] & mask]
  kSum,           // Σ_{a < count} data[a · stride + i]
};

struct Source {
  SourceKind kind = SourceKind::kWork;
  const float* data = nullptr;
  size_t limit = 0;
  const float* signs = nullptr;
  const int32_t* perm = nullptr;
  const float* gaussians = nullptr;
  uint32_t mask = 0;
  size_t count = 0;
  size_t stride = 0;
};

// What the last pass does with the finished value v of transform index i.
enum class SinkKind : int {
  kWork,          // work[i] = v (in place)
  kScaled,        // out[i] = factor · v for i < limit (dropped beyond)
  kSignedScaled,  // out[i] = factor · signs[i] · v for i < limit
  kScatter,       // acc[perm[i] & mask] += gaussians[i] · v
};

struct Sink {
  SinkKind kind = SinkKind::kWork;
  float* out = nullptr;
  size_t limit = 0;
  float factor = 1.0f;
  const float* signs = nullptr;
  bool stream = false;  // non-temporal stores (out aligned to the vector width, output ≫ cache)
  const int32_t* perm = nullptr;
  const float* gaussians = nullptr;
  float* acc = nullptr;
  uint32_t mask = 0;
  // kScatter: `acc_count` private accumulators `acc_stride` floats apart, for row blocks handled
  // concurrently (two indices i collide modulo mask + 1 only when mask + 1 < the transform size;
  // without collisions one shared accumulator is race-free).
  size_t acc_count = 1;
  size_t acc_stride = 0;
};

// One column pass: levels [log_stride, log_stride + log_rows) of a transform whose work array is
// viewed as blocks of 2^(log_stride + log_rows) floats, each a 2^log_rows × 2^log_stride matrix.
// Panel p is 2^log_width contiguous columns of one block; panels are numbered block-major.
// Panels of more rows than a register group holds pass through a per-thread, 64-byte-aligned
// buffer of 2^log_rows rows of 2^log_width + 16 floats.
struct ColumnJob {
  float* work = nullptr;
  int log_stride = 0;
  int log_rows = 0;
  int log_width = 0;
  Source source;
};

// The row pass: levels [0, log_block) on contiguous blocks of 2^log_block floats.
struct RowJob {
  float* work = nullptr;
  int log_block = 0;
  Source source;
  Sink sink;
};

struct IsaKernels {
  simd::Isa isa;
  int log_width;  // floats per vector register
  int log_chunk;  // floats per leaf chunk (one register file's worth); rows() needs blocks ≥ it
  void (*columns)(const ColumnJob& job, size_t panel_begin, size_t panel_end, float* buffer);
  // `scratch`: null, or a per-thread 64-byte-aligned buffer of one block, in which blocks are
  // transformed when job.work is not 64-byte aligned (see RowScratch in fwht.cc).
  void (*rows)(const RowJob& job, size_t block_begin, size_t block_end, float* scratch);
  // In place, rows of 2^log_size < 2^log_chunk floats, `chunks` chunks of 2^log_chunk floats.
  void (*small_rows)(float* data, size_t chunks, int log_size);
};

const IsaKernels& PortableKernels();
const IsaKernels& Avx2Kernels();
const IsaKernels& Avx512Kernels();
// The kernels for `isa`, lowered to what this CPU supports.
const IsaKernels& KernelsFor(simd::Isa isa);

// work[0, 2^log_size) ← the transform of `source`, handed to `sink` (kWork: stays in work).
// Runs its passes on the thread pool when the size makes that worthwhile (inline inside a job).
void Transform(const IsaKernels& kernels, int log_size, float* work, const Source& source,
               const Sink& sink);

}  // namespace superlora::kernels::detail
