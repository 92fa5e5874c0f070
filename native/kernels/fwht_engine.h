// The register-level FWHT kernels, written once over a vector type V and compiled once per
// instruction set: fwht.cc (portable), fwht_avx2.cc and fwht_avx512.cc include this file after
// their `#pragma GCC target`. Everything here sits in an anonymous namespace so that each file
// gets its own copy: an inline function shared between files compiled for different targets
// would let the linker keep the AVX-512 copy for callers on any CPU. For the same reason this
// header uses nothing from the standard library: the including file includes what it needs first.
//
// V provides (all static): T (the register type), kLogWidth (floats per T), kLogRegs (registers
// per butterfly group), Load/Store/Stream (unaligned, Stream aligned and non-temporal),
// LoadFirst/StoreFirst(p, [v,] n) for the first n < width lanes, Zero, Set1, Add, Sub, Mul,
// InLane<L>(v) (the butterfly of level L < kLogWidth inside one register), Gather(table, index,
// mask) = table[index[j] & mask], Prefetch and Fence (orders the streaming stores).
//
// Kernel shape (see fwht_kernels.h for the passes): a "group" loads 2^K registers at one stride,
// does K butterfly levels across them and stores them back; a "leaf" loads 2^kLogRegs adjacent
// registers and does all the levels below the chunk size (in-lane ones with shuffles, the rest
// across registers). Every level costs one add or subtract per register (in-lane levels one
// shuffle and one FMA, which run on other ports than the adds), and each group's loads and stores
// cover K levels.
#pragma once

#include "fwht_kernels.h"

// The butterfly helpers must inline into their loops: out of line, the register array they work
// on goes through the stack and a kernel runs about three times slower. GCC's heuristics decline
// the larger ones (a 16-register group is 64 adds), so force it.
#if defined(__GNUC__) || defined(__clang__)
#define SUPERLORA_FWHT_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define SUPERLORA_FWHT_INLINE __forceinline
#else
#define SUPERLORA_FWHT_INLINE inline
#endif

namespace superlora::kernels::detail {
namespace {

template <class V>
struct Engine {
  using T = typename V::T;
  static constexpr int kLogWidth = V::kLogWidth;
  static constexpr size_t kWidth = size_t{1} << kLogWidth;
  static constexpr int kLogRegs = V::kLogRegs;
  static constexpr int kRegs = 1 << kLogRegs;
  static constexpr int kLogChunk = kLogWidth + kLogRegs;
  // Row blocks are finished in sub-blocks that fit L1 (48 KiB on Zen 5, 32 KiB elsewhere): the
  // levels that span a whole block run first (while it sits in L2), then each sub-block's
  // remaining passes stay in L1. Passes over the whole block pair rows 16 KiB or more apart,
  // which all map to the same L1 set: 16 of them overflow its 12 ways (every store would then
  // miss), so those passes take 8 rows (3 levels) at a time. 2^16-float blocks use 2^13-float
  // sub-blocks, which leaves them one 3-level pass instead of a 3-level and a 1-level one.
  static constexpr int kTopLevels = kLogRegs < 3 ? kLogRegs : 3;
  static constexpr int SubBlockLog(int log_block) { return log_block >= 16 ? 13 : 12; }
  static constexpr size_t kNoLimit = ~size_t{0};

  static constexpr int Min(int a, int b) { return a < b ? a : b; }

  // ---- Sources: how the first pass reads transform index i (a multiple of kWidth). ----------

  struct SrcWork {
    SUPERLORA_FWHT_INLINE T Load(const float* work, size_t i) const { return V::Load(work + i); }
    void Prefetch(const float* work, size_t i) const { V::Prefetch(work + i); }
  };

  struct SrcPadded {
    const float* data;
    size_t limit;
    SUPERLORA_FWHT_INLINE T Load(const float*, size_t i) const {
      if (i + kWidth <= limit) return V::Load(data + i);
      if (i >= limit) return V::Zero();
      return V::LoadFirst(data + i, limit - i);
    }
    void Prefetch(const float*, size_t i) const {
      if (i < limit) V::Prefetch(data + i);
    }
  };

  struct SrcSignedPadded {
    const float* data;
    const float* signs;  // at least as long as the transform
    size_t limit;
    SUPERLORA_FWHT_INLINE T Load(const float*, size_t i) const {
      if (i + kWidth <= limit) return V::Mul(V::Load(signs + i), V::Load(data + i));
      if (i >= limit) return V::Zero();
      return V::Mul(V::Load(signs + i), V::LoadFirst(data + i, limit - i));
    }
    void Prefetch(const float*, size_t i) const {
      if (i < limit) V::Prefetch(data + i);
    }
  };

  struct SrcGather {
    const int32_t* perm;
    const float* gaussians;
    const float* table;
    uint32_t mask;
    SUPERLORA_FWHT_INLINE T Load(const float*, size_t i) const {
      return V::Mul(V::Load(gaussians + i), V::Gather(table, perm + i, mask));
    }
    void Prefetch(const float*, size_t i) const {
      V::Prefetch(perm + i);
      V::Prefetch(gaussians + i);
    }
  };

  struct SrcSum {
    const float* data;
    size_t count;
    size_t stride;
    SUPERLORA_FWHT_INLINE T Load(const float*, size_t i) const {
      T sum = V::Load(data + i);
      for (size_t a = 1; a < count; ++a) sum = V::Add(sum, V::Load(data + a * stride + i));
      return sum;
    }
    void Prefetch(const float*, size_t i) const {
      for (size_t a = 0; a < count; ++a) V::Prefetch(data + a * stride + i);
    }
  };

  // ---- Sinks: what the last pass does with the finished register for index i. --------------

  struct SinkWork {
    SUPERLORA_FWHT_INLINE void Store(float* work, size_t i, T v) const { V::Store(work + i, v); }
  };

  struct SinkScaled {
    float* out;
    size_t limit;
    T factor;
    bool stream;
    SUPERLORA_FWHT_INLINE void Store(float*, size_t i, T v) const {
      v = V::Mul(v, factor);
      if (i + kWidth <= limit) {
        if (stream) {
          V::Stream(out + i, v);
        } else {
          V::Store(out + i, v);
        }
      } else if (i < limit) {
        V::StoreFirst(out + i, v, limit - i);
      }
    }
  };

  struct SinkSignedScaled {
    float* out;
    size_t limit;
    T factor;
    const float* signs;  // at least as long as the transform
    SUPERLORA_FWHT_INLINE void Store(float*, size_t i, T v) const {
      v = V::Mul(V::Mul(v, factor), V::Load(signs + i));
      if (i + kWidth <= limit) {
        V::Store(out + i, v);
      } else if (i < limit) {
        V::StoreFirst(out + i, v, limit - i);
      }
    }
  };

  struct SinkScatter {
    const int32_t* perm;
    const float* gaussians;
    float* acc;
    uint32_t mask;
    SUPERLORA_FWHT_INLINE void Store(float*, size_t i, T v) const {
      // Lanes may collide modulo mask + 1, so no vector scatter: plain adds in lane order.
      float lanes[kWidth];
      V::Store(lanes, V::Mul(V::Load(gaussians + i), v));
      for (size_t j = 0; j < kWidth; ++j)
        acc[static_cast<uint32_t>(perm[i + j]) & mask] += lanes[j];
    }
  };

  // ---- Butterflies ---------------------------------------------------------------------------

  // Levels [0, K) across N registers: level l pairs v[b + j] with v[b + j + 2^l]. With
  // kSplitPorts the difference is computed as an FMA (a − 1 · b, exact like the subtraction), so
  // a butterfly keeps one add port and one multiply port busy instead of two add ports. The leaf
  // does not split: its in-lane levels already fill the multiply ports.
  template <int K, int N, bool kSplitPorts>
  static SUPERLORA_FWHT_INLINE void Cross(T* v) {
#pragma GCC unroll 4
    for (int l = 0; l < K; ++l) {
      const int h = 1 << l;
#pragma GCC unroll 16
      for (int b = 0; b < N; b += 2 * h) {
#pragma GCC unroll 16
        for (int j = 0; j < h; ++j) {
          const T top = v[b + j];
          const T bottom = v[b + j + h];
          v[b + j] = V::Add(top, bottom);
          v[b + j + h] = kSplitPorts ? V::SubOnMultiplier(top, bottom) : V::Sub(top, bottom);
        }
      }
    }
  }

  template <int Levels>
  static SUPERLORA_FWHT_INLINE T InLanes(T v) {
    if constexpr (Levels > 0) v = V::template InLane<0>(v);
    if constexpr (Levels > 1) v = V::template InLane<1>(v);
    if constexpr (Levels > 2) v = V::template InLane<2>(v);
    if constexpr (Levels > 3) v = V::template InLane<3>(v);
    return v;
  }

  static constexpr size_t kLineFloats = 16;  // floats (or int32) per 64-byte line

  // ---- Row blocks ----------------------------------------------------------------------------

  // 2^K registers at index i + t · stride: K levels (pairs stride · 2^l apart).
  template <int K, class Src, class Snk>
  static SUPERLORA_FWHT_INLINE void Group(float* work, size_t i, size_t stride, const Src& src,
                                          const Snk& snk) {
    constexpr int kCount = 1 << K;
    T v[kCount];
#pragma GCC unroll 16
    for (int t = 0; t < kCount; ++t) v[t] = src.Load(work, i + t * stride);
    Cross<K, kCount, true>(v);
#pragma GCC unroll 16
    for (int t = 0; t < kCount; ++t) snk.Store(work, i + t * stride, v[t]);
  }

  // The chunk of 2^kLogChunk floats at i: levels [0, Levels), Levels ≤ kLogChunk.
  template <int Levels, class Src, class Snk>
  static SUPERLORA_FWHT_INLINE void Leaf(float* work, size_t i, const Src& src, const Snk& snk) {
    constexpr int kIn = Min(Levels, kLogWidth);
    T v[kRegs];
#pragma GCC unroll 16
    for (int t = 0; t < kRegs; ++t) v[t] = InLanes<kIn>(src.Load(work, i + t * kWidth));
    Cross<Levels - kIn, kRegs, false>(v);
#pragma GCC unroll 16
    for (int t = 0; t < kRegs; ++t) snk.Store(work, i + t * kWidth, v[t]);
  }

  // Levels [lo, lo + K) over the region [origin, origin + 2^log_region); 2^lo ≥ kWidth.
  template <int K, class Src, class Snk>
  static void Strided(float* work, size_t origin, int log_region, int lo, const Src& src,
                      const Snk& snk) {
    const size_t half = size_t{1} << lo;
    const size_t end = origin + (size_t{1} << log_region);
    for (size_t group = origin; group < end; group += half << K) {
      for (size_t j = 0; j < half; j += kWidth) Group<K>(work, group + j, half, src, snk);
    }
  }

  template <class Src, class Snk>
  static void StridedLevels(int levels, float* work, size_t origin, int log_region, int lo,
                            const Src& src, const Snk& snk) {
    switch (levels) {
      case 1:
        return Strided<1>(work, origin, log_region, lo, src, snk);
      case 2:
        return Strided<2>(work, origin, log_region, lo, src, snk);
      case 3:
        return Strided<3>(work, origin, log_region, lo, src, snk);
      default:
        if constexpr (kLogRegs >= 4) {
          return Strided<4>(work, origin, log_region, lo, src, snk);
        }
    }
  }

  // Block [origin, origin + 2^log_block), kLogChunk ≤ log_block ≤ 13 (in L1): the strided
  // levels from the top, then the leaf, whose chunks at or past `limit` are skipped.
  template <class Src, class Snk>
  static void SmallBlock(float* work, size_t origin, int log_block, const Src& src, const Snk& snk,
                         size_t limit) {
    const size_t end = origin + (size_t{1} << log_block);
    if (log_block == kLogChunk) {
      if (origin < limit) Leaf<kLogChunk>(work, origin, src, snk);
      return;
    }
    int hi = log_block;
    int levels = Min(kLogRegs, hi - kLogChunk);
    StridedLevels(levels, work, origin, log_block, hi - levels, src, SinkWork{});
    hi -= levels;
    while (hi > kLogChunk) {
      levels = Min(kLogRegs, hi - kLogChunk);
      StridedLevels(levels, work, origin, log_block, hi - levels, SrcWork{}, SinkWork{});
      hi -= levels;
    }
    for (size_t i = origin; i < end && i < limit; i += size_t{1} << kLogChunk) {
      Leaf<kLogChunk>(work, i, SrcWork{}, snk);
    }
  }

  // Any block (log_block ≥ kLogChunk): the levels spanning L1 sub-blocks first, over the whole
  // block (in L2), then each sub-block (those at or past `limit` are skipped) in L1.
  template <class Src, class Snk>
  static void Block(float* work, size_t origin, int log_block, const Src& src, const Snk& snk,
                    size_t limit) {
    const int log_sub = SubBlockLog(log_block);
    if (log_block <= log_sub) return SmallBlock(work, origin, log_block, src, snk, limit);
    const size_t end = origin + (size_t{1} << log_block);
    int hi = log_block;
    int levels = Min(kTopLevels, hi - log_sub);
    StridedLevels(levels, work, origin, log_block, hi - levels, src, SinkWork{});
    hi -= levels;
    while (hi > log_sub) {
      levels = Min(kTopLevels, hi - log_sub);
      StridedLevels(levels, work, origin, log_block, hi - levels, SrcWork{}, SinkWork{});
      hi -= levels;
    }
    for (size_t sub = origin; sub < end && sub < limit; sub += size_t{1} << log_sub) {
      SmallBlock(work, sub, log_sub, SrcWork{}, snk, limit);
    }
  }

  // A block transformed in the scratch buffer (at index 0) instead of in place: its first pass
  // reads, and its last pass writes, index i + offset of the real source and sink.
  template <class Src>
  struct SrcAt {
    const Src& src;
    const float* work;
    size_t offset;
    SUPERLORA_FWHT_INLINE T Load(const float*, size_t i) const {
      return src.Load(work, i + offset);
    }
    void Prefetch(const float*, size_t i) const { src.Prefetch(work, i + offset); }
  };

  template <class Snk>
  struct SinkAt {
    const Snk& snk;
    float* work;
    size_t offset;
    SUPERLORA_FWHT_INLINE void Store(float*, size_t i, T v) const {
      snk.Store(work, i + offset, v);
    }
  };

  // With `scratch` (a 64-byte-aligned buffer of one block, given when the work array is not
  // 64-byte aligned), each block's passes between the first and the last run there: on the
  // work array every vector would straddle two cache lines in every pass (2^24 floats, 1 thread
  // on Zen 5: 25% slower than aligned).
  template <class Src, class Snk>
  static void RowsWith(const RowJob& job, size_t begin, size_t end, float* scratch, const Src& src,
                       const Snk& snk, size_t limit) {
    const size_t block = size_t{1} << job.log_block;
    for (size_t b = begin; b < end; ++b) {
      const size_t origin = b * block;
      if (scratch == nullptr) {
        Block(job.work, origin, job.log_block, src, snk, limit);
      } else if (origin < limit) {
        Block(scratch, 0, job.log_block, SrcAt<Src>{src, job.work, origin},
              SinkAt<Snk>{snk, job.work, origin}, limit - origin);
      }
    }
  }

  template <class Src>
  static void RowsToSink(const RowJob& job, size_t begin, size_t end, float* scratch,
                         const Src& src) {
    const Sink& sink = job.sink;
    switch (sink.kind) {
      case SinkKind::kWork:
        return RowsWith(job, begin, end, scratch, src, SinkWork{}, kNoLimit);
      case SinkKind::kScaled:
        return RowsWith(job, begin, end, scratch, src,
                        SinkScaled{sink.out, sink.limit, V::Set1(sink.factor), sink.stream},
                        sink.limit);
      case SinkKind::kSignedScaled:
        return RowsWith(job, begin, end, scratch, src,
                        SinkSignedScaled{sink.out, sink.limit, V::Set1(sink.factor), sink.signs},
                        sink.limit);
      case SinkKind::kScatter:
        return RowsWith(job, begin, end, scratch, src,
                        SinkScatter{sink.perm, sink.gaussians, sink.acc, sink.mask}, kNoLimit);
    }
  }

  static void Rows(const RowJob& job, size_t begin, size_t end, float* scratch) {
    const Source& source = job.source;
    switch (source.kind) {
      case SourceKind::kWork:
        RowsToSink(job, begin, end, scratch, SrcWork{});
        break;
      case SourceKind::kPadded:
        RowsToSink(job, begin, end, scratch, SrcPadded{source.data, source.limit});
        break;
      case SourceKind::kSignedPadded:
        RowsToSink(job, begin, end, scratch,
                   SrcSignedPadded{source.data, source.signs, source.limit});
        break;
      case SourceKind::kGather:
        RowsToSink(job, begin, end, scratch,
                   SrcGather{source.perm, source.gaussians, source.data, source.mask});
        break;
      case SourceKind::kSum:
        RowsToSink(job, begin, end, scratch, SrcSum{source.data, source.count, source.stride});
        break;
    }
    if (job.sink.stream) V::Fence();
  }

  // ---- Column panels -------------------------------------------------------------------------
  //
  // Rows of a panel are 2^log_stride floats apart, a power of two of 64 KiB or more, so in place
  // they would all fall into the same L1 sets (and few L2 sets), evicting one another between
  // register passes. So a panel of more than 2^kLogRegs rows (transforms of 2^21 floats and up)
  // is copied into a contiguous per-thread buffer with its top kLogRegs levels done on the way
  // (FusedCopy, 2^kLogRegs rows at a time), its other levels run there (in L2), and the last
  // register pass writes the finished rows back (non-temporal stores measured slower, even far
  // beyond the caches: the lines were just read, so plain stores need no extra read). On Zen 5
  // (2^24 floats, 1 thread) that column pass takes about 7 ms, against 15 ms for a double buffer
  // whose copy ran interleaved with the butterflies. Panels of at most 2^kLogRegs rows need no
  // buffer: one butterfly group holds all their rows, so they run in place (InPlacePanel, 12-28%
  // faster at 2^17..2^20).

  // Buffer rows are padded by one cache line: at a power-of-two pitch, the 16 rows of a
  // butterfly group 16 rows apart would again share one L1 set.
  static constexpr size_t Pitch(size_t width) { return width + kLineFloats; }

  // 2^K registers loaded from in[i + t · in_stride], K levels, stored to out[o + t · out_stride].
  template <int K>
  static SUPERLORA_FWHT_INLINE void Move(const float* in, size_t i, size_t in_stride, float* out,
                                         size_t o, size_t out_stride) {
    constexpr int kCount = 1 << K;
    T v[kCount];
#pragma GCC unroll 16
    for (int t = 0; t < kCount; ++t) v[t] = V::Load(in + i + t * in_stride);
    Cross<K, kCount, true>(v);
#pragma GCC unroll 16
    for (int t = 0; t < kCount; ++t) V::Store(out + o + t * out_stride, v[t]);
  }

  // Levels [lo, lo + K) of the buffer's rows (2^log_rows rows of `width`), stored to `out` at row
  // stride out_stride from `origin` (the buffer itself, or the panel in the work array).
  template <int K>
  static void BufferPass(const float* buffer, int log_rows, size_t width, int lo, float* out,
                         size_t origin, size_t out_stride) {
    const size_t rows = size_t{1} << log_rows;
    const size_t low_rows = size_t{1} << lo;
    const size_t pitch = Pitch(width);
    for (size_t high = 0; high < rows; high += low_rows << K) {
      for (size_t low = 0; low < low_rows; ++low) {
        const size_t row = high + low;
        for (size_t col = 0; col < width; col += kWidth) {
          Move<K>(buffer, row * pitch + col, pitch << lo, out, origin + row * out_stride + col,
                  out_stride << lo);
        }
      }
    }
  }

  static void BufferLevels(int levels, const float* buffer, int log_rows, size_t width, int lo,
                           float* out, size_t origin, size_t out_stride) {
    switch (levels) {
      case 1:
        return BufferPass<1>(buffer, log_rows, width, lo, out, origin, out_stride);
      case 2:
        return BufferPass<2>(buffer, log_rows, width, lo, out, origin, out_stride);
      case 3:
        return BufferPass<3>(buffer, log_rows, width, lo, out, origin, out_stride);
      default:
        if constexpr (kLogRegs >= 4) {
          return BufferPass<4>(buffer, log_rows, width, lo, out, origin, out_stride);
        }
    }
  }

  // After FusedCopy: levels [0, log_rows − kLogRegs) of the panel in `buffer`, the last register
  // pass writing it back to the panel.
  static void FusedPanel(float* work, size_t origin, size_t stride, int log_rows, size_t width,
                         float* buffer) {
    const int log_levels = log_rows - kLogRegs;
    for (int lo = 0; lo < log_levels;) {
      const int levels = Min(kLogRegs, log_levels - lo);
      if (lo + levels < log_levels) {
        BufferLevels(levels, buffer, log_rows, width, lo, buffer, 0, Pitch(width));
      } else {
        BufferLevels(levels, buffer, log_rows, width, lo, work, origin, stride);
      }
      lo += levels;
    }
  }

  // Row sets (2^K rows, one per butterfly input) that FusedCopy prefetches ahead of itself.
  static constexpr size_t kFusedAhead = 1;

  // Copies a panel into the buffer doing its top K levels on the way: each step loads one vector
  // from each of the 2^K rows low + t · 2^(log_rows − K), butterflies them and stores them to the
  // buffer, while prefetching the same columns kFusedAhead row sets further on.
  template <int K, class Src>
  static void FusedCopy(const Src& src, const float* work, float* buffer, size_t origin,
                        size_t stride, int log_rows, size_t width) {
    constexpr int kCount = 1 << K;
    const size_t pitch = Pitch(width);
    const int lo = log_rows - K;
    const size_t low_rows = size_t{1} << lo;
    for (size_t low = 0; low < low_rows; ++low) {
      const bool ahead = low + kFusedAhead < low_rows;
      for (size_t col = 0; col < width; col += kWidth) {
        if (ahead && col % kLineFloats == 0) {
#pragma GCC unroll 16
          for (int t = 0; t < kCount; ++t)
            src.Prefetch(work, origin + (low + kFusedAhead + (size_t{1} * t << lo)) * stride + col);
        }
        T v[kCount];
#pragma GCC unroll 16
        for (int t = 0; t < kCount; ++t)
          v[t] = src.Load(work, origin + (low + (size_t{1} * t << lo)) * stride + col);
        Cross<K, kCount, true>(v);
#pragma GCC unroll 16
        for (int t = 0; t < kCount; ++t)
          V::Store(buffer + (low + (size_t{1} * t << lo)) * pitch + col, v[t]);
      }
    }
  }

  // Panels of at most 2^kLogRegs rows, in place: each group loads one vector from each row, does
  // all K levels and stores them back (the rows are contiguous runs the hardware prefetchers
  // stream).
  template <int K, class Src>
  static void InPlacePanel(const Src& src, float* work, size_t origin, size_t stride,
                           size_t width) {
    for (size_t col = 0; col < width; col += kWidth) {
      Group<K>(work, origin + col, stride, src, SinkWork{});
    }
  }

  template <class Src>
  static void ColumnsWith(const ColumnJob& job, size_t begin, size_t end, float* buffer,
                          const Src& src) {
    const size_t stride = size_t{1} << job.log_stride;
    const size_t width = size_t{1} << job.log_width;
    const size_t block = stride << job.log_rows;
    const int log_panels_per_block = job.log_stride - job.log_width;
    const size_t column_mask = (size_t{1} << log_panels_per_block) - 1;
    for (size_t p = begin; p < end; ++p) {
      const size_t origin = (p >> log_panels_per_block) * block + (p & column_mask) * width;
      switch (job.log_rows) {
        case 1:
          InPlacePanel<1>(src, job.work, origin, stride, width);
          break;
        case 2:
          InPlacePanel<2>(src, job.work, origin, stride, width);
          break;
        case 3:
          InPlacePanel<3>(src, job.work, origin, stride, width);
          break;
        case 4:
          if constexpr (kLogRegs >= 4) {
            InPlacePanel<4>(src, job.work, origin, stride, width);
            break;
          }
          [[fallthrough]];
        default:
          FusedCopy<kLogRegs>(src, job.work, buffer, origin, stride, job.log_rows, width);
          FusedPanel(job.work, origin, stride, job.log_rows, width, buffer);
          break;
      }
    }
  }

  static void Columns(const ColumnJob& job, size_t begin, size_t end, float* buffer) {
    const Source& source = job.source;
    switch (source.kind) {
      case SourceKind::kWork:
        return ColumnsWith(job, begin, end, buffer, SrcWork{});
      case SourceKind::kPadded:
        return ColumnsWith(job, begin, end, buffer, SrcPadded{source.data, source.limit});
      case SourceKind::kSignedPadded:
        return ColumnsWith(job, begin, end, buffer,
                           SrcSignedPadded{source.data, source.signs, source.limit});
      case SourceKind::kGather:
        return ColumnsWith(job, begin, end, buffer,
                           SrcGather{source.perm, source.gaussians, source.data, source.mask});
      case SourceKind::kSum:
        return ColumnsWith(job, begin, end, buffer,
                           SrcSum{source.data, source.count, source.stride});
    }
  }

  template <int Levels>
  static void SmallRowsWith(float* data, size_t chunks) {
    if constexpr (Levels < kLogChunk) {
      for (size_t c = 0; c < chunks; ++c) {
        Leaf<Levels>(data, c << kLogChunk, SrcWork{}, SinkWork{});
      }
    }
  }

  // Rows of 2^log_size < 2^kLogChunk floats: each leaf chunk holds whole rows, and the leaf's
  // levels stop below the row size, so rows never mix.
  static void SmallRows(float* data, size_t chunks, int log_size) {
    switch (log_size) {
      case 1:
        return SmallRowsWith<1>(data, chunks);
      case 2:
        return SmallRowsWith<2>(data, chunks);
      case 3:
        return SmallRowsWith<3>(data, chunks);
      case 4:
        return SmallRowsWith<4>(data, chunks);
      case 5:
        return SmallRowsWith<5>(data, chunks);
      case 6:
        return SmallRowsWith<6>(data, chunks);
      case 7:
        return SmallRowsWith<7>(data, chunks);
      default:
        return;  // size 1 is the identity; sizes ≥ the chunk go through Rows
    }
  }

  static constexpr IsaKernels Kernels(simd::Isa isa) {
    return IsaKernels{isa, kLogWidth, kLogChunk, &Columns, &Rows, &SmallRows};
  }
};

}  // namespace
}  // namespace superlora::kernels::detail
