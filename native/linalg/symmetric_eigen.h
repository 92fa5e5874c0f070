// Eigen-decomposition of a real symmetric matrix and the Gram matrices the low-rank decomposition
// needs, in double: the same algorithm as src/linalg/symmetricEigen.ts (Householder reduction to
// tridiagonal form, then implicit symmetric QR with Wilkinson shifts; Golub & Van Loan §8.3), which
// stays the reference and the fallback. Results agree with it to rounding, not bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace superlora::linalg {

// `matrix` is row-major [n, n]; only its lower triangle is read. On return `values` (n) holds the
// eigenvalues, largest first, and row i of `vectors` (row-major [n, n]) the unit eigenvector of
// values[i]. The matrix is scaled by a power of two first, so no finite input overflows. Returns
// false when the QR iteration did not converge (60 sweeps for one eigenvalue).
bool SymmetricEigen(const double* matrix, int64_t n, double* values, double* vectors);

// MᵀM ([cols, cols]) when `by_columns`, else M Mᵀ ([rows, rows]), of the row-major float matrix
// [rows, cols], summed in double; the full square is written.
void GramMatrix(const float* matrix, int64_t rows, int64_t cols, bool by_columns, double* gram);

// The spectrum a low-rank decomposition of the row-major float matrix [rows, cols] needs: the
// eigenvalues (largest first) and eigenvectors of the Gram matrix of its smaller side (MᵀM when
// cols ≤ rows, else M Mᵀ), side = min(rows, cols): values [side], vectors [side, side].
bool GramSpectrum(const float* matrix, int64_t rows, int64_t cols, double* values, double* vectors);

}  // namespace superlora::linalg
