// The register-tiled loops of the GEMM over one cache block (gemm_kernels.h), written once over a
// vector traits type and compiled once per ISA: gemm_avx2.cc and gemm_avx512.cc include this after
// their target pragma. The anonymous namespace keeps each copy private to its file, so the linker
// can never hand the AVX-512 copy of an inline function to a caller compiled for a lower level.
//
// A tile of kRows × kCols outputs (kCols = kVectors vectors) lives in registers for the whole
// depth of the block: each depth step loads kVectors vectors of the packed B panel and broadcasts
// kRows values of the packed A panel, kRows · kVectors FMAs for kVectors + kRows loads. The tile
// sizes are chosen per ISA so that the accumulators, the B vectors and one broadcast fill the
// register file without spills. Partial tiles at the block's edges use smaller instantiations
// (fewer rows, fewer vectors) rather than computing padding, which matters for the tiny products
// of attention (17 × 17 × 16 per head).
//
// Traits T provide: V, Mask, kWidth, Zero, Set1, Load, Store, FirstLanes, LoadFirst, StoreFirst,
// Fma, Mul, Add and Relu (Math.max(0, x) semantics: NaN stays NaN, −0 becomes +0).
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "gemm_kernels.h"

namespace superlora::gemm::detail {
namespace {

template <class T, int kRows, int kCols>
struct GemmTiles {
  using V = typename T::V;
  static constexpr int64_t kWidth = T::kWidth;
  static constexpr int kVectors = static_cast<int>(kCols / kWidth);
  static_assert(kCols % kWidth == 0, "a tile is a whole number of vectors wide");

  using TileFn = void (*)(int64_t kc, const float* a, const float* b, const Block& block,
                          float* out, const float* bias, int64_t cols);

  // The epilogue of one accumulator vector: scale, add what out holds (later depth blocks), then on
  // the last depth block add the bias and apply the activation. `load`/`store` are plain or masked.
  template <class Load, class Store>
  static void Emit(V acc, const Block& block, const float* bias, bool bias_vector, Load load,
                   Store store) {
    const V alpha = T::Set1(block.alpha);
    V x = block.accumulate ? T::Fma(acc, alpha, load()) : T::Mul(acc, alpha);
    if (block.finish) {
      if (bias != nullptr) x = T::Add(x, bias_vector ? T::Load(bias) : T::Set1(*bias));
      if (block.activation == Activation::kRelu) x = T::Relu(x);
    }
    store(x);
  }

  template <int kTileRows, int kTileVectors>
  static void Tile(int64_t kc, const float* a, const float* b, const Block& block, float* out,
                   const float* bias, int64_t cols) {
    V acc[kTileRows][kTileVectors];
#pragma GCC unroll 16
    for (int r = 0; r < kTileRows; ++r) {
#pragma GCC unroll 4
      for (int v = 0; v < kTileVectors; ++v) acc[r][v] = T::Zero();
    }
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
      V bv[kTileVectors];
#pragma GCC unroll 4
      for (int v = 0; v < kTileVectors; ++v) bv[v] = T::Load(b + v * kWidth);
#pragma GCC unroll 16
      for (int r = 0; r < kTileRows; ++r) {
        const V av = T::Set1(a[r]);
#pragma GCC unroll 4
        for (int v = 0; v < kTileVectors; ++v) acc[r][v] = T::Fma(av, bv[v], acc[r][v]);
      }
      a += kRows;
      b += kCols;
    }

    const bool bias_vector = block.bias_col_stride != 0;
    if (cols == kTileVectors * kWidth) {
#pragma GCC unroll 16
      for (int r = 0; r < kTileRows; ++r) {
        float* row = out + r * block.ld_out;
        const float* bias_row = bias == nullptr ? nullptr : bias + r * block.bias_row_stride;
#pragma GCC unroll 4
        for (int v = 0; v < kTileVectors; ++v) {
          float* target = row + v * kWidth;
          const float* bias_at = bias_row == nullptr ? nullptr
                                 : bias_vector       ? bias_row + v * kWidth
                                                     : bias_row;
          Emit(
              acc[r][v], block, bias_at, bias_vector, [&] { return T::Load(target); },
              [&](V x) { T::Store(target, x); });
        }
      }
      return;
    }
    // A partial tile: the last vector of each row is masked to the valid lanes.
    const int64_t tail = cols - (kTileVectors - 1) * kWidth;
    const auto mask = T::FirstLanes(tail);
#pragma GCC unroll 16
    for (int r = 0; r < kTileRows; ++r) {
      float* row = out + r * block.ld_out;
      const float* bias_row = bias == nullptr ? nullptr : bias + r * block.bias_row_stride;
#pragma GCC unroll 4
      for (int v = 0; v < kTileVectors; ++v) {
        float* target = row + v * kWidth;
        if (v + 1 < kTileVectors) {
          const float* bias_at = bias_row == nullptr ? nullptr
                                 : bias_vector       ? bias_row + v * kWidth
                                                     : bias_row;
          Emit(
              acc[r][v], block, bias_at, bias_vector, [&] { return T::Load(target); },
              [&](V x) { T::Store(target, x); });
        } else {
          V x = block.accumulate
                    ? T::Fma(acc[r][v], T::Set1(block.alpha), T::LoadFirst(target, mask))
                    : T::Mul(acc[r][v], T::Set1(block.alpha));
          if (block.finish) {
            if (bias_row != nullptr) {
              x = T::Add(
                  x, bias_vector ? T::LoadFirst(bias_row + v * kWidth, mask) : T::Set1(*bias_row));
            }
            if (block.activation == Activation::kRelu) x = T::Relu(x);
          }
          T::StoreFirst(target, x, mask);
        }
      }
    }
  }

  template <int kTileRows, int... kV>
  static constexpr std::array<TileFn, kVectors> RowTable(std::integer_sequence<int, kV...>) {
    return {{&Tile<kTileRows, kV + 1>...}};
  }

  template <int... kR>
  static constexpr std::array<std::array<TileFn, kVectors>, kRows> Table(
      std::integer_sequence<int, kR...>) {
    return {{RowTable<kR + 1>(std::make_integer_sequence<int, kVectors>())...}};
  }

  // Columns outer, rows inner: the B panel (kc × kCols) stays in L1 while the A panels of the
  // block stream through it from L2.
  static void RunBlock(const Block& block) {
    static constexpr std::array<std::array<TileFn, kVectors>, kRows> kTable =
        Table(std::make_integer_sequence<int, kRows>());
    for (int64_t j0 = 0; j0 < block.nc; j0 += kCols) {
      const int64_t cols = block.nc - j0 < kCols ? block.nc - j0 : kCols;
      const int64_t vectors = (cols + kWidth - 1) / kWidth;
      const float* panel_b = block.packed_b + j0 * block.kc;
      for (int64_t i0 = 0; i0 < block.mc; i0 += kRows) {
        const int64_t rows = block.mc - i0 < kRows ? block.mc - i0 : kRows;
        const float* bias = block.bias == nullptr ? nullptr
                                                  : block.bias + i0 * block.bias_row_stride +
                                                        j0 * block.bias_col_stride;
        kTable[rows - 1][vectors - 1](block.kc, block.packed_a + i0 * block.kc, panel_b, block,
                                      block.out + i0 * block.ld_out + j0, bias, cols);
      }
    }
  }
};

}  // namespace
}  // namespace superlora::gemm::detail
