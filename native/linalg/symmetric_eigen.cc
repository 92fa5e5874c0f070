#include "symmetric_eigen.h"

// glibc 2.35 gave hypot a new symbol version (the old one wraps the same computation in SVID error
// handling), which would make the prebuilt binaries need glibc 2.35. Bind the calls below to the
// version every glibc of the architecture has (README "Prebuilt binaries"; scripts/prebuild.js
// checks the floor).
#if defined(__linux__) && defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver hypot,hypot@GLIBC_2.2.5");
#elif defined(__linux__) && defined(__GLIBC__) && defined(__aarch64__)
__asm__(".symver hypot,hypot@GLIBC_2.17");
#endif

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

// The inner loops (dot products, rank-2 updates, rotations) are short and in cache: compute-bound,
// so on x86-64 Linux GCC builds them for AVX2 + FMA and AVX-512 too and picks one at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SUPERLORA_WIDE_LOOPS __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define SUPERLORA_WIDE_LOOPS
#endif

namespace superlora::linalg {
namespace {

constexpr double kEpsilon = 2.220446049250313e-16;  // 2^-52
constexpr int kMaxIterationsPerValue = 60;

// Σ a[i]·b[i] with four partial sums, so the compiler can keep them in vector registers.
SUPERLORA_WIDE_LOOPS double Dot(const double* a, const double* b, int64_t length) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= length; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < length; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

// row[j] −= a·x[j] + b·y[j].
SUPERLORA_WIDE_LOOPS void SubtractTwoScaled(double* row, double a, const double* x, double b,
                                            const double* y, int64_t length) {
  for (int64_t j = 0; j < length; ++j) row[j] -= a * x[j] + b * y[j];
}

// y[j] += a·x[j].
SUPERLORA_WIDE_LOOPS void AddScaled(double* y, double a, const double* x, int64_t length) {
  for (int64_t j = 0; j < length; ++j) y[j] += a * x[j];
}

// Gram matrices are summed tile by tile: a tile's sums stay in L1 while every row of X streams by,
// instead of the whole matrix being read and written once per row.
constexpr int64_t kGramTile = 64;

// The tile [i0, i0 + height) × [j0, j0 + width) of XᵀX (X is [length, side]) and its mirror image,
// each entry summed over the rows of X in order.
SUPERLORA_WIDE_LOOPS void GramTile(const double* x, int64_t length, int64_t side, int64_t i0,
                                   int64_t height, int64_t j0, int64_t width, double* gram) {
  double tile[kGramTile * kGramTile] = {};
  for (int64_t r = 0; r < length; ++r) {
    const double* row = x + r * side;
    for (int64_t a = 0; a < height; ++a) {
      const double value = row[i0 + a];
      double* out = tile + a * kGramTile;
      for (int64_t b = 0; b < width; ++b) out[b] += value * row[j0 + b];
    }
  }
  for (int64_t a = 0; a < height; ++a) {
    for (int64_t b = 0; b < width; ++b) {
      gram[(i0 + a) * side + j0 + b] = tile[a * kGramTile + b];
      gram[(j0 + b) * side + i0 + a] = tile[a * kGramTile + b];
    }
  }
}

// Reduces `work` (symmetric; its lower triangle is read and updated) to tridiagonal T with
// reflections H_k = I − 2 v vᵀ, each v kept in row k of `work`; fills T's diagonal and
// sub-diagonal, and Z = H_{n−3} ⋯ H_0 in `basis`, so that A = Zᵀ T Z.
void Tridiagonalize(std::vector<double>& work, int64_t n, double* diagonal, double* off_diagonal,
                    double* basis) {
  std::vector<double> p(static_cast<size_t>(n));
  std::vector<char> reflected(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k + 2 < n; ++k) {
    const int64_t start = k + 1;
    const int64_t length = n - start;
    // Only the lower triangle is kept up to date (half the memory traffic of the full square).
    // Column k below the diagonal becomes v, stored in row k right of the diagonal, which no later
    // step touches, for the accumulation of Z.
    double* v = work.data() + k * n + start;
    for (int64_t i = 0; i < length; ++i) v[i] = work[static_cast<size_t>((start + i) * n + k)];
    diagonal[k] = work[static_cast<size_t>(k * n + k)];
    double norm = std::sqrt(Dot(v, v, length));
    if (norm == 0) {
      off_diagonal[k] = 0;
      continue;
    }
    const double alpha = v[0] > 0 ? -norm : norm;
    v[0] -= alpha;
    const double v_norm = std::sqrt(Dot(v, v, length));
    for (int64_t i = 0; i < length; ++i) v[i] /= v_norm;
    off_diagonal[k] = alpha;
    reflected[static_cast<size_t>(k)] = 1;
    // S ← H S H for the trailing block S: p = S v, K = vᵀ p, w = p − K v, S −= 2 (v wᵀ + w vᵀ).
    // p from the lower triangle: row i gives Σ_{j<i} s_ij v_j to p_i and s_ij v_i to each p_j.
    double* w = p.data() + start;
    std::fill(w, w + length, 0.0);
    for (int64_t i = 0; i < length; ++i) {
      const double* row = work.data() + (start + i) * n + start;
      w[i] += Dot(row, v, i) + row[i] * v[i];
      AddScaled(w, v[i], row, i);
    }
    const double vp = Dot(v, w, length);
    for (int64_t i = 0; i < length; ++i) w[i] -= vp * v[i];
    for (int64_t i = 0; i < length; ++i) {
      SubtractTwoScaled(work.data() + (start + i) * n + start, 2 * v[i], w, 2 * w[i], v, i + 1);
    }
  }
  if (n >= 2) {
    diagonal[n - 2] = work[static_cast<size_t>((n - 2) * n + n - 2)];
    off_diagonal[n - 2] = work[static_cast<size_t>((n - 1) * n + n - 2)];
  }
  diagonal[n - 1] = work[static_cast<size_t>((n - 1) * n + n - 1)];

  std::fill(basis, basis + n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) basis[i * n + i] = 1;
  // Z ← Z · H_k from the last reflection back: only the trailing block's rows change.
  for (int64_t k = n - 3; k >= 0; --k) {
    if (!reflected[static_cast<size_t>(k)]) continue;
    const int64_t start = k + 1;
    const int64_t length = n - start;
    const double* v = work.data() + k * n + start;
    for (int64_t i = start; i < n; ++i) {
      double* row = basis + i * n + start;
      SubtractTwoScaled(row, 2 * Dot(row, v, length), v, 0, v, length);
    }
  }
}

// Rows k and k + 1 of `basis` ← (c·row_k + s·row_{k+1}, −s·row_k + c·row_{k+1}).
SUPERLORA_WIDE_LOOPS void RotateRows(double* basis, int64_t n, int64_t k, double c, double s) {
  double* upper = basis + k * n;
  double* lower = upper + n;
  for (int64_t j = 0; j < n; ++j) {
    const double u = upper[j];
    const double l = lower[j];
    upper[j] = c * u + s * l;
    lower[j] = c * l - s * u;
  }
}

bool DiagonalizeTridiagonal(double* diagonal, double* off_diagonal, double* basis, int64_t n) {
  const auto negligible = [&](int64_t i) {
    return std::fabs(off_diagonal[i]) <=
           kEpsilon * (std::fabs(diagonal[i]) + std::fabs(diagonal[i + 1]));
  };
  int64_t hi = n - 1;
  int iterations = 0;
  while (hi > 0) {
    if (negligible(hi - 1)) {
      off_diagonal[hi - 1] = 0;
      --hi;
      iterations = 0;
      continue;
    }
    if (++iterations > kMaxIterationsPerValue) return false;
    int64_t lo = hi - 1;
    while (lo > 0 && !negligible(lo - 1)) --lo;
    if (lo > 0) off_diagonal[lo - 1] = 0;

    const double half = (diagonal[hi - 1] - diagonal[hi]) / 2;
    const double coupling = off_diagonal[hi - 1];
    const double shift =
        diagonal[hi] -
        (coupling * coupling) / (half + (half >= 0 ? 1 : -1) * std::hypot(half, coupling));
    double x = diagonal[lo] - shift;
    double z = off_diagonal[lo];
    for (int64_t k = lo; k < hi; ++k) {
      const double r = std::hypot(x, z);
      const double c = r == 0 ? 1 : x / r;
      const double s = r == 0 ? 0 : z / r;
      if (k > lo) off_diagonal[k - 1] = r;
      const double a = diagonal[k];
      const double b = off_diagonal[k];
      const double d = diagonal[k + 1];
      diagonal[k] = c * c * a + 2 * c * s * b + s * s * d;
      diagonal[k + 1] = s * s * a - 2 * c * s * b + c * c * d;
      off_diagonal[k] = c * s * (d - a) + (c * c - s * s) * b;
      x = off_diagonal[k];
      if (k + 1 < hi) {
        z = s * off_diagonal[k + 1];
        off_diagonal[k + 1] = c * off_diagonal[k + 1];
      }
      RotateRows(basis, n, k, c, s);
    }
  }
  return true;
}

}  // namespace

bool SymmetricEigen(const double* matrix, int64_t n, double* values, double* vectors) {
  const size_t count = static_cast<size_t>(n * n);
  // Decompose A / 2^e with the largest entry in [0.5, 1): a power of two scales exactly, and
  // squares of entries near the double range can no longer overflow (LAPACK's dsyev scales
  // likewise).
  double largest = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j <= i; ++j) largest = std::max(largest, std::fabs(matrix[i * n + j]));
  }
  int exponent = 0;
  if (largest > 0) std::frexp(largest, &exponent);
  std::vector<double> work(count);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      const double value = std::ldexp(matrix[i * n + j], -exponent);
      work[static_cast<size_t>(i * n + j)] = value;
      work[static_cast<size_t>(j * n + i)] = value;
    }
  }
  std::vector<double> diagonal(static_cast<size_t>(n));
  std::vector<double> off_diagonal(static_cast<size_t>(std::max<int64_t>(n - 1, 0)));
  std::vector<double> basis(count);
  Tridiagonalize(work, n, diagonal.data(), off_diagonal.data(), basis.data());
  if (!DiagonalizeTridiagonal(diagonal.data(), off_diagonal.data(), basis.data(), n)) return false;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  // Stable, as the reference's Array.prototype.sort: equal eigenvalues keep their order.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return diagonal[static_cast<size_t>(a)] > diagonal[static_cast<size_t>(b)];
  });
  for (int64_t i = 0; i < n; ++i) {
    const int64_t source = order[static_cast<size_t>(i)];
    values[i] = std::ldexp(diagonal[static_cast<size_t>(source)], exponent);
    std::copy(basis.begin() + source * n, basis.begin() + (source + 1) * n, vectors + i * n);
  }
  return true;
}

void GramMatrix(const float* matrix, int64_t rows, int64_t cols, bool by_columns, double* gram) {
  // G = XᵀX with X the matrix (MᵀM) or its transpose (M Mᵀ), promoted to double, [length, side].
  const int64_t side = by_columns ? cols : rows;
  const int64_t length = by_columns ? rows : cols;
  std::vector<double> x(static_cast<size_t>(length * side));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      x[static_cast<size_t>(by_columns ? r * cols + c : c * rows + r)] = matrix[r * cols + c];
    }
  }
  for (int64_t i0 = 0; i0 < side; i0 += kGramTile) {
    for (int64_t j0 = 0; j0 <= i0; j0 += kGramTile) {
      GramTile(x.data(), length, side, i0, std::min(kGramTile, side - i0), j0,
               std::min(kGramTile, side - j0), gram);
    }
  }
}

bool GramSpectrum(const float* matrix, int64_t rows, int64_t cols, double* values,
                  double* vectors) {
  const bool by_columns = cols <= rows;
  const int64_t side = by_columns ? cols : rows;
  std::vector<double> gram(static_cast<size_t>(side * side));
  GramMatrix(matrix, rows, cols, by_columns, gram.data());
  return SymmetricEigen(gram.data(), side, values, vectors);
}

}  // namespace superlora::linalg
