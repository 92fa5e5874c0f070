// The register-blocked loops of LowRankForward / LowRankBackward (lowrank.h), written once over a
// vector traits type (simd/vec_avx2.h, simd/vec_avx512.h) and a tile shape, and compiled once per
// ISA: lowrank_avx2.cc and lowrank_avx512.cc include this after their target pragma. The anonymous
// namespace keeps each copy private to its file, so the linker can never hand the AVX-512 copy of
// an inline function to a caller compiled for a lower level.
//
// T = A · Y is a GEMM with a tiny inner dimension (rank), so unlike a BLAS there is no packing:
//  - forward: a tile of Rows × Vectors·W outputs lives in registers for the whole rank loop, each
//    step loading Vectors vectors of Y and broadcasting Rows values of A (pre-scaled), and each
//    output is stored once, streamed past the caches when the output is large and aligned;
//  - backward: one block of rows × columns of dT is read from memory once and used twice while
//    it is in cache: dA = dT · Yᵀ as row × rank tiles of dot products (reduced eight at a time),
//    then dY += Aᵀ · dT as rank × column tiles accumulated over the block's rows; at small ranks
//    the dY pass also prefetches the next block, so that the stream never waits on memory.
// Columns are cut into chunks so that the rank × chunk panels of Y (and dY) stay in L2 when the
// fold is wide (e.g. [14 × 42 130] for an order-5 fold) instead of being re-read from memory.
#pragma once

#include <cstdint>
#include <type_traits>

namespace superlora::kernels {
namespace {

template <class T, class Shape>
struct LowRankTiles {
  using V = typename T::V;
  using Mask = typename T::Mask;
  static constexpr int64_t kWidth = T::kWidth;
  static constexpr int kForwardRows = Shape::kForwardRows;
  static constexpr int kForwardVectors = Shape::kForwardVectors;
  static constexpr int kDaRows = Shape::kDaRows;
  static constexpr int kDaRanks = Shape::kDaRanks;
  static constexpr int kDyRanks = Shape::kDyRanks;
  static constexpr int kDyVectors = Shape::kDyVectors;

  // Bytes of Y (forward) or Y plus dY (backward) one column chunk may keep in L2 (1 MiB on the
  // CPUs that matter; half of it leaves room for the output or dT stream).
  static constexpr int64_t kPanelBytes = 256 * 1024;
  // Bytes of dT per backward block: the dA pass reads it from memory, the dY pass again from L1 /
  // L2, amortising each read-modify-write of dY over the block's rows. 48 KiB (16 rows of 768)
  // measured 10–15% faster at rank 8 than 24 KiB.
  static constexpr int64_t kBlockBytes = 48 * 1024;
  // Outputs of at least this many floats (256 KiB, a quarter of a 1 MiB L2) are streamed past
  // the caches (non-temporal stores) when aligned: a call this large is a slice of a ΔW much
  // larger than the caches, and streaming skips the read-for-ownership of every line (measured:
  // 38–40 GB/s instead of 21–28 GB/s at rank 1–8). The price is that the output is not in cache
  // afterwards, which matters only to a caller that reads it straight back.
  static constexpr int64_t kStreamMinFloats = 64 * 1024;
  // The forward pre-scales Rows × rank values of A on the stack up to this rank; beyond it the
  // kernel is compute-bound and scales the outputs instead.
  static constexpr int64_t kMaxScaledRank = 512;

  static int64_t Min(int64_t x, int64_t y) { return x < y ? x : y; }
  static int64_t Max(int64_t x, int64_t y) { return x > y ? x : y; }

  // Calls f(std::integral_constant<int, n>) for 1 ≤ n ≤ kMax, so that a run-time remainder
  // selects a fully unrolled tile.
  template <int kMax, class F>
  static void WithCount(int64_t n, const F& f) {
    if constexpr (kMax > 1) {
      if (n < kMax) {
        WithCount<kMax - 1>(n, f);
        return;
      }
    }
    f(std::integral_constant<int, kMax>());
  }

  // The next block of dT, fetched a few lines per row step of the current block's dY pass (which
  // works from L1), so that the next dA pass finds it in cache instead of waiting on memory.
  // Only worth it at small ranks: at rank ≥ kPrefetchMaxRank the block's arithmetic hides the
  // stream and the hardware prefetchers keep up; there the extra loads only cost issue slots.
  struct Prefetch {
    const char* row = nullptr;  // start of the current row's segment
    int64_t row_stride = 0;     // bytes between rows
    int64_t row_bytes = 0;      // bytes of each row's segment
    int64_t rows = 0;           // rows not yet finished
    int64_t offset = 0;         // bytes of the current row already fetched
    int64_t per_step = 0;       // lines per row step of the dY pass

    void Step() {
      for (int64_t k = 0; k < per_step && rows > 0; ++k) {
        T::Prefetch(row + offset);
        offset += 64;
        if (offset >= row_bytes) {
          offset = 0;
          row += row_stride;
          --rows;
        }
      }
    }
  };
  static constexpr int64_t kPrefetchMaxRank = 16;

  // Columns per chunk: all of them when the panel fits, else a multiple of the forward tile.
  static int64_t ChunkColumns(int64_t cols, int64_t rank, int64_t panels) {
    const int64_t step = kForwardVectors * kWidth;
    const int64_t fit = kPanelBytes / (panels * rank * static_cast<int64_t>(sizeof(float)));
    if (fit >= cols) return cols;
    return Max(step, fit / step * step);
  }

  // ---- forward ----

  // out[r · cols + c] = Σ_j a[r · a_stride + j] · y[j · cols + c] · post for the tile's Rows rows
  // and the first Vectors · W columns (only `tail` lanes of the last vector when kTail).
  template <int kRows, int kVectors, bool kTail, bool kStream>
  static void ForwardTile(const float* a, int64_t a_stride, int64_t rank, const float* y,
                          int64_t cols, float* out, Mask tail, float post) {
    V acc[kRows][kVectors];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 8
      for (int v = 0; v < kVectors; ++v) acc[r][v] = T::Zero();
    }
    for (int64_t j = 0; j < rank; ++j) {
      const float* y_row = y + j * cols;
      V y_vec[kVectors];
#pragma GCC unroll 8
      for (int v = 0; v < kVectors; ++v) {
        y_vec[v] = (kTail && v == kVectors - 1) ? T::LoadFirst(y_row + v * kWidth, tail)
                                                : T::Load(y_row + v * kWidth);
      }
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) {
        const V a_value = T::Set1(a[r * a_stride + j]);
#pragma GCC unroll 8
        for (int v = 0; v < kVectors; ++v) acc[r][v] = T::Fma(a_value, y_vec[v], acc[r][v]);
      }
    }
    const V post_vec = T::Set1(post);
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 8
      for (int v = 0; v < kVectors; ++v) {
        const V value = post == 1.0f ? acc[r][v] : T::Mul(acc[r][v], post_vec);
        float* p = out + r * cols + v * kWidth;
        if (kTail && v == kVectors - 1) {
          T::StoreFirst(p, value, tail);
        } else if (kStream) {
          T::Stream(p, value);
        } else {
          T::Store(p, value);
        }
      }
    }
  }

  // kRows rows × `width` columns of the output, left to right.
  template <int kRows>
  static void ForwardRowBlock(const float* a, int64_t a_stride, int64_t rank, const float* y,
                              int64_t cols, int64_t width, float* out, float post, bool stream) {
    constexpr int64_t kStep = kForwardVectors * kWidth;
    int64_t c = 0;
    if (stream) {
      for (; c + kStep <= width; c += kStep) {
        ForwardTile<kRows, kForwardVectors, false, true>(a, a_stride, rank, y + c, cols, out + c,
                                                         Mask(), post);
      }
    } else {
      for (; c + kStep <= width; c += kStep) {
        ForwardTile<kRows, kForwardVectors, false, false>(a, a_stride, rank, y + c, cols, out + c,
                                                          Mask(), post);
      }
    }
    const int64_t rest = width - c;
    if (rest == 0) return;
    const int64_t vectors = (rest + kWidth - 1) / kWidth;
    const Mask tail = T::FirstLanes(rest - (vectors - 1) * kWidth);
    WithCount<kForwardVectors>(vectors, [&](auto count) {
      ForwardTile<kRows, decltype(count)::value, true, false>(a, a_stride, rank, y + c, cols,
                                                              out + c, tail, post);
    });
  }

  // `rows` rows × `width` columns starting at out, in blocks of kForwardRows rows.
  static void ForwardRows(const float* a, int64_t rank, const float* y, int64_t cols, float scale,
                          int64_t rows, int64_t width, float* out, bool stream) {
    alignas(64) float scaled[kForwardRows * kMaxScaledRank];
    const bool prescale = rank <= kMaxScaledRank;
    for (int64_t r0 = 0; r0 < rows; r0 += kForwardRows) {
      const int64_t block = Min(kForwardRows, rows - r0);
      const float* a_block = a + r0 * rank;
      if (prescale) {
        for (int64_t i = 0; i < block * rank; ++i) scaled[i] = a_block[i] * scale;
        a_block = scaled;
      }
      const float post = prescale ? 1.0f : scale;
      WithCount<kForwardRows>(block, [&](auto count) {
        ForwardRowBlock<decltype(count)::value>(a_block, rank, rank, y, cols, width,
                                                out + r0 * cols, post, stream);
      });
    }
  }

  static void Forward(const float* a, const float* y, int64_t cols, int64_t rank, float scale,
                      int64_t begin, int64_t end, float* out) {
    if (end <= begin) return;
    const int64_t first_row = begin / cols;
    const int64_t rows = (end - begin) / cols;
    const int64_t cut = (end - begin) - rows * cols;
    const float* a_rows = a + first_row * rank;
    // Streaming needs every row segment to start on a full line. JavaScript's Float32Arrays are
    // only 16-byte aligned, so the first `peel` columns of every row (up to 15) are stored
    // normally and the rest, aligned in every row when cols is a multiple of 16, is streamed.
    const uintptr_t misalign = reinterpret_cast<uintptr_t>(out) % 64;
    const bool stream = end - begin >= kStreamMinFloats && cols % 16 == 0 && misalign % 4 == 0;
    const int64_t peel = stream ? Min(cols, static_cast<int64_t>((64 - misalign) % 64 / 4)) : 0;
    const auto columns = [&](int64_t from, int64_t to, bool streamed) {
      const int64_t chunk = ChunkColumns(to - from, rank, 1);
      for (int64_t c0 = from; c0 < to; c0 += chunk) {
        const int64_t width = Min(chunk, to - c0);
        ForwardRows(a_rows, rank, y + c0, cols, scale, rows, width, out + c0, streamed);
        if (cut > c0) {
          ForwardRows(a_rows + rows * rank, rank, y + c0, cols, scale, 1, Min(width, cut - c0),
                      out + rows * cols + c0, false);
        }
      }
    };
    if (peel > 0) columns(0, peel, false);
    columns(peel, cols, stream);
    if (stream) T::Fence();
  }

  // ---- backward ----

  template <int kRows, int kRanks, bool kTail>
  static void DaStep(const float* d_out, const float* y, int64_t cols, Mask tail,
                     V (&acc)[kRows][kRanks]) {
    V g[kRows];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
      g[r] = kTail ? T::LoadFirst(d_out + r * cols, tail) : T::Load(d_out + r * cols);
    }
#pragma GCC unroll 8
    for (int j = 0; j < kRanks; ++j) {
      const V y_vec = kTail ? T::LoadFirst(y + j * cols, tail) : T::Load(y + j * cols);
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) acc[r][j] = T::Fma(g[r], y_vec, acc[r][j]);
    }
  }

  // Σ_c d_out[r, c] · y[j, c] over `width` columns for kRows rows × kRanks ranks; the sums are
  // scaled and written to (or, when accumulate, added to) d_a[r · rank + j].
  template <int kRows, int kRanks>
  static void DaTile(const float* d_out, const float* y, int64_t cols, int64_t rank, int64_t width,
                     float scale, bool accumulate, float* d_a) {
    V acc[kRows][kRanks];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 8
      for (int j = 0; j < kRanks; ++j) acc[r][j] = T::Zero();
    }
    int64_t c = 0;
    for (; c + kWidth <= width; c += kWidth) {
      DaStep<kRows, kRanks, false>(d_out + c, y + c, cols, Mask(), acc);
    }
    if (c < width)
      DaStep<kRows, kRanks, true>(d_out + c, y + c, cols, T::FirstLanes(width - c), acc);
    // Horizontal sums eight accumulators at a time (T::Reduce8 shares the shuffles among them).
    constexpr int kCount = kRows * kRanks;
    constexpr int kGroups = (kCount + 7) / 8;
    float sums[kGroups * 8];
#pragma GCC unroll 8
    for (int group = 0; group < kGroups; ++group) {
      V eight[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const int index = group * 8 + i;
        eight[i] = index < kCount ? acc[index / kRanks][index % kRanks] : T::Zero();
      }
      T::Reduce8(eight, sums + group * 8);
    }
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 8
      for (int j = 0; j < kRanks; ++j) {
        float& slot = d_a[r * rank + j];
        slot = accumulate ? slot + scale * sums[r * kRanks + j] : scale * sums[r * kRanks + j];
      }
    }
  }

  // d_y[j, c] += scale · Σ_{r < rows} a[r, j] · d_out[r, c] for kRanks ranks × kVectors vectors.
  template <int kRanks, int kVectors, bool kTail>
  static void DyTile(const float* a, const float* d_out, int64_t cols, int64_t rank, int64_t rows,
                     const V& scale, Mask tail, float* d_y, Prefetch& prefetch) {
    V acc[kRanks][kVectors];
#pragma GCC unroll 8
    for (int j = 0; j < kRanks; ++j) {
#pragma GCC unroll 8
      for (int v = 0; v < kVectors; ++v) acc[j][v] = T::Zero();
    }
    for (int64_t r = 0; r < rows; ++r) {
      prefetch.Step();
      const float* g_row = d_out + r * cols;
      V g[kVectors];
#pragma GCC unroll 8
      for (int v = 0; v < kVectors; ++v) {
        g[v] = (kTail && v == kVectors - 1) ? T::LoadFirst(g_row + v * kWidth, tail)
                                            : T::Load(g_row + v * kWidth);
      }
#pragma GCC unroll 8
      for (int j = 0; j < kRanks; ++j) {
        const V a_value = T::Set1(a[r * rank + j]);
#pragma GCC unroll 8
        for (int v = 0; v < kVectors; ++v) acc[j][v] = T::Fma(a_value, g[v], acc[j][v]);
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < kRanks; ++j) {
#pragma GCC unroll 8
      for (int v = 0; v < kVectors; ++v) {
        float* p = d_y + j * cols + v * kWidth;
        if (kTail && v == kVectors - 1) {
          T::StoreFirst(p, T::Fma(acc[j][v], scale, T::LoadFirst(p, tail)), tail);
        } else {
          T::Store(p, T::Fma(acc[j][v], scale, T::Load(p)));
        }
      }
    }
  }

  template <int kRanks>
  static void DyRankBlock(const float* a, const float* d_out, int64_t cols, int64_t rank,
                          int64_t rows, int64_t width, const V& scale, float* d_y,
                          Prefetch& prefetch) {
    constexpr int64_t kStep = kDyVectors * kWidth;
    int64_t c = 0;
    for (; c + kStep <= width; c += kStep) {
      DyTile<kRanks, kDyVectors, false>(a, d_out + c, cols, rank, rows, scale, Mask(), d_y + c,
                                        prefetch);
    }
    const int64_t rest = width - c;
    if (rest == 0) return;
    const int64_t vectors = (rest + kWidth - 1) / kWidth;
    const Mask tail = T::FirstLanes(rest - (vectors - 1) * kWidth);
    WithCount<kDyVectors>(vectors, [&](auto count) {
      DyTile<kRanks, decltype(count)::value, true>(a, d_out + c, cols, rank, rows, scale, tail,
                                                   d_y + c, prefetch);
    });
  }

  // Both gradients from one block of `rows` × `width` values of dT (row stride cols), prefetching
  // the next block's `next_rows` rows at `next` (same columns).
  static void BackwardBlock(const float* a, const float* y, const float* d_out, int64_t cols,
                            int64_t rank, float scale, int64_t rows, int64_t width, bool accumulate,
                            float* d_a, float* d_y, const float* next, int64_t next_rows) {
    for (int64_t r0 = 0; r0 < rows; r0 += kDaRows) {
      const int64_t row_count = Min(kDaRows, rows - r0);
      for (int64_t j0 = 0; j0 < rank; j0 += kDaRanks) {
        const int64_t rank_count = Min(kDaRanks, rank - j0);
        WithCount<kDaRows>(row_count, [&](auto row_tile) {
          WithCount<kDaRanks>(rank_count, [&](auto rank_tile) {
            DaTile<decltype(row_tile)::value, decltype(rank_tile)::value>(
                d_out + r0 * cols, y + j0 * cols, cols, rank, width, scale, accumulate,
                d_a + r0 * rank + j0);
          });
        });
      }
    }
    Prefetch prefetch;
    if (rank <= kPrefetchMaxRank && next_rows > 0) {
      const int64_t row_bytes = width * static_cast<int64_t>(sizeof(float));
      const int64_t lines = next_rows * ((row_bytes + 63) / 64);
      const int64_t steps = rows * ((width + kDyVectors * kWidth - 1) / (kDyVectors * kWidth));
      prefetch = Prefetch{reinterpret_cast<const char*>(next),
                          cols * static_cast<int64_t>(sizeof(float)),
                          row_bytes,
                          next_rows,
                          0,
                          (lines + steps - 1) / steps};
    }
    const V scale_vec = T::Set1(scale);
    for (int64_t j0 = 0; j0 < rank; j0 += kDyRanks) {
      WithCount<kDyRanks>(Min(kDyRanks, rank - j0), [&](auto count) {
        DyRankBlock<decltype(count)::value>(a + j0, d_out, cols, rank, rows, width, scale_vec,
                                            d_y + j0 * cols, prefetch);
      });
    }
  }

  static void Backward(const float* a, const float* y, const float* d_out, int64_t cols,
                       int64_t rank, float scale, int64_t begin, int64_t end, float* d_a,
                       float* d_y) {
    if (end <= begin) return;
    const int64_t first_row = begin / cols;
    const int64_t rows = (end - begin) / cols;
    const int64_t cut = (end - begin) - rows * cols;
    const int64_t chunk = ChunkColumns(cols, rank, 2);
    const int64_t block_rows =
        Max(1, Min(8 * kDaRows, kBlockBytes / (chunk * static_cast<int64_t>(sizeof(float)))));
    const float* a_rows = a + first_row * rank;
    float* d_a_rows = d_a + first_row * rank;
    for (int64_t c0 = 0; c0 < cols; c0 += chunk) {
      const int64_t width = Min(chunk, cols - c0);
      for (int64_t r0 = 0; r0 < rows; r0 += block_rows) {
        const int64_t next = r0 + block_rows;
        const int64_t next_rows = Max(0, Min(block_rows, rows - next));
        BackwardBlock(a_rows + r0 * rank, y + c0, d_out + r0 * cols + c0, cols, rank, scale,
                      Min(block_rows, rows - r0), width, c0 > 0, d_a_rows + r0 * rank, d_y + c0,
                      next_rows > 0 ? d_out + next * cols + c0 : nullptr, next_rows);
      }
      if (cut > c0) {
        BackwardBlock(a_rows + rows * rank, y + c0, d_out + rows * cols + c0, cols, rank, scale, 1,
                      Min(width, cut - c0), c0 > 0, d_a_rows + rows * rank, d_y + c0, nullptr, 0);
      }
    }
  }
};

}  // namespace
}  // namespace superlora::kernels
