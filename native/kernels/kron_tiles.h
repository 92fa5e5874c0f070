// The loops of KronForward / KronBackward (kron.h), written once over a vector traits type
// (simd/vec_scalar.h, vec_avx2.h, vec_avx512.h) and compiled once per ISA: kron.cc (portable),
// kron_avx2.cc and kron_avx512.cc include this, the last two after their target pragma. The
// anonymous namespace keeps each copy private to its file, so the linker can never hand the
// AVX-512 copy of an inline function to a caller compiled for a lower level.
//
// The folded tensor is walked one row of its last mode at a time (L = D_{M−1} values, contiguous).
// Within a row the index of mode M−1 has split 0 as its most significant digit, so the row is
// kron(v_0, …, v_{K−1}) with v_k the matching last-mode row of T_k. It is written as u ⊗ w, with
// w = kron(v_s, …, v_{K−1}) long enough (64 values when the row allows it, PlanKronRows) that each
// scaled copy of w is whole vectors, and u = kron(v_0, …, v_{s−1}); both are rebuilt per row from
// the K small rows (a few hundred flops next to the L stores). A w of a few vectors stays in
// registers for the whole row. The backward reads dT once per row (prefetched a few KiB ahead):
// du = dots of dT's segments with w, dw += scaled segments, then the same two products unwind
// the short kron chains of u and w into each split's gradient row.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kron.h"
#include "kron_isa.h"

namespace superlora::kernels {
namespace {

inline int64_t LastDim(const KronOperands& operands, int k) {
  return operands.dims[k * operands.order + operands.order - 1];
}

// |kron(v_first, …, v_{last−1})|.
inline int64_t ChainLength(const KronOperands& operands, int first, int last) {
  int64_t length = 1;
  for (int k = first; k < last; ++k) length *= LastDim(operands, k);
  return length;
}

// Outputs of at least this many floats are streamed past the caches where aligned, for the same
// reasons and at the same size as LowRankForward's (lowrank_tiles.h).
constexpr int64_t kStreamMinFloats = 64 * 1024;
// An unaligned run at least this long is worth one masked store to reach a 64-byte boundary.
constexpr int64_t kStreamPeelFloats = 256;
// How far ahead of the current row the backward prefetches dT.
constexpr int64_t kPrefetchAheadBytes = 8 * 1024;

template <class T>
struct KronKernels {
  using V = typename T::V;
  using Mask = typename T::Mask;
  static constexpr int64_t kWidth = T::kWidth;

  // A w of up to this many vectors is held in registers for a whole row (Outer, OuterBackward),
  // with as many accumulators in the backward: a quarter of the register file each.
  static constexpr int kShortVectors = T::kRegisters / 4;

  static int64_t Min(int64_t x, int64_t y) { return x < y ? x : y; }

  // Calls f(std::integral_constant<int, n>) for 1 ≤ n ≤ kMax.
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

  // ---- primitives ----

  // dst[i] = c · src[i], i < n. kStream: the full vectors of a 64-byte aligned dst go around the
  // caches (non-temporal stores; the caller fences), because the output is larger than they are.
  // A long unaligned run is first brought to alignment with one masked store; a short one is
  // stored normally rather than leave partial lines to the write-combining buffers.
  template <bool kStream = false>
  static void ScaledCopy(float* dst, const float* src, int64_t n, float c) {
    const V factor = T::Set1(c);
    int64_t i = 0;
    bool stream = false;
    if constexpr (kStream) {
      const int64_t misaligned = static_cast<int64_t>(reinterpret_cast<uintptr_t>(dst) % 64);
      if (misaligned == 0) {
        stream = true;
      } else if (misaligned % 4 == 0 && n >= kStreamPeelFloats) {
        const int64_t head = (64 - misaligned) / 4;
        for (; i + kWidth <= head; i += kWidth) {
          T::Store(dst + i, T::Mul(factor, T::Load(src + i)));
        }
        if (i < head) {
          const Mask part = T::FirstLanes(head - i);
          T::StoreFirst(dst + i, T::Mul(factor, T::LoadFirst(src + i, part)), part);
          i = head;
        }
        stream = true;
      }
    }
    if (stream) {
      for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
        const V x0 = T::Load(src + i);
        const V x1 = T::Load(src + i + kWidth);
        const V x2 = T::Load(src + i + 2 * kWidth);
        const V x3 = T::Load(src + i + 3 * kWidth);
        T::Stream(dst + i, T::Mul(factor, x0));
        T::Stream(dst + i + kWidth, T::Mul(factor, x1));
        T::Stream(dst + i + 2 * kWidth, T::Mul(factor, x2));
        T::Stream(dst + i + 3 * kWidth, T::Mul(factor, x3));
      }
      for (; i + kWidth <= n; i += kWidth) T::Stream(dst + i, T::Mul(factor, T::Load(src + i)));
    } else {
      for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
        const V x0 = T::Load(src + i);
        const V x1 = T::Load(src + i + kWidth);
        const V x2 = T::Load(src + i + 2 * kWidth);
        const V x3 = T::Load(src + i + 3 * kWidth);
        T::Store(dst + i, T::Mul(factor, x0));
        T::Store(dst + i + kWidth, T::Mul(factor, x1));
        T::Store(dst + i + 2 * kWidth, T::Mul(factor, x2));
        T::Store(dst + i + 3 * kWidth, T::Mul(factor, x3));
      }
      for (; i + kWidth <= n; i += kWidth) T::Store(dst + i, T::Mul(factor, T::Load(src + i)));
    }
    if (i < n) {
      const Mask tail = T::FirstLanes(n - i);
      T::StoreFirst(dst + i, T::Mul(factor, T::LoadFirst(src + i, tail)), tail);
    }
  }

  // dst[i] += c · src[i], i < n.
  static void AddScaled(float* dst, const float* src, int64_t n, float c) {
    const V factor = T::Set1(c);
    int64_t i = 0;
    for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
      const V x0 = T::Fma(factor, T::Load(src + i), T::Load(dst + i));
      const V x1 = T::Fma(factor, T::Load(src + i + kWidth), T::Load(dst + i + kWidth));
      T::Store(dst + i, x0);
      T::Store(dst + i + kWidth, x1);
    }
    for (; i + kWidth <= n; i += kWidth) {
      T::Store(dst + i, T::Fma(factor, T::Load(src + i), T::Load(dst + i)));
    }
    if (i < n) {
      const Mask tail = T::FirstLanes(n - i);
      T::StoreFirst(dst + i,
                    T::Fma(factor, T::LoadFirst(src + i, tail), T::LoadFirst(dst + i, tail)), tail);
    }
  }

  // Σ a[i] · b[i], i < n, over four independent chains (latency, and lanes for the scalar build).
  static float Dot(const float* a, const float* b, int64_t n) {
    V acc0 = T::Zero();
    V acc1 = T::Zero();
    V acc2 = T::Zero();
    V acc3 = T::Zero();
    int64_t i = 0;
    for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
      acc0 = T::Fma(T::Load(a + i), T::Load(b + i), acc0);
      acc1 = T::Fma(T::Load(a + i + kWidth), T::Load(b + i + kWidth), acc1);
      acc2 = T::Fma(T::Load(a + i + 2 * kWidth), T::Load(b + i + 2 * kWidth), acc2);
      acc3 = T::Fma(T::Load(a + i + 3 * kWidth), T::Load(b + i + 3 * kWidth), acc3);
    }
    for (; i + kWidth <= n; i += kWidth) acc0 = T::Fma(T::Load(a + i), T::Load(b + i), acc0);
    if (i < n) {
      const Mask tail = T::FirstLanes(n - i);
      acc1 = T::Fma(T::LoadFirst(a + i, tail), T::LoadFirst(b + i, tail), acc1);
    }
    return T::Sum(T::Add(T::Add(acc0, acc1), T::Add(acc2, acc3)));
  }

  // Elements [lo, hi) of c · (u ⊗ w) (flat, |w| = w_length) to dst[0, hi − lo).
  template <bool kStream = false>
  static void Outer(const float* u, const float* w, int64_t w_length, float c, int64_t lo,
                    int64_t hi, float* dst) {
    int64_t p = lo / w_length;
    int64_t q = lo - p * w_length;
    int64_t pos = lo;
    if (w_length <= kShortVectors * kWidth) {
      // A short w stays in registers; each segment is one broadcast and a few stores.
      if (q != 0) {
        const int64_t count = Min(w_length - q, hi - pos);
        ScaledCopy(dst, w + q, count, c * u[p]);
        pos += count;
        ++p;
      }
      const int64_t full = (hi - pos) / w_length;
      if (full > 0) {
        float* first = dst + (pos - lo);
        const bool stream =
            kStream && w_length % 16 == 0 && reinterpret_cast<uintptr_t>(first) % 64 == 0;
        WithCount<kShortVectors>((w_length + kWidth - 1) / kWidth, [&](auto vectors) {
          if (stream) {
            ShortSegments<decltype(vectors)::value, true>(u + p, full, w, w_length, c, first);
          } else {
            ShortSegments<decltype(vectors)::value, false>(u + p, full, w, w_length, c, first);
          }
        });
        pos += full * w_length;
        p += full;
      }
      if (pos < hi) ScaledCopy(dst + (pos - lo), w, hi - pos, c * u[p]);
      return;
    }
    for (; pos < hi; ++p) {
      const int64_t count = Min(w_length - q, hi - pos);
      ScaledCopy<kStream>(dst + (pos - lo), w + q, count, c * u[p]);
      pos += count;
      q = 0;
    }
  }

  // dst[p · w_length + q] = c · u[p] · w[q] for `count` whole segments of a w of at most
  // kVectors vectors. kStream: every segment starts 64-byte aligned (w_length a multiple of 16).
  template <int kVectors, bool kStream>
  static void ShortSegments(const float* u, int64_t count, const float* w, int64_t w_length,
                            float c, float* dst) {
    const Mask tail = T::FirstLanes(w_length - (kVectors - 1) * kWidth);
    V w_vec[kVectors];
    for (int v = 0; v < kVectors; ++v) {
      w_vec[v] = v == kVectors - 1 ? T::LoadFirst(w + v * kWidth, tail) : T::Load(w + v * kWidth);
    }
    for (int64_t p = 0; p < count; ++p) {
      const V coefficient = T::Set1(c * u[p]);
      float* target = dst + p * w_length;
      for (int v = 0; v < kVectors; ++v) {
        const V value = T::Mul(coefficient, w_vec[v]);
        if (kStream) {
          T::Stream(target + v * kWidth, value);
        } else if (v == kVectors - 1) {
          T::StoreFirst(target + v * kWidth, value, tail);
        } else {
          T::Store(target + v * kWidth, value);
        }
      }
    }
  }

  // Backward of Outer for the elements [lo, hi), g[0, hi − lo) = dL/d(c · u ⊗ w):
  // du[p] += c · Σ_q g · w[q] and dw[q] += c · Σ_p u[p] · g (the rest of u ⊗ w has zero gradient).
  static void OuterBackward(const float* g, int64_t lo, int64_t hi, const float* u, const float* w,
                            int64_t w_length, float c, float* du, float* dw) {
    int64_t p = lo / w_length;
    int64_t q = lo - p * w_length;
    int64_t pos = lo;
    if (w_length <= kShortVectors * kWidth) {
      // A short w: its gradient stays in registers across the whole row (a read-modify-write
      // of dw per segment would wait on the previous one's store, masked stores not being
      // forwarded), and the segments' dot products are reduced eight at a time.
      if (q != 0) {
        const int64_t count = Min(w_length - q, hi - pos);
        du[p] += c * Dot(g, w + q, count);
        AddScaled(dw + q, g, count, c * u[p]);
        pos += count;
        ++p;
      }
      const int64_t full = (hi - pos) / w_length;
      if (full > 0) {
        WithCount<kShortVectors>((w_length + kWidth - 1) / kWidth, [&](auto vectors) {
          ShortSegmentsBackward<decltype(vectors)::value>(g + (pos - lo), full, u + p, w, w_length,
                                                          c, du + p, dw);
        });
        pos += full * w_length;
        p += full;
      }
      if (pos < hi) {
        du[p] += c * Dot(g + (pos - lo), w, hi - pos);
        AddScaled(dw, g + (pos - lo), hi - pos, c * u[p]);
      }
      return;
    }
    for (; pos < hi; ++p) {
      const int64_t count = Min(w_length - q, hi - pos);
      const float* segment = g + (pos - lo);
      du[p] += c * Dot(segment, w + q, count);
      AddScaled(dw + q, segment, count, c * u[p]);
      pos += count;
      q = 0;
    }
  }

  // OuterBackward over `count` whole segments of a w of at most kVectors vectors; g, u and du
  // start at the first segment.
  template <int kVectors>
  static void ShortSegmentsBackward(const float* g, int64_t count, const float* u, const float* w,
                                    int64_t w_length, float c, float* du, float* dw) {
    const Mask tail = T::FirstLanes(w_length - (kVectors - 1) * kWidth);
    auto load = [tail](const float* p, int v) {
      return v == kVectors - 1 ? T::LoadFirst(p + v * kWidth, tail) : T::Load(p + v * kWidth);
    };
    V w_vec[kVectors];
    V acc[kVectors];
    for (int v = 0; v < kVectors; ++v) {
      w_vec[v] = load(w, v);
      acc[v] = T::Zero();
    }
    // One segment: returns its dot vector (lanes still to be summed) and accumulates dw.
    auto segment = [&](int64_t p) {
      const float* g_p = g + p * w_length;
      const V coefficient = T::Set1(c * u[p]);
      V dot = T::Zero();
      for (int v = 0; v < kVectors; ++v) {
        const V x = load(g_p, v);
        dot = T::Fma(x, w_vec[v], dot);
        acc[v] = T::Fma(coefficient, x, acc[v]);
      }
      return dot;
    };
    int64_t p = 0;
    for (; p + 8 <= count; p += 8) {
      V dots[8];
      for (int i = 0; i < 8; ++i) dots[i] = segment(p + i);
      float sums[8];
      T::Reduce8(dots, sums);
      for (int i = 0; i < 8; ++i) du[p + i] += c * sums[i];
    }
    for (; p < count; ++p) du[p] += c * T::Sum(segment(p));
    for (int v = 0; v < kVectors; ++v) {
      float* target = dw + v * kWidth;
      if (v == kVectors - 1) {
        T::StoreFirst(target, T::Add(acc[v], T::LoadFirst(target, tail)), tail);
      } else {
        T::Store(target, T::Add(acc[v], T::Load(target)));
      }
    }
  }

  // ---- the row walk ----

  // The rows of every split that make up row `row` of the folded tensor, and a way to step to the
  // next row: a mixed-radix counter over (mode m < M−1, split k), mode-major, split-minor.
  struct RowCursor {
    const KronOperands* operands;
    int64_t* digits;  // (M−1) · K digits, position m · K + k holds i_{k,m}
    int64_t* rows;    // K row indices, rows[k] = Σ_m i_{k,m} · Π_{m < m' < M−1} d_{k,m'}

    int64_t Dim(int k, int m) const { return operands->dims[k * operands->order + m]; }

    void Seek(int64_t row) {
      const int splits = operands->splits;
      const int modes = operands->order - 1;
      for (int k = 0; k < splits; ++k) rows[k] = 0;
      for (int position = modes * splits - 1; position >= 0; --position) {
        const int64_t radix = Dim(position % splits, position / splits);
        digits[position] = row % radix;
        row /= radix;
      }
      for (int m = 0; m < modes; ++m) {
        for (int k = 0; k < splits; ++k) rows[k] = rows[k] * Dim(k, m) + digits[m * splits + k];
      }
    }

    void Next() {
      const int splits = operands->splits;
      const int modes = operands->order - 1;
      for (int position = modes * splits - 1; position >= 0; --position) {
        const int k = position % splits;
        const int m = position / splits;
        int64_t stride = 1;
        for (int later = m + 1; later < modes; ++later) stride *= Dim(k, later);
        if (++digits[position] < Dim(k, m)) {
          rows[k] += stride;
          return;
        }
        digits[position] = 0;
        rows[k] -= (Dim(k, m) - 1) * stride;
      }
    }

    const float* Row(int k, const float* const* tensors) const {
      return tensors[k] + rows[k] * Dim(k, operands->order - 1);
    }
  };

  // Buffers of the kron chains of one row: w_k = kron(v_k, w_{k+1}) for s ≤ k ≤ K−2 and
  // u_k = kron(v_k, u_{k+1}) for 0 ≤ k ≤ s−2, then the same again for the gradients.
  struct Chains {
    float** w;
    float** u;
    float** dw;
    float** du;
  };

  // pointers: 4 · K entries.
  static void LayOutChains(const KronOperands& operands, const KronRowPlan& plan, float* scratch,
                           float** pointers, Chains& chains) {
    chains = Chains{pointers, pointers + operands.splits, pointers + 2 * operands.splits,
                    pointers + 3 * operands.splits};
    const int splits = operands.splits;
    const int s = plan.split_point;
    float* next = scratch;
    for (int pass = 0; pass < 2; ++pass) {
      for (int k = s; k + 1 < splits; ++k) {
        (pass == 0 ? chains.w : chains.dw)[k] = next;
        next += ChainLength(operands, k, splits);
      }
      for (int k = 0; k + 1 < s; ++k) {
        (pass == 0 ? chains.u : chains.du)[k] = next;
        next += ChainLength(operands, k, s);
      }
    }
  }

  // Fills the chain buffers of the current row; returns u and w.
  static void BuildChains(const KronOperands& operands, const KronRowPlan& plan,
                          const RowCursor& cursor, Chains& chains, const float** u,
                          const float** w) {
    const int splits = operands.splits;
    const int s = plan.split_point;
    const float* tail = cursor.Row(splits - 1, operands.tensors);
    for (int k = splits - 2; k >= s; --k) {
      const int64_t tail_length = ChainLength(operands, k + 1, splits);
      Outer(cursor.Row(k, operands.tensors), tail, tail_length, 1.0f, 0,
            LastDim(operands, k) * tail_length, chains.w[k]);
      tail = chains.w[k];
    }
    *w = tail;
    const float* head = cursor.Row(s - 1, operands.tensors);
    for (int k = s - 2; k >= 0; --k) {
      const int64_t head_length = ChainLength(operands, k + 1, s);
      Outer(cursor.Row(k, operands.tensors), head, head_length, 1.0f, 0,
            LastDim(operands, k) * head_length, chains.u[k]);
      head = chains.u[k];
    }
    *u = head;
  }

  static void Forward(const KronOperands& operands, const KronRowPlan& plan, float scale,
                      int64_t begin, int64_t end, float* out, const KronScratch& scratch) {
    if (end <= begin) return;
    const bool stream = end - begin >= kStreamMinFloats;
    if (operands.splits == 1) {
      if (stream) {
        ScaledCopy<true>(out, operands.tensors[0] + begin, end - begin, scale);
        T::Fence();
      } else {
        ScaledCopy(out, operands.tensors[0] + begin, end - begin, scale);
      }
      return;
    }
    Chains chains;
    LayOutChains(operands, plan, scratch.floats, scratch.pointers, chains);
    RowCursor cursor{&operands, scratch.ints,
                     scratch.ints + static_cast<int64_t>(operands.order - 1) * operands.splits};
    const int64_t length = plan.row_length;
    int64_t row = begin / length;
    cursor.Seek(row);
    for (int64_t pos = begin; pos < end; ++row, cursor.Next()) {
      const int64_t row_start = row * length;
      const int64_t hi = Min(end - row_start, length);
      const float* u = nullptr;
      const float* w = nullptr;
      BuildChains(operands, plan, cursor, chains, &u, &w);
      if (stream) {
        Outer<true>(u, w, plan.inner, scale, pos - row_start, hi, out + (pos - begin));
      } else {
        Outer(u, w, plan.inner, scale, pos - row_start, hi, out + (pos - begin));
      }
      pos = row_start + hi;
    }
    if (stream) T::Fence();
  }

  static void Backward(const KronOperands& operands, const KronRowPlan& plan, const float* d_out,
                       float scale, int64_t begin, int64_t end, float* const* grads,
                       const KronScratch& scratch) {
    if (end <= begin) return;
    const int splits = operands.splits;
    if (splits == 1) {
      AddScaled(grads[0] + begin, d_out, end - begin, scale);
      return;
    }
    const int s = plan.split_point;
    Chains chains;
    LayOutChains(operands, plan, scratch.floats, scratch.pointers, chains);
    RowCursor cursor{&operands, scratch.ints,
                     scratch.ints + static_cast<int64_t>(operands.order - 1) * splits};
    const int64_t length = plan.row_length;
    auto grad_row = [&](int k) { return grads[k] + cursor.rows[k] * LastDim(operands, k); };
    // dT is read a few KiB ahead of use: each row ends in short reductions and chain updates
    // whose loads wait on stores, and with dT still in flight from memory those waits would
    // serialise the stream (a store commits only after every older load has retired).
    const char* const d_end = reinterpret_cast<const char*>(d_out + (end - begin));
    const char* fetched = reinterpret_cast<const char*>(d_out);
    int64_t row = begin / length;
    cursor.Seek(row);
    for (int64_t pos = begin; pos < end; ++row, cursor.Next()) {
      const int64_t row_start = row * length;
      const int64_t lo = pos - row_start;
      const int64_t hi = Min(end - row_start, length);
      const char* row_end = reinterpret_cast<const char*>(d_out + (row_start + hi - begin));
      const char* wanted =
          d_end - row_end > kPrefetchAheadBytes ? row_end + kPrefetchAheadBytes : d_end;
      for (; fetched < wanted; fetched += 64) T::Prefetch(fetched);
      const float* u = nullptr;
      const float* w = nullptr;
      BuildChains(operands, plan, cursor, chains, &u, &w);
      // The outermost product, on dT itself: u's and w's gradients go straight into the split
      // rows when the chain is a single split, else into zeroed chain buffers.
      const int64_t u_first = lo / plan.inner;
      const int64_t u_last = (hi - 1) / plan.inner + 1;
      float* du = s == 1 ? grad_row(0) : chains.du[0];
      float* dw = s == splits - 1 ? grad_row(splits - 1) : chains.dw[s];
      if (s != 1) {
        for (int64_t p = u_first; p < u_last; ++p) du[p] = 0.0f;
      }
      if (s != splits - 1) {
        for (int64_t q = 0; q < plan.inner; ++q) dw[q] = 0.0f;
      }
      OuterBackward(d_out + (pos - begin), lo, hi, u, w, plan.inner, scale, du, dw);
      // Unwind w = kron(v_s, kron(v_{s+1}, …)).
      for (int k = s; k + 1 < splits; ++k) {
        const int64_t tail_length = ChainLength(operands, k + 1, splits);
        const float* tail =
            k + 2 == splits ? cursor.Row(splits - 1, operands.tensors) : chains.w[k + 1];
        float* d_tail = k + 2 == splits ? grad_row(splits - 1) : chains.dw[k + 1];
        if (k + 2 != splits) {
          for (int64_t q = 0; q < tail_length; ++q) d_tail[q] = 0.0f;
        }
        OuterBackward(chains.dw[k], 0, LastDim(operands, k) * tail_length,
                      cursor.Row(k, operands.tensors), tail, tail_length, 1.0f, grad_row(k),
                      d_tail);
      }
      // Unwind u = kron(v_0, kron(v_1, …)): the outermost level only where this row touched u,
      // the deeper ones whole (their zeroed gradients are complete sums).
      int64_t first = u_first;
      int64_t last = u_last;
      for (int k = 0; k + 1 < s; ++k) {
        const int64_t head_length = ChainLength(operands, k + 1, s);
        const float* head = k + 2 == s ? cursor.Row(s - 1, operands.tensors) : chains.u[k + 1];
        float* d_head = k + 2 == s ? grad_row(s - 1) : chains.du[k + 1];
        if (k + 2 != s) {
          for (int64_t q = 0; q < head_length; ++q) d_head[q] = 0.0f;
        }
        OuterBackward(chains.du[k] + first, first, last, cursor.Row(k, operands.tensors), head,
                      head_length, 1.0f, grad_row(k), d_head);
        first = 0;
        last = head_length;
      }
      pos = row_start + hi;
    }
  }
};

}  // namespace
}  // namespace superlora::kernels
