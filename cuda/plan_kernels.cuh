// The device-side description of a CudaPlan and the launchers of its kernels (split_kernels.cu:
// the splits' small tensors and their backward; delta_kernels.cu: ΔW_all itself, the fastfood
// glue and the Kronecker backward). For cuda/*.cu only. Every kernel covers all groups at once:
// a Schedule maps a flat index of work items onto a list of jobs (groups or (group, split)
// pairs), so launches never depend on how many groups there are.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "check.cuh"
#include "fast_divisor.cuh"
#include "launch.cuh"

namespace superlora::cuda {

// A run of ΔW_all (before the shuffle) that a group writes; `prefix` is its position in the
// group's output.
struct RegionInfo {
  int64_t start;
  int64_t length;
  int64_t prefix;
};

struct BucketInfo {
  int64_t virtualLength;    // n_g
  int64_t generatedLength;  // m_g
  int64_t projectionSize;   // L, 0 without a projection
  int64_t inputSize;        // L1 ≥ m_g, the input transform's size (plan.cu: InputLog)
  int64_t table;  // offset of its fastfood tables π, Gv, π⁻¹, Gv ∘ π⁻¹ (L entries), −1
  int64_t signs;  // offset of its B (m_g entries at least) in PlanView::signs, −1
  int64_t kron;   // K > 1: offset in divisors of its KronTables (delta_kernels.cu)
  float factor;   // projection: scale / sqrt(n · Σ Gv²)
};

struct GroupInfo {
  int32_t bucket;
  int32_t regionFirst;
  int32_t regionCount;
  int32_t jobFirst;          // its K split jobs are jobFirst … jobFirst + K − 1
  int64_t used;              // values it writes (≤ n_g)
  int64_t run;               // where they start in ΔW_all if they land as one run (no shuffle,
                             // one region), −1
  int64_t projectionInput;   // first float of its L1 floats in projectionInput, −1
  int64_t projectionOutput;  // first float of its L floats in projectionOutput, −1
  float* upstream;  // backward: dL/dz (m_g floats) for its splits; nullptr without a projection
                    // where they read dL/dΔW_all in place: K = 1 (SplitGradient), or K > 1 and
                    // one run (KronUpstream)
};

// One split of one group.
struct SplitJob {
  int32_t group;
  int32_t rank;  // 0: a full split
  int64_t d0;
  int64_t cols;  // size / d0
  int64_t size;  // Π_m d_{k,m}
  int64_t dims;  // offset in dims of d_{k,0..M−1}, then the split-local strides Π_{m'>m} d_{k,m'}
  int64_t kronIndex;      // k
  const float* factors;   // A_m of this group: factors + factorOffset[m] (from the dims table)
  int64_t factorOffsets;  // offset in dims of the M per-mode parameter offsets of A_m
  const float* full;      // full split: its tensor
  float* dFull;
  const float* core;  // dense core
  float* dCore;
  const float* y;  // Y_k [r × cols] (or the core itself when M = 1)
  float* yOut;     // where the forward writes Y (nullptr when Y is the core)
  float* dY;
  const float* tensor;  // K > 1: T_k (materialised, or the full parameters)
  float* tensorOut;
  float* dTensor;              // K > 1: dL/dT_k (rank split: scratch; full split: dFull)
  const float* lowRankSource;  // backward: dL/dT_k for dA_0, dY and d full (K = 1: the group
                               // upstream); see SplitGradient
  int64_t lowRankValid;        // entries of dL/dT_k that exist (the rest are zero)
  int64_t step;                // first of its S contraction steps in the steps array
  float* scratch;              // dense contraction scratch
};

// Step t of a dense core's contraction: X_{t+1}[o, i, c] = Σ_j A_mode[i, j] · X_t[o, j, c].
struct StepInfo {
  int32_t mode;
  int64_t outer;
  int64_t inner;
  int64_t dim;
  const float* input;    // X_t
  float* output;         // X_{t+1} (Y for the last step)
  const float* dOutput;  // backward: dL/dX_{t+1}
  float* dInput;         // backward: dL/dX_t
  float* dFactor;        // backward: dL/dA_mode
  const float* factor;
};

// A flat index space over a list of items: item p covers [prefix[p], prefix[p + 1]).
struct Schedule {
  const int64_t* prefix = nullptr;
  const int32_t* items = nullptr;
  int32_t count = 0;
  int64_t total = 0;
};

struct PlanView {
  int order;   // M
  int splits;  // K
  float scale;
  const BucketInfo* buckets;
  const GroupInfo* groups;
  const SplitJob* jobs;
  const StepInfo* steps;
  const int64_t* dims;
  const FastDivisor* divisors;  // the buckets' Kronecker tables (K > 1), at BucketInfo::kron
  const RegionInfo* regions;
  const int32_t* shuffleInverse;  // σ⁻¹, nullptr without a shuffle
  const float* signs;             // B of every L (the prefix read), at BucketInfo::signs
  const float* params;
  float* dParams;
  float* delta;         // ΔW_all
  const float* dDelta;  // dL/dΔW_all
  // Fastfood: per group, forward B ⊙ z zero-padded to L1 and its transform ũ (backward the folded
  // gradient and dz), and the L-point transform's w and y (backward dL/dy and its transform).
  float* projectionInput;
  float* projectionOutput;
};

// Bisection: the last i < count with start(i) ≤ value, for starts that never decrease and
// start(0) ≤ value (the run of a flat index space that holds value).
template <typename Start>
__device__ __forceinline__ int32_t LastStartAtMost(int32_t count, int64_t value, Start start) {
  int32_t low = 0;
  int32_t high = count - 1;
  while (low < high) {
    const int32_t middle = (low + high + 1) / 2;
    if (start(middle) <= value) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

// Finds the item whose range holds `index` (index < schedule.total).
__device__ __forceinline__ int32_t FindItem(const Schedule& schedule, int64_t index,
                                            int64_t* local) {
  const int32_t at =
      LastStartAtMost(schedule.count, index, [&](int32_t i) { return schedule.prefix[i]; });
  *local = index - schedule.prefix[at];
  return schedule.items[at];
}

// A_m of a rank split (its parameters).
__device__ __forceinline__ const float* Factor(const PlanView& view, const SplitJob& job, int m) {
  return view.params + view.dims[job.factorOffsets + m];
}

// Entry (row, c) of a rank split's T = A_0 · Y [d0 × cols], summed over the ranks in order.
__device__ __forceinline__ float LowRankEntry(const PlanView& view, const SplitJob& job,
                                              int64_t row, int64_t c) {
  const float* a = Factor(view, job, 0) + row * job.rank;
  float sum = 0.0f;
  for (int32_t j = 0; j < job.rank; ++j) sum = fmaf(a[j], job.y[j * job.cols + c], sum);
  return sum;
}

// Positions in ΔW_all (through σ⁻¹ under a shuffle) of a group's values e < used, visited in
// increasing order: each lies in the last of the group's regions whose prefix is ≤ e, the first
// found by bisection (a group spanning every target of a model has dozens of regions), the
// others by stepping on.
class RegionCursor {
 public:
  __device__ RegionCursor(const PlanView& view, const GroupInfo& group)
      : view_(view), regions_(view.regions + group.regionFirst), count_(group.regionCount) {}

  __device__ int64_t Position(int64_t e) {
    if (at_ < 0) {
      at_ = LastStartAtMost(count_, e, [&](int32_t i) { return regions_[i].prefix; });
    }
    while (e >= regions_[at_].prefix + regions_[at_].length) ++at_;
    const int64_t position = regions_[at_].start + (e - regions_[at_].prefix);
    return view_.shuffleInverse != nullptr ? view_.shuffleInverse[position] : position;
  }

 private:
  const PlanView& view_;
  const RegionInfo* regions_;
  int32_t count_;
  int32_t at_ = -1;
};

// dL/dT of a K = 1 split (e < lowRankValid), for values visited in increasing order: its
// lowRankSource, or, for a group without a projection, dL/dΔW_all read in place, scaled, and
// zero past the values the group writes; that spares the backward a copy of ΔW's gradient.
class SplitGradient {
 public:
  __device__ SplitGradient(const PlanView& view, const SplitJob& job)
      : view_(view),
        source_(job.lowRankSource),
        used_(view.groups[job.group].used),
        cursor_(view, view.groups[job.group]) {}

  __device__ float operator()(int64_t e) {
    if (source_ != nullptr) return source_[e];
    return view_.scale * (e < used_ ? view_.dDelta[cursor_.Position(e)] : 0.0f);
  }

 private:
  const PlanView& view_;
  const float* source_;
  int64_t used_;
  RegionCursor cursor_;
};

// The low-rank gradients (dA_0, dY of a rank split) sum this many ranks per work item, so that
// they read the upstream gradient once per chunk rather than once per rank.
constexpr int32_t kLowRankChunk = 16;

// Work items per row (dA_0) or column (dY) of a split of rank `rank`.
__host__ __device__ __forceinline__ int32_t LowRankChunks(int32_t rank) {
  return (rank + kLowRankChunk - 1) / kLowRankChunk;
}

// Consecutive values of a group's output per thread in the kernels that walk it (Generate, Emit,
// Upstream): the index arithmetic is done once per run, and a run that lands side by side in
// ΔW_all moves as one 16-byte access.
constexpr int kValuesPerThread = 4;
// The forward's alternative run (two 16-byte vectors per thread: half the per-run index work per
// value, at more registers); SUPERLORA_CUDA_VALUES_PER_THREAD=8 picks it when a plan is built.
constexpr int kWideRun = 8;

// Work items (runs of `run` values) over n values.
__host__ __device__ __forceinline__ int64_t RunsOver(int64_t values, int run = kValuesPerThread) {
  return (values + run - 1) / run;
}

// Launch shapes: blocks of 256 threads, grid-stride loops beyond kMaxBlocks.
constexpr unsigned kThreads = 256;
constexpr unsigned kWarpsPerBlock = kThreads / 32;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

inline unsigned BlocksFor(int64_t items, int64_t perBlock) {
  const int64_t blocks = (items + perBlock - 1) / perBlock;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// Grid-stride loop over a schedule's items, one thread each.
#define FOR_EACH_ITEM(schedule, index)                                              \
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; \
       index < (schedule).total; index += static_cast<int64_t>(gridDim.x) * blockDim.x)

// The same with one warp per item.
#define FOR_EACH_WARP_ITEM(schedule, index)                                                \
  for (int64_t index = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; \
       index < (schedule).total; index += static_cast<int64_t>(gridDim.x) * blockDim.x / 32)

// The sum of a warp's values, in lane 0 (a fixed order: bit-identical from call to call).
__device__ __forceinline__ double WarpSum(double value) {
  for (int offset = 16; offset > 0; offset /= 2) {
    value += __shfl_down_sync(0xffffffffu, value, offset);
  }
  return value;
}

// How a kernel covers its schedule: one thread per item, or one warp per item.
enum class PerItem { kThread, kWarp };

// One launch of `kernel(args...)` over `schedule`, then the launch check. An empty schedule
// launches nothing: a grid of 0 blocks is a launch error.
template <typename... Params, typename... Args>
void LaunchOver(void (*kernel)(Params...), const Schedule& schedule, PerItem per,
                cudaStream_t stream, const char* name, Args... args) {
  if (schedule.total == 0) return;
  const int64_t perBlock = per == PerItem::kThread ? kThreads : kWarpsPerBlock;
  SUPERLORA_LAUNCH(kernel, name, BlocksFor(schedule.total, perBlock), kThreads, 0, stream)(args...);
  Check(cudaGetLastError(), std::string(name) + " launch");
}

// split_kernels.cu
void LaunchIdentityY(const PlanView& view, const Schedule& jobs, cudaStream_t stream);
void LaunchDenseStep(const PlanView& view, const Schedule& jobs, int step, cudaStream_t stream);
void LaunchMaterialise(const PlanView& view, const Schedule& jobs, cudaStream_t stream);
void LaunchLowRankFactorGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream);
void LaunchLowRankYGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream);
void LaunchIdentityYGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream);
void LaunchDenseStepFactorGradient(const PlanView& view, const Schedule& jobs, int step,
                                   cudaStream_t stream);
void LaunchDenseStepInputGradient(const PlanView& view, const Schedule& jobs, int step,
                                  cudaStream_t stream);

// delta_kernels.cu
void LaunchGenerate(const PlanView& view, const Schedule& groups, int valuesPerThread,
                    cudaStream_t stream);
void LaunchEmit(const PlanView& view, const Schedule& groups, cudaStream_t stream);
void LaunchUpstream(const PlanView& view, const Schedule& groups, cudaStream_t stream);
void LaunchFinishProjectionGradient(const PlanView& view, const Schedule& groups,
                                    cudaStream_t stream);
void LaunchFullGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream);
void LaunchKronGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream);

}  // namespace superlora::cuda
