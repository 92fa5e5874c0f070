// ΔW_all from the splits (SPEC §4, §6, §8) and the glue of the fastfood projection (§7), for every
// group of a plan in one launch per kernel: the Kronecker product (or the rank-r product when
// K = 1) is evaluated per output value and written once, straight to its place in ΔW_all (its
// region, through σ⁻¹ under a shuffle) or, under a projection, as B ⊙ z into the group's
// zero-padded segment of the first transform. The backward gathers each group's upstream
// gradient the same way and reduces dL/dT_k with one warp per entry.
#include "check.cuh"
#include "plan_kernels.cuh"

namespace superlora::cuda {
namespace {

// Where value e (< the values the group writes) of a group's output lands in ΔW_all: in the last
// of its regions whose prefix is ≤ e, found by bisection (a group spanning every target of a
// model has dozens of regions).
__device__ __forceinline__ int64_t Destination(const PlanView& view, const GroupInfo& group,
                                               int64_t e) {
  const RegionInfo* regions = view.regions + group.regionFirst;
  const RegionInfo& region =
      regions[LastStartAtMost(group.regionCount, e, [&](int32_t i) { return regions[i].prefix; })];
  const int64_t position = region.start + (e - region.prefix);
  return view.shuffleInverse != nullptr ? view.shuffleInverse[position] : position;
}

// The bucket's Kronecker tables (BucketInfo::kron).
struct KronTables {
  const int64_t* splitDims;    // d_{k,m} at k · M + m
  const int64_t* inner;        // Π_{k' > k} d_{k',m} at k · M + m
  const int64_t* modeSizes;    // D_m
  const int64_t* modeStrides;  // Π_{m' > m} D_m'
};

__device__ __forceinline__ KronTables TablesOf(const PlanView& view, const BucketInfo& bucket) {
  const int64_t km = static_cast<int64_t>(view.splits) * view.order;
  const int64_t* base = view.dims + bucket.kron;
  return {base, base + km, base + 2 * km, base + 2 * km + view.order};
}

// Flat index into T_k of value e of the folded tensor.
__device__ __forceinline__ int64_t SplitIndex(const PlanView& view, const KronTables& tables,
                                              const SplitJob& job, int k, int64_t e) {
  int64_t index = 0;
  for (int m = 0; m < view.order; ++m) {
    const int64_t mode = (e / tables.modeStrides[m]) % tables.modeSizes[m];
    const int64_t at = static_cast<int64_t>(k) * view.order + m;
    const int64_t digit = (mode / tables.inner[at]) % tables.splitDims[at];
    index += digit * view.dims[job.dims + view.order + m];
  }
  return index;
}

// Value e of the group's folded tensor T_g (unscaled).
__device__ __forceinline__ float FoldedValue(const PlanView& view, const GroupInfo& group,
                                             const BucketInfo& bucket, int64_t e) {
  if (view.splits == 1) {
    const SplitJob& job = view.jobs[group.jobFirst];
    if (job.rank == 0) return job.full[e];
    const int64_t i0 = e / job.cols;
    const int64_t c = e % job.cols;
    const float* a = view.params + view.dims[job.factorOffsets] + i0 * job.rank;
    float sum = 0.0f;
    for (int32_t j = 0; j < job.rank; ++j) sum = fmaf(a[j], job.y[j * job.cols + c], sum);
    return sum;
  }
  const KronTables tables = TablesOf(view, bucket);
  float product = 1.0f;
  for (int k = 0; k < view.splits; ++k) {
    const SplitJob& job = view.jobs[group.jobFirst + k];
    product *= job.tensor[SplitIndex(view, tables, job, k, e)];
  }
  return product;
}

__global__ void GenerateKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t e;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &e)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    if (bucket.projectionSize > 0) {
      float* x = view.projectionA + group.projection;
      x[e] = e < bucket.generatedLength
                 ? view.signs[bucket.table + e] * FoldedValue(view, group, bucket, e)
                 : 0.0f;
    } else {
      view.delta[Destination(view, group, e)] = view.scale * FoldedValue(view, group, bucket, e);
    }
  }
}

__global__ void EmitKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t e;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &e)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    view.delta[Destination(view, group, e)] =
        bucket.factor * view.projectionB[group.projection + e];
  }
}

__global__ void UpstreamKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t e;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &e)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    const float value = e < group.used ? view.dDelta[Destination(view, group, e)] : 0.0f;
    if (bucket.projectionSize > 0) {
      view.projectionA[group.projection + e] = value;
    } else {
      group.upstream[e] = view.scale * value;
    }
  }
}

__global__ void FinishProjectionGradientKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t e;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &e)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    group.upstream[e] *= bucket.factor * view.signs[bucket.table + e];
  }
}

__global__ void FullGradientKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t e;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &e)];
    job.dFull[e] = e < job.lowRankValid ? job.lowRankSource[e] : 0.0f;
  }
}

// dT_k[idx] = Σ_{e : idx_k(e) = idx, e < m_g} g[e] · Π_{k' ≠ k} T_k'[idx_k'(e)].
__global__ void KronGradientKernel(PlanView view, Schedule schedule) {
  const int lane = threadIdx.x % 32;
  FOR_EACH_WARP_ITEM(schedule, index) {
    int64_t idx;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &idx)];
    const GroupInfo& group = view.groups[job.group];
    const BucketInfo& bucket = view.buckets[group.bucket];
    const KronTables tables = TablesOf(view, bucket);
    const int k = static_cast<int>(job.kronIndex);
    int64_t others = 1;
    for (int m = 0; m < view.order; ++m)
      others *= tables.modeSizes[m] / tables.splitDims[k * view.order + m];
    double sum = 0;
    for (int64_t q = lane; q < others; q += 32) {
      // Compose e from the fixed digits of split k and the other digits q (row-major over modes).
      int64_t rest = q;
      int64_t e = 0;
      for (int m = view.order - 1; m >= 0; --m) {
        const int64_t at = static_cast<int64_t>(k) * view.order + m;
        const int64_t dim = tables.splitDims[at];
        const int64_t inner = tables.inner[at];
        const int64_t span = tables.modeSizes[m] / dim;
        const int64_t other = rest % span;
        rest /= span;
        const int64_t digit = (idx / view.dims[job.dims + view.order + m]) % dim;
        const int64_t mode = (other / inner) * dim * inner + digit * inner + other % inner;
        e += mode * tables.modeStrides[m];
      }
      if (e >= bucket.generatedLength) continue;
      float product = group.upstream[e];
      for (int other = 0; other < view.splits; ++other) {
        if (other == k) continue;
        const SplitJob& peer = view.jobs[group.jobFirst + other];
        product *= peer.tensor[SplitIndex(view, tables, peer, other, e)];
      }
      sum += product;
    }
    sum = WarpSum(sum);
    if (lane == 0) job.dTensor[idx] = static_cast<float>(sum);
  }
}

}  // namespace

void LaunchGenerate(const PlanView& view, const Schedule& groups, cudaStream_t stream) {
  LaunchOver(GenerateKernel, groups, PerItem::kThread, stream, "GenerateKernel", view, groups);
}

void LaunchEmit(const PlanView& view, const Schedule& groups, cudaStream_t stream) {
  LaunchOver(EmitKernel, groups, PerItem::kThread, stream, "EmitKernel", view, groups);
}

void LaunchUpstream(const PlanView& view, const Schedule& groups, cudaStream_t stream) {
  LaunchOver(UpstreamKernel, groups, PerItem::kThread, stream, "UpstreamKernel", view, groups);
}

void LaunchFinishProjectionGradient(const PlanView& view, const Schedule& groups,
                                    cudaStream_t stream) {
  LaunchOver(FinishProjectionGradientKernel, groups, PerItem::kThread, stream,
             "FinishProjectionGradientKernel", view, groups);
}

void LaunchFullGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream) {
  LaunchOver(FullGradientKernel, jobs, PerItem::kThread, stream, "FullGradientKernel", view, jobs);
}

void LaunchKronGradient(const PlanView& view, const Schedule& jobs, cudaStream_t stream) {
  LaunchOver(KronGradientKernel, jobs, PerItem::kWarp, stream, "KronGradientKernel", view, jobs);
}

}  // namespace superlora::cuda
