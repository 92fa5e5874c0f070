// FWHT dispatcher, pass planner and the portable kernels. The per-ISA register kernels come from
// fwht_engine.h (here with a 4-float vector of plain C++ that compilers map to SSE2 or NEON);
// this file decides how a transform is cut into passes over memory and spreads them over the
// thread pool, which is the same for every instruction set.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../parallel/thread_pool.h"
#include "../simd/isa.h"
#include "fwht.h"
#include "fwht_kernels.h"

namespace superlora::kernels {
namespace detail {
namespace {

struct VecPortable {
  struct T {
    float e[4];
  };
  static constexpr int kLogWidth = 2;
  static constexpr int kLogRegs = 3;

  static T Load(const float* p) {
    T v;
    std::memcpy(v.e, p, sizeof v.e);
    return v;
  }
  static void Store(float* p, T v) { std::memcpy(p, v.e, sizeof v.e); }
  static void Stream(float* p, T v) { Store(p, v); }
  static T LoadFirst(const float* p, size_t n) {
    T v = Zero();
    for (size_t j = 0; j < n; ++j) v.e[j] = p[j];
    return v;
  }
  static void StoreFirst(float* p, T v, size_t n) {
    for (size_t j = 0; j < n; ++j) p[j] = v.e[j];
  }
  static T Zero() { return T{{0.0f, 0.0f, 0.0f, 0.0f}}; }
  static T Set1(float x) { return T{{x, x, x, x}}; }
  static T Add(T a, T b) {
    return T{{a.e[0] + b.e[0], a.e[1] + b.e[1], a.e[2] + b.e[2], a.e[3] + b.e[3]}};
  }
  static T Sub(T a, T b) {
    return T{{a.e[0] - b.e[0], a.e[1] - b.e[1], a.e[2] - b.e[2], a.e[3] - b.e[3]}};
  }
  static T Mul(T a, T b) {
    return T{{a.e[0] * b.e[0], a.e[1] * b.e[1], a.e[2] * b.e[2], a.e[3] * b.e[3]}};
  }
  static T SubOnMultiplier(T a, T b) { return Sub(a, b); }
  template <int L>
  static T InLane(T v) {
    if constexpr (L == 0) {
      return T{{v.e[0] + v.e[1], v.e[0] - v.e[1], v.e[2] + v.e[3], v.e[2] - v.e[3]}};
    } else {
      return T{{v.e[0] + v.e[2], v.e[1] + v.e[3], v.e[0] - v.e[2], v.e[1] - v.e[3]}};
    }
  }
  static T Gather(const float* table, const int32_t* index, uint32_t mask) {
    T v;
    for (int j = 0; j < 4; ++j) v.e[j] = table[static_cast<uint32_t>(index[j]) & mask];
    return v;
  }
  static void Prefetch(const void* p) {
#if defined(__GNUC__)
    __builtin_prefetch(p, 0, 2);
#else
    (void)p;
#endif
  }
  static void Fence() {}
};

}  // namespace
}  // namespace detail
}  // namespace superlora::kernels

#include "fwht_engine.h"

namespace superlora::kernels {
namespace detail {
namespace {

// Larger transforms: row blocks of up to 2^16 floats, column passes of at most 2^12 rows, and
// panels of about 2^16 floats so that a panel and the one being prefetched fit in L2 together.
constexpr int kMaxRowLog = 16;
constexpr int kMaxColumnLog = 12;
constexpr int kPanelLogFloats = 16;
// FwhtInPlace on many independent rows: chunks of at least this many floats per task.
constexpr int kRowsGrainLogFloats = 17;

// The first `floats` of a thread's buffer, 64-byte aligned. The buffers are kept for the
// thread's lifetime (a few hundred KiB each) so that large transforms don't page-fault fresh ones
// on every call.
float* AlignedPrefix(std::vector<float>& buffer, size_t floats) {
  constexpr size_t kAlignFloats = 16;
  if (buffer.size() < floats + kAlignFloats) buffer.resize(floats + kAlignFloats);
  const uintptr_t address = reinterpret_cast<uintptr_t>(buffer.data());
  const size_t skip = ((64 - address % 64) % 64) / sizeof(float);
  return buffer.data() + skip;
}

float* PanelBuffer(size_t floats) {
  thread_local std::vector<float> buffer;
  return AlignedPrefix(buffer, floats);
}

// The row kernels' scratch block for `job` on this thread: null when its work array is 64-byte
// aligned, or when a block is one leaf chunk (one pass, so nothing to gain).
float* RowScratch(const IsaKernels& kernels, const RowJob& job) {
  if (reinterpret_cast<uintptr_t>(job.work) % 64 == 0 || job.log_block <= kernels.log_chunk) {
    return nullptr;
  }
  thread_local std::vector<float> buffer;
  return AlignedPrefix(buffer, size_t{1} << job.log_block);
}

int Log2(size_t power_of_two) {
  int log = 0;
  while ((size_t{1} << log) < power_of_two) ++log;
  return log;
}

// The reference butterfly network, for transforms smaller than one vector chunk.
void ScalarRow(float* row, size_t size) {
  for (size_t h = 1; h < size; h *= 2) {
    for (size_t block = 0; block < size; block += 2 * h) {
      float* top = row + block;
      float* bottom = top + h;
      for (size_t j = 0; j < h; ++j) {
        const float x = top[j];
        const float y = bottom[j];
        top[j] = x + y;
        bottom[j] = x - y;
      }
    }
  }
}

float ScalarSource(const Source& source, const float* work, size_t i) {
  switch (source.kind) {
    case SourceKind::kWork:
      return work[i];
    case SourceKind::kPadded:
      return i < source.limit ? source.data[i] : 0.0f;
    case SourceKind::kSignedPadded:
      return i < source.limit ? source.signs[i] * source.data[i] : 0.0f;
    case SourceKind::kGather:
      return source.gaussians[i] * source.data[static_cast<uint32_t>(source.perm[i]) & source.mask];
    case SourceKind::kSum: {
      float sum = source.data[i];
      for (size_t a = 1; a < source.count; ++a) sum += source.data[a * source.stride + i];
      return sum;
    }
  }
  return 0.0f;
}

void ScalarSink(const Sink& sink, size_t i, float value) {
  switch (sink.kind) {
    case SinkKind::kWork:
      return;
    case SinkKind::kScaled:
      if (i < sink.limit) sink.out[i] = value * sink.factor;
      return;
    case SinkKind::kSignedScaled:
      if (i < sink.limit) sink.out[i] = value * sink.factor * sink.signs[i];
      return;
    case SinkKind::kScatter:
      sink.acc[static_cast<uint32_t>(sink.perm[i]) & sink.mask] += sink.gaussians[i] * value;
      return;
  }
}

void ScalarTransform(int log_size, float* work, const Source& source, const Sink& sink) {
  const size_t size = size_t{1} << log_size;
  for (size_t i = 0; i < size; ++i) work[i] = ScalarSource(source, work, i);
  ScalarRow(work, size);
  for (size_t i = 0; i < size; ++i) ScalarSink(sink, i, work[i]);
}

constexpr IsaKernels kPortableKernels = Engine<VecPortable>::Kernels(simd::Isa::kPortable);

}  // namespace

const IsaKernels& PortableKernels() { return kPortableKernels; }

const IsaKernels& KernelsFor(simd::Isa isa) {
  const simd::Isa supported = simd::SupportedIsa();
  if (isa > supported) isa = supported;
  switch (isa) {
    case simd::Isa::kAvx512:
      return Avx512Kernels();
    case simd::Isa::kAvx2:
      return Avx2Kernels();
    default:
      return PortableKernels();
  }
}

void Transform(const IsaKernels& kernels, int log_size, float* work, const Source& source,
               const Sink& sink) {
  if (log_size < kernels.log_chunk) return ScalarTransform(log_size, work, source, sink);
  const size_t size = size_t{1} << log_size;
  if (log_size <= kMaxSingleBlockLog) {
    RowJob job;
    job.work = work;
    job.log_block = log_size;
    job.source = source;
    job.sink = sink;
    kernels.rows(job, 0, 1, RowScratch(kernels, job));
    return;
  }

  // Two passes over memory up to 2^28 floats: the high levels in column passes of at most
  // kMaxColumnLog levels each, then the low kMaxRowLog levels in row blocks. Each pass reads and
  // writes the array once; everything between happens in L1/L2.
  const int row_log = kMaxRowLog;
  const int column_levels = log_size - row_log;
  const int column_passes = (column_levels + kMaxColumnLog - 1) / kMaxColumnLog;
  int lo = row_log;
  for (int pass = 0; pass < column_passes; ++pass) {
    const int levels = (column_levels - (lo - row_log)) / (column_passes - pass);
    ColumnJob job;
    job.work = work;
    job.log_stride = lo;
    job.log_rows = levels;
    int log_width = kPanelLogFloats - levels;
    if (log_width < kernels.log_width) log_width = kernels.log_width;
    if (log_width > lo) log_width = lo;
    job.log_width = log_width;
    if (pass == 0) job.source = source;
    const int64_t panels = static_cast<int64_t>(size >> (levels + log_width));
    // One panel per thread, its rows padded by a cache line.
    const size_t buffer_floats = (size_t{1} << levels) * ((size_t{1} << log_width) + 16);
    parallel::ParallelFor(0, panels, 1, [&](int64_t begin, int64_t end, int) {
      kernels.columns(job, static_cast<size_t>(begin), static_cast<size_t>(end),
                      PanelBuffer(buffer_floats));
    });
    lo += levels;
  }

  RowJob job;
  job.work = work;
  job.log_block = row_log;
  job.sink = sink;
  const size_t block = size_t{1} << row_log;
  int64_t blocks = static_cast<int64_t>(size >> row_log);
  if (sink.kind == SinkKind::kScaled || sink.kind == SinkKind::kSignedScaled) {
    // Blocks wholly past the output's end are never written: skip their transform.
    const int64_t needed = static_cast<int64_t>((sink.limit + block - 1) / block);
    if (needed < blocks) blocks = needed;
  }
  if (sink.kind == SinkKind::kScatter && size_t{sink.mask} + 1 < size) {
    // Indices collide modulo mask + 1: each task adds into its own accumulator.
    const int64_t tasks = static_cast<int64_t>(sink.acc_count);
    parallel::ParallelFor(0, tasks, 1, [&](int64_t begin, int64_t end, int) {
      for (int64_t task = begin; task < end; ++task) {
        RowJob part = job;
        part.sink.acc = sink.acc + static_cast<size_t>(task) * sink.acc_stride;
        kernels.rows(part, static_cast<size_t>(blocks * task / tasks),
                     static_cast<size_t>(blocks * (task + 1) / tasks), RowScratch(kernels, part));
      }
    });
    return;
  }
  parallel::ParallelFor(0, blocks, 1, [&](int64_t begin, int64_t end, int) {
    kernels.rows(job, static_cast<size_t>(begin), static_cast<size_t>(end),
                 RowScratch(kernels, job));
  });
}

}  // namespace detail

void FwhtInPlace(float* data, size_t length, size_t size, simd::Isa isa) {
  if (size <= 1 || length == 0) return;  // H_1 is the identity
  const detail::IsaKernels& kernels = detail::KernelsFor(isa);
  const int log_size = detail::Log2(size);
  const size_t rows = length / size;
  if (log_size > detail::kMaxSingleBlockLog) {
    // Each row is big enough to keep every thread busy on its own.
    for (size_t row = 0; row < rows; ++row) {
      detail::Transform(kernels, log_size, data + row * size, detail::Source{}, detail::Sink{});
    }
    return;
  }
  if (log_size >= kernels.log_chunk) {
    detail::RowJob job;
    job.work = data;
    job.log_block = log_size;
    const int64_t grain = int64_t{1} << (log_size >= detail::kRowsGrainLogFloats
                                             ? 0
                                             : detail::kRowsGrainLogFloats - log_size);
    // Below two tasks' worth, call the kernel directly: a transform of 2^10 floats takes about
    // 100 ns, the pool's bookkeeping would be a good part of that.
    if (static_cast<int64_t>(rows) < 2 * grain) {
      return kernels.rows(job, 0, rows, detail::RowScratch(kernels, job));
    }
    parallel::ParallelFor(0, static_cast<int64_t>(rows), grain,
                          [&](int64_t begin, int64_t end, int) {
                            kernels.rows(job, static_cast<size_t>(begin), static_cast<size_t>(end),
                                         detail::RowScratch(kernels, job));
                          });
    return;
  }
  // Rows smaller than a vector chunk: whole chunks hold several rows; the tail goes row by row.
  const size_t chunk = size_t{1} << kernels.log_chunk;
  const int64_t chunks = static_cast<int64_t>(length / chunk);
  const int64_t grain = int64_t{1} << (detail::kRowsGrainLogFloats - kernels.log_chunk);
  if (chunks < 2 * grain) {
    kernels.small_rows(data, static_cast<size_t>(chunks), log_size);
  } else {
    parallel::ParallelFor(0, chunks, grain, [&](int64_t begin, int64_t end, int) {
      kernels.small_rows(data + static_cast<size_t>(begin) * chunk,
                         static_cast<size_t>(end - begin), log_size);
    });
  }
  for (size_t start = static_cast<size_t>(chunks) * chunk; start < length; start += size) {
    detail::ScalarRow(data + start, size);
  }
}

void FwhtInPlace(float* data, size_t length, size_t size) {
  FwhtInPlace(data, length, size, simd::ActiveIsa());
}

}  // namespace superlora::kernels
