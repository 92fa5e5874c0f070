// ΔW_all from the splits (SPEC §4, §6, §8) and the glue of the fastfood projection (§7), for every
// group of a plan in one launch per kernel: the Kronecker product (or the rank-r product when
// K = 1) is evaluated per output value and written once, straight to its place in ΔW_all (its
// region, through σ⁻¹ under a shuffle) or, under a projection, as B ⊙ z into the group's segment
// of the input transform, zero-padded to L1 ≥ m_g (fwht.cuh: FwhtGather). The backward
// gathers each group's upstream gradient the same way and reduces dL/dT_k with one warp per entry.
// The kernels that walk a group's output take a run of consecutive values per thread
// (kValuesPerThread; the forward's GenerateKernel kWideRun when the plan is built with
// SUPERLORA_CUDA_VALUES_PER_THREAD=8).
#include "check.cuh"
#include "plan_kernels.cuh"

namespace superlora::cuda {
namespace {

// The values v < count of a run of R, unrolled so that a run's arrays stay in registers.
#define FOR_EACH_VALUE(v, R, count) _Pragma("unroll") for (int v = 0; v < (R); ++v) if (v < (count))

// Values in the run of R of a walk over `length` values that starts at `first`.
template <int R>
__device__ __forceinline__ int RunLength(int64_t length, int64_t first) {
  const int64_t left = length - first;
  return left <= 0 ? 0 : left >= R ? R : static_cast<int>(left);
}

// Where the values of a run land in ΔW_all.
template <int R>
struct Placement {
  int64_t position[R];
  bool contiguous;  // a whole run side by side, the first 16-byte aligned
};

template <int R>
__device__ __forceinline__ Placement<R> Place(const PlanView& view, const GroupInfo& group,
                                              int64_t first, int count) {
  RegionCursor cursor(view, group);
  Placement<R> placement;
  FOR_EACH_VALUE(v, R, count) placement.position[v] = cursor.Position(first + v);
  placement.contiguous = count == R && view.shuffleInverse == nullptr &&
                         placement.position[R - 1] == placement.position[0] + R - 1 &&
                         placement.position[0] % 4 == 0;
  return placement;
}

// values[0 … count) to to[0 … count); a whole run as 16-byte stores (`to` is aligned then).
template <int R>
__device__ __forceinline__ void StoreRun(float* to, const float (&values)[R], int count) {
  static_assert(R % 4 == 0, "runs are whole 16-byte vectors");
  if (count == R) {
#pragma unroll
    for (int q = 0; q < R; q += 4) {
      StoreFloat4(to + q, {values[q], values[q + 1], values[q + 2], values[q + 3]});
    }
    return;
  }
  FOR_EACH_VALUE(v, R, count) to[v] = values[v];
}

// values[0 … count) from from[0 … count); a whole run as 16-byte loads (`from` is aligned then).
template <int R>
__device__ __forceinline__ void LoadRun(const float* from, int count, float (&values)[R]) {
  if (count == R) {
#pragma unroll
    for (int q = 0; q < R; q += 4) {
      const float4 packed = LoadFloat4(from + q);
      values[q] = packed.x;
      values[q + 1] = packed.y;
      values[q + 2] = packed.z;
      values[q + 3] = packed.w;
    }
    return;
  }
  FOR_EACH_VALUE(v, R, count) values[v] = from[v];
}

// values[0 … count) to the group's values first … first + count − 1 in ΔW_all.
template <int R>
__device__ __forceinline__ void ScatterRun(const PlanView& view, const GroupInfo& group,
                                           int64_t first, int count, const float (&values)[R]) {
  const Placement<R> placement = Place<R>(view, group, first, count);
  if (placement.contiguous) {
    StoreRun(view.delta + placement.position[0], values, count);
    return;
  }
  FOR_EACH_VALUE(v, R, count) view.delta[placement.position[v]] = values[v];
}

// The bucket's Kronecker tables: at k · M + m the digit sizes d_{k,m}, their inner strides within
// mode m (Π_{k'>k} d_{k',m}), the spans D_m / d_{k,m} and the split-local strides
// Π_{m'>m} d_{k,m'}; at m the mode sizes D_m and strides Π_{m'>m} D_m'. Every index they split
// is one of a group's values, below 2^31 (the plan checks).
struct KronTables {
  const FastDivisor* splitDims;
  const FastDivisor* inner;
  const FastDivisor* spans;
  const FastDivisor* localStrides;
  const FastDivisor* modeSizes;
  const FastDivisor* modeStrides;
};

__device__ __forceinline__ KronTables TablesOf(const PlanView& view, const BucketInfo& bucket) {
  const int64_t km = static_cast<int64_t>(view.splits) * view.order;
  const FastDivisor* base = view.divisors + bucket.kron;
  return {base, base + km, base + 2 * km, base + 3 * km, base + 4 * km, base + 4 * km + view.order};
}

// Flat index into T_k of value e of the folded tensor.
__device__ __forceinline__ uint32_t SplitIndex(const PlanView& view, const KronTables& tables,
                                               int k, uint32_t e) {
  uint32_t index = 0;
  for (int m = 0; m < view.order; ++m) {
    const int at = k * view.order + m;
    const uint32_t mode = Digit(e, tables.modeStrides[m], tables.modeSizes[m]);
    index += Digit(mode, tables.inner[at], tables.splitDims[at]) * tables.localStrides[at].divisor;
  }
  return index;
}

// Values first … first + count − 1 of a rank split's T = A_0 · Y (K = 1); each summed over the
// ranks in order. A whole run in one row of T reads Y four columns at a time.
template <int R>
__device__ __forceinline__ void LowRankValues(const PlanView& view, const SplitJob& job,
                                              int64_t first, int count, float (&values)[R]) {
  int64_t row = first / job.cols;
  int64_t c = first % job.cols;
  if (count == R && job.cols % R == 0 && reinterpret_cast<uintptr_t>(job.y + c) % 16 == 0) {
    const float* a = Factor(view, job, 0) + row * job.rank;
#pragma unroll
    for (int v = 0; v < R; ++v) values[v] = 0.0f;
    for (int32_t j = 0; j < job.rank; ++j) {
      const float aj = a[j];
#pragma unroll
      for (int q = 0; q < R; q += 4) {
        const float4 y = LoadFloat4(job.y + j * job.cols + c + q);
        values[q] = fmaf(aj, y.x, values[q]);
        values[q + 1] = fmaf(aj, y.y, values[q + 1]);
        values[q + 2] = fmaf(aj, y.z, values[q + 2]);
        values[q + 3] = fmaf(aj, y.w, values[q + 3]);
      }
    }
    return;
  }
  FOR_EACH_VALUE(v, R, count) {
    values[v] = LowRankEntry(view, job, row, c);
    if (++c == job.cols) {
      c = 0;
      ++row;
    }
  }
}

// Values first … first + count − 1 of the group's folded tensor T_g (unscaled).
template <int R>
__device__ __forceinline__ void FoldedValues(const PlanView& view, const GroupInfo& group,
                                             const BucketInfo& bucket, int64_t first, int count,
                                             float (&values)[R]) {
  if (view.splits == 1) {
    const SplitJob& job = view.jobs[group.jobFirst];
    if (job.rank > 0) {
      LowRankValues(view, job, first, count, values);
    } else {
      FOR_EACH_VALUE(v, R, count) values[v] = job.full[first + v];
    }
    return;
  }
  const KronTables tables = TablesOf(view, bucket);
#pragma unroll
  for (int v = 0; v < R; ++v) values[v] = 1.0f;
  for (int k = 0; k < view.splits; ++k) {
    const float* tensor = view.jobs[group.jobFirst + k].tensor;
    FOR_EACH_VALUE(v, R, count) {
      values[v] *= tensor[SplitIndex(view, tables, k, static_cast<uint32_t>(first + v))];
    }
  }
}

// Runs of R values (kValuesPerThread, or kWideRun when the plan asks).
template <int R>
__global__ void GenerateKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t run;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &run)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    const int64_t first = run * R;
    float values[R];
    if (bucket.projectionSize > 0) {
      const int count = RunLength<R>(bucket.inputSize, first);
      const int generated = RunLength<R>(bucket.generatedLength, first);
      FoldedValues(view, group, bucket, first, generated, values);
      FOR_EACH_VALUE(v, R, count) {
        values[v] = v < generated ? view.signs[bucket.signs + first + v] * values[v] : 0.0f;
      }
      StoreRun(view.projectionInput + group.projectionInput + first, values, count);
    } else {
      const int count = RunLength<R>(group.used, first);
      FoldedValues(view, group, bucket, first, count, values);
      FOR_EACH_VALUE(v, R, count) values[v] = view.scale * values[v];
      ScatterRun(view, group, first, count, values);
    }
  }
}

__global__ void EmitKernel(PlanView view, Schedule schedule) {
  constexpr int R = kValuesPerThread;
  FOR_EACH_ITEM(schedule, index) {
    int64_t run;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &run)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    const int64_t first = run * R;
    const int count = RunLength<R>(group.used, first);
    float values[R];
    LoadRun(view.projectionOutput + group.projectionOutput + first, count, values);
    FOR_EACH_VALUE(v, R, count) values[v] = bucket.factor * values[v];
    ScatterRun(view, group, first, count, values);
  }
}

__global__ void UpstreamKernel(PlanView view, Schedule schedule) {
  constexpr int R = kValuesPerThread;
  FOR_EACH_ITEM(schedule, index) {
    int64_t run;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &run)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    const int64_t first = run * R;
    const bool projected = bucket.projectionSize > 0;
    const int count = RunLength<R>(projected ? bucket.projectionSize : bucket.virtualLength, first);
    const int used = RunLength<R>(group.used, first);
    float values[R];
    const Placement<R> placement = Place<R>(view, group, first, used);
    if (placement.contiguous) {
      LoadRun(view.dDelta + placement.position[0], used, values);
    } else {
      FOR_EACH_VALUE(v, R, count) {
        values[v] = v < used ? view.dDelta[placement.position[v]] : 0.0f;
      }
    }
    if (projected) {
      StoreRun(view.projectionOutput + group.projectionOutput + first, values, count);
    } else {
      FOR_EACH_VALUE(v, R, count) values[v] = view.scale * values[v];
      StoreRun(group.upstream + first, values, count);
    }
  }
}

__global__ void FinishProjectionGradientKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t e;
    const GroupInfo& group = view.groups[FindItem(schedule, index, &e)];
    const BucketInfo& bucket = view.buckets[group.bucket];
    group.upstream[e] *= bucket.factor * view.signs[bucket.signs + e];
  }
}

__global__ void FullGradientKernel(PlanView view, Schedule schedule) {
  FOR_EACH_ITEM(schedule, index) {
    int64_t e;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &e)];
    job.dFull[e] = e < job.lowRankValid ? SplitGradient(view, job)(e) : 0.0f;
  }
}

// dL/dT_g[e] for the Kronecker backward: the group's upstream copy, or, for a group that lands as
// one run of ΔW_all, scale · dL/dΔW_all read in place (zero past the values it writes), the same
// float product UpstreamKernel would have stored.
__device__ __forceinline__ float KronUpstream(const PlanView& view, const GroupInfo& group,
                                              uint32_t e) {
  if (group.upstream != nullptr) return group.upstream[e];
  return e < group.used ? view.scale * view.dDelta[group.run + e] : 0.0f;
}

// dT_k[idx] = Σ_{e : idx_k(e) = idx, e < m_g} g[e] · Π_{k' ≠ k} T_k'[idx_k'(e)].
__global__ void KronGradientKernel(PlanView view, Schedule schedule) {
  const int lane = threadIdx.x % 32;
  FOR_EACH_WARP_ITEM(schedule, index) {
    int64_t local;
    const SplitJob& job = view.jobs[FindItem(schedule, index, &local)];
    const uint32_t idx = static_cast<uint32_t>(local);
    const GroupInfo& group = view.groups[job.group];
    const BucketInfo& bucket = view.buckets[group.bucket];
    const KronTables tables = TablesOf(view, bucket);
    const int k = static_cast<int>(job.kronIndex);
    uint32_t others = 1;
    for (int m = 0; m < view.order; ++m) others *= tables.spans[k * view.order + m].divisor;
    double sum = 0;
    for (uint32_t q = lane; q < others; q += 32) {
      // Compose e from the fixed digits of split k and the other digits q (row-major over modes).
      uint32_t rest = q;
      uint32_t e = 0;
      for (int m = view.order - 1; m >= 0; --m) {
        const int at = k * view.order + m;
        const FastDivisor& dim = tables.splitDims[at];
        const FastDivisor& inner = tables.inner[at];
        const FastDivisor& span = tables.spans[at];
        const uint32_t higher = Quotient(rest, span);
        const uint32_t other = rest - higher * span.divisor;
        rest = higher;
        const uint32_t digit = Digit(idx, tables.localStrides[at], dim);
        const uint32_t outer = Quotient(other, inner);
        const uint32_t mode =
            (outer * dim.divisor + digit) * inner.divisor + (other - outer * inner.divisor);
        e += mode * tables.modeStrides[m].divisor;
      }
      if (e >= bucket.generatedLength) continue;
      float product = KronUpstream(view, group, e);
      for (int peer = 0; peer < view.splits; ++peer) {
        if (peer == k) continue;
        product *= view.jobs[group.jobFirst + peer].tensor[SplitIndex(view, tables, peer, e)];
      }
      sum += product;
    }
    sum = WarpSum(sum);
    if (lane == 0) job.dTensor[idx] = static_cast<float>(sum);
  }
}

}  // namespace

void LaunchGenerate(const PlanView& view, const Schedule& groups, int valuesPerThread,
                    cudaStream_t stream) {
  if (valuesPerThread == kWideRun) {
    LaunchOver(GenerateKernel<kWideRun>, groups, PerItem::kThread, stream, "GenerateKernel", view,
               groups);
  } else {
    LaunchOver(GenerateKernel<kValuesPerThread>, groups, PerItem::kThread, stream, "GenerateKernel",
               view, groups);
  }
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
