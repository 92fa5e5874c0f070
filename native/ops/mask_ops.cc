#include "mask_ops.h"

#include <cmath>
#include <limits>

#include "ops_kernels.h"

namespace superlora::ops {
namespace {

using detail::ForRows;

// Runs body(begin, end) over [0, n), on the pool when n is large (a memory-bound loop).
template <typename Body>
void ForRange(int64_t n, Body body) {
  ForRows(n, 1, [&](int64_t begin, int64_t end) { body(begin, end); });
}

// The element of an operand of `length` n or 1 for output index i.
inline int64_t At(int64_t length, int64_t i) { return length == 1 ? 0 : i; }

template <typename Predicate>
void CompareWith(const float* a, int64_t a_length, const float* b, int64_t b_length, uint8_t* out,
                 int64_t n, Predicate predicate) {
  ForRange(n, [&](int64_t begin, int64_t end) {
    if (a_length == n && b_length == n) {
      for (int64_t i = begin; i < end; ++i) out[i] = predicate(a[i], b[i]) ? 1 : 0;
    } else if (b_length == 1) {
      const float bv = b[0];
      for (int64_t i = begin; i < end; ++i) out[i] = predicate(a[At(a_length, i)], bv) ? 1 : 0;
    } else {
      const float av = a[0];
      for (int64_t i = begin; i < end; ++i) out[i] = predicate(av, b[i]) ? 1 : 0;
    }
  });
}

}  // namespace

void Compare(CompareOp op, const float* a, int64_t a_length, const float* b, int64_t b_length,
             uint8_t* out, int64_t n) {
  switch (op) {
    case CompareOp::kGreater:
      return CompareWith(a, a_length, b, b_length, out, n, [](float x, float y) { return x > y; });
    case CompareOp::kGreaterEqual:
      return CompareWith(a, a_length, b, b_length, out, n, [](float x, float y) { return x >= y; });
    case CompareOp::kLess:
      return CompareWith(a, a_length, b, b_length, out, n, [](float x, float y) { return x < y; });
    case CompareOp::kLessEqual:
      return CompareWith(a, a_length, b, b_length, out, n, [](float x, float y) { return x <= y; });
    case CompareOp::kEqual:
      return CompareWith(a, a_length, b, b_length, out, n, [](float x, float y) { return x == y; });
    case CompareOp::kNotEqual:
      return CompareWith(a, a_length, b, b_length, out, n, [](float x, float y) { return x != y; });
  }
}

void LogicalAnd(const uint8_t* a, int64_t a_length, const uint8_t* b, int64_t b_length,
                uint8_t* out, int64_t n) {
  ForRange(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const uint8_t x = a[At(a_length, i)];
      out[i] = x != 0 ? b[At(b_length, i)] : x;
    }
  });
}

void Select(const uint8_t* condition, const float* a, const float* b, float* out, int64_t n) {
  ForRange(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = condition[i] == 1 ? a[i] : b[i];
  });
}

void ClipByValue(const float* x, double min, double max, float* out, int64_t n) {
  const float min_float = static_cast<float>(min);
  const float max_float = static_cast<float>(max);
  ForRange(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double v = x[i];
      out[i] = v > max ? max_float : (v < min ? min_float : x[i]);
    }
  });
}

void ClipByValueBackward(const float* x, const float* dy, double min, double max, float* out,
                         int64_t n) {
  const auto min_float = static_cast<float>(min);
  const auto max_float = static_cast<float>(max);
  ForRange(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      out[i] = x[i] >= min_float && x[i] <= max_float ? dy[i] : 0.0f;
    }
  });
}

void ReluBackward(const float* x, const float* dy, float* out, int64_t n) {
  ForRange(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float step =
          x[i] > 0.0f ? 1.0f : (std::isnan(x[i]) ? std::numeric_limits<float>::quiet_NaN() : 0.0f);
      out[i] = dy[i] * step;
    }
  });
}

}  // namespace superlora::ops
