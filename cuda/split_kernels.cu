// The splits' small tensors (SPEC §5) and their backward, for every (group, split) job of a plan
// in one launch per kernel: Y_k = C ×_1 A_1 ⋯ ×_{M−1} A_{M−1} seen as [r × cols] (the identity
// core's Khatri–Rao columns, or the dense core's mode products one step per launch), T_k = A_0·Y_k
// when K > 1, and the reductions of the backward, each output summed in a fixed order by one warp
// or thread (double accumulators: the sums run over up to D/D_0 terms).
#include "check.cuh"
#include "plan_kernels.cuh"

namespace superlora::cuda {
namespace {

__device__ __forceinline__ float* FactorGradient(const PlanView& view, const SplitJob& job, int m) {
  return view.dParams + view.dims[job.factorOffsets + m];
}

// Index of mode m (≥ 1) of column c of Y: the modes 1 … M−1 of the split, row-major.
__device__ __forceinline__ int64_t ModeIndex(const PlanView& view, const SplitJob& job, int m,
                                             int64_t c) {
  const int64_t dim = view.dims[job.dims + m];
  const int64_t stride = view.dims[job.dims + view.order + m];
  return (c / stride) % dim;
}

__global__ void IdentityYKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    const int64_t j = local / job.cols;
    const int64_t c = local % job.cols;
    float product = 1.0f;  // M = 1: C[j] = 1, Y is a column of ones
    for (int m = 1; m < view.order; ++m) {
      product *= Factor(view, job, m)[ModeIndex(view, job, m, c) * job.rank + j];
    }
    job.yOut[local] = product;
  }
}

__global__ void DenseStepKernel(PlanView view, Schedule schedule, int t) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    const StepInfo& step = view.steps[job.step + t];
    const int64_t c = local % step.inner;
    const int64_t row = local / step.inner;  // o · dim + i
    const int64_t i = row % step.dim;
    const int64_t o = row / step.dim;
    const float* a = step.factor + i * job.rank;
    const float* x = step.input + o * job.rank * step.inner + c;
    float sum = 0.0f;
    for (int32_t j = 0; j < job.rank; ++j) sum = fmaf(a[j], x[j * step.inner], sum);
    step.output[local] = sum;
  }
}

__global__ void MaterialiseKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    job.tensorOut[local] = LowRankEntry(view, job, local / job.cols, local % job.cols);
  }
}

// dA_0 = src · Yᵀ and dY = A_0ᵀ · src read src (the upstream gradient of T_k, d0 × cols) once
// per chunk of kLowRankChunk ranks rather than once per rank: each work item accumulates a
// chunk's sums together. Every output is summed in the same order as one item per output would.

// dA_0[i0, j] = Σ_c src[i0 · cols + c] · Y[j, c] (src is zero past lowRankValid); one warp per
// (i0, chunk of j), lane l summing the columns c ≡ l (mod 32).
__global__ void LowRankFactorGradientKernel(PlanView view, Schedule schedule) {
  const int lane = threadIdx.x % 32;
  FOR_EACH_WARP_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    const int32_t chunks = LowRankChunks(job.rank);
    const int64_t i0 = local / chunks;
    const int32_t first = static_cast<int32_t>(local % chunks) * kLowRankChunk;
    const int32_t count = min(kLowRankChunk, job.rank - first);
    const int64_t rowStart = i0 * job.cols;
    const int64_t end = min(job.cols, job.lowRankValid - rowStart);
    SplitGradient src(view, job);
    const float* y = job.y + first * job.cols;
    double sums[kLowRankChunk];
#pragma unroll
    for (int32_t j = 0; j < kLowRankChunk; ++j) sums[j] = 0;
    for (int64_t c = lane; c < end; c += 32) {
      const double g = src(rowStart + c);
#pragma unroll
      for (int32_t j = 0; j < kLowRankChunk; ++j) {
        if (j < count) sums[j] += g * y[j * job.cols + c];
      }
    }
    float* dA = FactorGradient(view, job, 0) + i0 * job.rank + first;
#pragma unroll
    for (int32_t j = 0; j < kLowRankChunk; ++j) {
      if (j >= count) break;  // the same for every lane of the warp
      const double sum = WarpSum(sums[j]);
      if (lane == 0) dA[j] = static_cast<float>(sum);
    }
  }
}

// dY[j, c] = Σ_{i0} A_0[i0, j] · src[i0 · cols + c]; one thread per (chunk of j, c).
__global__ void LowRankYGradientKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    const int64_t chunk = local / job.cols;
    const int64_t c = local % job.cols;
    const int32_t first = static_cast<int32_t>(chunk) * kLowRankChunk;
    const int32_t count = min(kLowRankChunk, job.rank - first);
    const float* a = Factor(view, job, 0) + first;
    double sums[kLowRankChunk];
#pragma unroll
    for (int32_t j = 0; j < kLowRankChunk; ++j) sums[j] = 0;
    SplitGradient src(view, job);
    for (int64_t i0 = 0, e = c; i0 < job.d0 && e < job.lowRankValid; ++i0, e += job.cols) {
      const double g = src(e);
      const float* row = a + i0 * job.rank;
#pragma unroll
      for (int32_t j = 0; j < kLowRankChunk; ++j) {
        if (j < count) sums[j] += static_cast<double>(row[j]) * g;
      }
    }
#pragma unroll
    for (int32_t j = 0; j < kLowRankChunk; ++j) {
      if (j < count) job.dY[(first + j) * job.cols + c] = static_cast<float>(sums[j]);
    }
  }
}

// Identity core, m ≥ 1: dA_m[i, j] = Σ_{c : i_m(c) = i} dY[j, c] · Π_{m' ≥ 1, m' ≠ m} A_m'[i_m'(c),
// j].
__global__ void IdentityYGradientKernel(PlanView view, Schedule schedule) {
  const int lane = threadIdx.x % 32;
  FOR_EACH_WARP_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    int m = 1;
    for (; m < view.order; ++m) {
      const int64_t entries = view.dims[job.dims + m] * job.rank;
      if (local < entries) break;
      local -= entries;
    }
    const int64_t dim = view.dims[job.dims + m];
    const int64_t stride = view.dims[job.dims + view.order + m];
    const int64_t i = local / job.rank;
    const int64_t j = local % job.rank;
    const int64_t others = job.cols / dim;
    const float* dY = job.dY + j * job.cols;
    double sum = 0;
    for (int64_t q = lane; q < others; q += 32) {
      const int64_t c = (q / stride) * dim * stride + i * stride + q % stride;
      float product = dY[c];
      for (int other = 1; other < view.order; ++other) {
        if (other == m) continue;
        product *= Factor(view, job, other)[ModeIndex(view, job, other, c) * job.rank + j];
      }
      sum += product;
    }
    sum = WarpSum(sum);
    if (lane == 0) FactorGradient(view, job, m)[local] = static_cast<float>(sum);
  }
}

// dA_mode[i, j] = Σ_{o, c} dX_{t+1}[o, i, c] · X_t[o, j, c].
__global__ void DenseStepFactorGradientKernel(PlanView view, Schedule schedule, int t) {
  const int lane = threadIdx.x % 32;
  FOR_EACH_WARP_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    const StepInfo& step = view.steps[job.step + t];
    const int64_t i = local / job.rank;
    const int64_t j = local % job.rank;
    const int64_t terms = step.outer * step.inner;
    double sum = 0;
    for (int64_t q = lane; q < terms; q += 32) {
      const int64_t o = q / step.inner;
      const int64_t c = q % step.inner;
      sum += static_cast<double>(step.dOutput[(o * step.dim + i) * step.inner + c]) *
             step.input[(o * job.rank + j) * step.inner + c];
    }
    sum = WarpSum(sum);
    if (lane == 0) step.dFactor[local] = static_cast<float>(sum);
  }
}

// dX_t[o, j, c] = Σ_i A_mode[i, j] · dX_{t+1}[o, i, c].
__global__ void DenseStepInputGradientKernel(PlanView view, Schedule schedule, int t) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    const StepInfo& step = view.steps[job.step + t];
    const int64_t c = local % step.inner;
    const int64_t row = local / step.inner;  // o · r + j
    const int64_t j = row % job.rank;
    const int64_t o = row / job.rank;
    const float* d = step.dOutput + o * step.dim * step.inner + c;
    double sum = 0;
    for (int64_t i = 0; i < step.dim; ++i) {
      sum += static_cast<double>(step.factor[i * job.rank + j]) * d[i * step.inner];
    }
    step.dInput[local] = static_cast<float>(sum);
  }
}

}  // namespace

void LaunchIdentityY(const PlanView& view, const Schedule& jobs, cudaStream_t stream) {
  LaunchOver(IdentityYKernel, jobs, PerItem::kThread, stream, "IdentityYKernel", view, jobs);
}

void LaunchDenseStep(const PlanView& view, const Schedule& jobs, int step, cudaStream_t stream) {
  LaunchOver(DenseStepKernel, jobs, PerItem::kThread, stream, "DenseStepKernel", view, jobs, step);
}

void LaunchMaterialise(const PlanView& view, const Schedule& jobs, cudaStream_t stream) {
  LaunchOver(MaterialiseKernel, jobs, PerItem::kThread, stream, "MaterialiseKernel", view, jobs);
}

void LaunchLowRankFactorGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream) {
  LaunchOver(LowRankFactorGradientKernel, jobs, PerItem::kWarp, stream,
             "LowRankFactorGradientKernel", view, jobs);
}

void LaunchLowRankYGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream) {
  LaunchOver(LowRankYGradientKernel, jobs, PerItem::kThread, stream, "LowRankYGradientKernel", view,
             jobs);
}

void LaunchIdentityYGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream) {
  LaunchOver(IdentityYGradientKernel, jobs, PerItem::kWarp, stream, "IdentityYGradientKernel", view,
             jobs);
}

void LaunchDenseStepFactorGradient(const PlanView& view, const Schedule& jobs, int step,
                                   cudaStream_t stream) {
  LaunchOver(DenseStepFactorGradientKernel, jobs, PerItem::kWarp, stream,
             "DenseStepFactorGradientKernel", view, jobs, step);
}

void LaunchDenseStepInputGradient(const PlanView& view, const Schedule& jobs, int step,
                                  cudaStream_t stream) {
  LaunchOver(DenseStepInputGradientKernel, jobs, PerItem::kThread, stream,
             "DenseStepInputGradientKernel", view, jobs, step);
}

}  // namespace superlora::cuda
