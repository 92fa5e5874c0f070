#include "split_contraction.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "../parallel/thread_pool.h"
#include "aligned_buffer.h"

namespace superlora::engine {
namespace {

// Σ a[i]·b[i] in double. Eight independent partial sums: the compiler may not reorder one double
// chain into vectors, but it does vectorise these, and they keep the long sums of the backward
// (up to D/D_0 terms) accurate.
double DotDouble(const float* a, const float* b, int64_t length) {
  double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= length; i += 8) {
    for (int k = 0; k < 8; ++k) partial[k] += static_cast<double>(a[i + k]) * b[i + k];
  }
  double sum = 0;
  for (; i < length; ++i) sum += static_cast<double>(a[i]) * b[i];
  for (int k = 0; k < 8; ++k) sum += partial[k];
  return sum;
}

const float* FactorOf(const SplitSpec& split, const float* params, int mode, int64_t slot) {
  return params + split.factor_offsets[mode] + slot * split.dims[mode] * split.rank;
}

float* FactorGradOf(const SplitSpec& split, float* d_params, int mode, int64_t slot) {
  return d_params + split.factor_offsets[mode] + slot * split.dims[mode] * split.rank;
}

// Items of `work` multiply-adds each per pool chunk: enough that the pool's bookkeeping is noise.
// Inside a pool job (a whole group) ParallelFor runs inline, so only the contractions of a group
// spread over the pool (one large group) use the other threads.
int64_t Grain(int64_t work) {
  return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, work));
}

// out[o, i, :] = Σ_j a[i, j] · x[o, j, :] for x [outer, r, inner], a [dim, r].
void ModeProduct(const float* x, const float* a, const ContractionStep& step, int64_t rank,
                 float* out) {
  const int64_t inner = step.inner;
  parallel::ParallelFor(0, step.outer * step.dim, Grain(rank * inner),
                        [&](int64_t begin, int64_t end, int) {
                          for (int64_t row = begin; row < end; ++row) {
                            const int64_t o = row / step.dim;
                            const int64_t i = row % step.dim;
                            const float* x_block = x + o * rank * inner;
                            float* dst = out + row * inner;
                            const float* a_row = a + i * rank;
                            if (inner == 1) {
                              dst[0] = static_cast<float>(DotDouble(a_row, x_block, rank));
                              continue;
                            }
                            std::fill(dst, dst + inner, 0.0f);
                            for (int64_t j = 0; j < rank; ++j) {
                              const float weight = a_row[j];
                              const float* src = x_block + j * inner;
                              for (int64_t c = 0; c < inner; ++c) dst[c] += weight * src[c];
                            }
                          }
                        });
}

// Backward of ModeProduct: d_a[i, j] = Σ_{o,c} d_out[o, i, c] · x[o, j, c] (overwritten), and,
// when d_x is not null, d_x[o, j, :] = Σ_i a[i, j] · d_out[o, i, :].
void ModeProductBackward(const float* x, const float* a, const float* d_out,
                         const ContractionStep& step, int64_t rank, float* d_a, float* d_x) {
  const int64_t inner = step.inner;
  const int64_t grain = Grain(step.outer * inner);
  parallel::ParallelFor(0, step.dim * rank, grain, [&](int64_t begin, int64_t end, int) {
    for (int64_t entry = begin; entry < end; ++entry) {
      const int64_t i = entry / rank;
      const int64_t j = entry % rank;
      // Sums over outer · inner products: double keeps them accurate for large folds.
      double sum = 0;
      for (int64_t o = 0; o < step.outer; ++o) {
        sum += DotDouble(d_out + (o * step.dim + i) * inner, x + (o * rank + j) * inner, inner);
      }
      d_a[entry] = static_cast<float>(sum);
    }
  });
  if (d_x == nullptr) return;
  parallel::ParallelFor(0, step.outer * rank, Grain(step.dim * inner),
                        [&](int64_t begin, int64_t end, int) {
                          for (int64_t row = begin; row < end; ++row) {
                            const int64_t o = row / rank;
                            const int64_t j = row % rank;
                            float* dst = d_x + row * inner;
                            std::fill(dst, dst + inner, 0.0f);
                            for (int64_t i = 0; i < step.dim; ++i) {
                              const float weight = a[i * rank + j];
                              const float* g = d_out + (o * step.dim + i) * inner;
                              for (int64_t c = 0; c < inner; ++c) dst[c] += weight * g[c];
                            }
                          }
                        });
}

// Column j of the Khatri–Rao product of factors [first, last): out[p] = Π_m A_m[i_m, j] for the
// row-major multi-index p = (i_first, …, i_{last−1}). Returns its length. Expanded in place from
// the back, so each old entry is read before anything overwrites it.
int64_t KhatriRaoColumn(const SplitSpec& split, const float* params, int64_t slot, int first,
                        int last, int64_t j, float* out) {
  const int64_t rank = split.rank;
  int64_t length = 1;
  out[0] = 1.0f;
  for (int m = first; m < last; ++m) {
    const float* factor = FactorOf(split, params, m, slot);
    const int64_t dim = split.dims[m];
    for (int64_t p = length - 1; p >= 0; --p) {
      const float value = out[p];
      for (int64_t i = dim - 1; i >= 0; --i) out[p * dim + i] = value * factor[i * rank + j];
    }
    length *= dim;
  }
  return length;
}

void BuildIdentityY(const SplitSpec& split, const float* params, int64_t slot, float* y) {
  const int order = static_cast<int>(split.dims.size());
  for (int64_t j = 0; j < split.rank; ++j) {
    // M = 1: C[j] = 1 for every j, so Y is a column of ones.
    KhatriRaoColumn(split, params, slot, 1, order, j, y + j * split.cols);
  }
}

void BuildIdentityYBackward(const SplitSpec& split, const float* params, int64_t slot,
                            const float* d_y, float* d_params, float* scratch) {
  const int order = static_cast<int>(split.dims.size());
  const int64_t rank = split.rank;
  const int64_t cols = split.cols;
  float* suffix = scratch;
  float* prefix = scratch + AlignFloats(cols);
  double* sums = reinterpret_cast<double*>(scratch + 2 * AlignFloats(cols));
  for (int m = 1; m < order; ++m) {
    const int64_t dim = split.dims[m];
    float* d_factor = FactorGradOf(split, d_params, m, slot);
    for (int64_t j = 0; j < rank; ++j) {
      const int64_t suffix_length = KhatriRaoColumn(split, params, slot, m + 1, order, j, suffix);
      const int64_t prefix_length = KhatriRaoColumn(split, params, slot, 1, m, j, prefix);
      std::fill(sums, sums + dim, 0.0);
      const float* d_row = d_y + j * cols;
      // dA_m[i, j] = Σ_{a, s} prefix[a] · suffix[s] · dY[j, (a, i, s)].
      for (int64_t a = 0; a < prefix_length; ++a) {
        const double weight = prefix[a];
        if (weight == 0) continue;
        for (int64_t i = 0; i < dim; ++i) {
          sums[i] +=
              weight * DotDouble(d_row + (a * dim + i) * suffix_length, suffix, suffix_length);
        }
      }
      for (int64_t i = 0; i < dim; ++i) d_factor[i * rank + j] = static_cast<float>(sums[i]);
    }
  }
}

// Runs steps [0, count) of the dense contraction; the last of all writes to y.
void RunDenseSteps(const SplitSpec& split, const float* params, int64_t slot, size_t count,
                   float* y, float* scratch) {
  const float* input = params + split.core_offset + slot * split.core_size;
  for (size_t t = 0; t < count; ++t) {
    const ContractionStep& step = split.contraction_steps[t];
    float* output = step.output_offset < 0 ? y : scratch + step.output_offset;
    ModeProduct(input, FactorOf(split, params, step.mode, slot), step, split.rank, output);
    input = output;
  }
}

}  // namespace

void PlanContraction(SplitSpec& split, int order, bool dense_core) {
  split.contraction_steps.clear();
  split.contraction_scratch = 0;
  if (split.rank <= 0) return;
  const int64_t rank = split.rank;
  if (!dense_core) {
    if (order >= 2) {
      int64_t max_dim = 1;
      for (int m = 1; m < order; ++m) max_dim = std::max(max_dim, split.dims[m]);
      // suffix and prefix columns (each ≤ cols values) and `dim` double sums.
      split.contraction_scratch = 2 * AlignFloats(split.cols) + AlignFloats(2 * max_dim);
    }
    return;
  }
  std::vector<int> modes(static_cast<size_t>(order > 1 ? order - 1 : 0));
  std::iota(modes.begin(), modes.end(), 1);
  // Ties (square folds have nearly equal dims) go to the later mode first: every order costs the
  // same FLOPs, but then the last, largest steps contract leading modes, whose `inner` run is
  // long, so their loops are contiguous axpys and dots instead of strided scalar ones.
  std::sort(modes.begin(), modes.end(), [&](int a, int b) {
    return split.dims[a] != split.dims[b] ? split.dims[a] < split.dims[b] : a > b;
  });
  std::vector<int64_t> shape(static_cast<size_t>(order), rank);
  int64_t offset = 0;
  int64_t largest = 0;
  for (size_t t = 0; t < modes.size(); ++t) {
    ContractionStep step;
    step.mode = modes[t];
    step.dim = split.dims[step.mode];
    for (int m = 0; m < step.mode; ++m) step.outer *= shape[m];
    for (int m = step.mode + 1; m < order; ++m) step.inner *= shape[m];
    shape[step.mode] = step.dim;
    const bool last = t + 1 == modes.size();
    if (!last) {
      // Intermediates stay in scratch: the backward reads every one of them.
      const int64_t size = step.outer * step.dim * step.inner;
      step.output_offset = offset;
      offset += AlignFloats(size);
      largest = std::max(largest, size);
    }
    split.contraction_steps.push_back(step);
  }
  split.gradient_offsets[0] = offset;
  split.gradient_offsets[1] = offset + AlignFloats(largest);
  split.contraction_scratch = offset + 2 * AlignFloats(largest);
}

void BuildY(const SplitSpec& split, bool dense_core, const float* params, int64_t slot, float* y,
            float* scratch) {
  if (!dense_core) {
    BuildIdentityY(split, params, slot, y);
    return;
  }
  if (split.contraction_steps.empty()) {
    // M = 1: Y is the core itself, a column of r values.
    std::memcpy(y, params + split.core_offset + slot * split.core_size,
                static_cast<size_t>(split.rank) * sizeof(float));
    return;
  }
  RunDenseSteps(split, params, slot, split.contraction_steps.size(), y, scratch);
}

void BuildYBackward(const SplitSpec& split, bool dense_core, const float* params, int64_t slot,
                    const float* d_y, float* d_params, float* scratch) {
  if (!dense_core) {
    BuildIdentityYBackward(split, params, slot, d_y, d_params, scratch);
    return;
  }
  float* d_core = d_params + split.core_offset + slot * split.core_size;
  const size_t steps = split.contraction_steps.size();
  if (steps == 0) {
    std::memcpy(d_core, d_y, static_cast<size_t>(split.rank) * sizeof(float));
    return;
  }
  // The intermediates X_1 … X_{M−2} (not Y, whose gradient is given).
  RunDenseSteps(split, params, slot, steps - 1, nullptr, scratch);
  const float* core = params + split.core_offset + slot * split.core_size;
  const float* gradient = d_y;
  for (size_t t = steps; t-- > 0;) {
    const ContractionStep& step = split.contraction_steps[t];
    const float* input = t == 0 ? core : scratch + split.contraction_steps[t - 1].output_offset;
    float* d_input = t == 0 ? d_core : scratch + split.gradient_offsets[t % 2];
    ModeProductBackward(input, FactorOf(split, params, step.mode, slot), gradient, step, split.rank,
                        FactorGradOf(split, d_params, step.mode, slot), d_input);
    gradient = d_input;
  }
}

}  // namespace superlora::engine
