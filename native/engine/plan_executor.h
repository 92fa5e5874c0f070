// Runs a plan (SPEC §3–§8) forward and backward on caller-owned float arrays. It owns the plan's
// tables and all scratch: per-worker arenas sized once from the buckets, so a warm call allocates
// nothing. Not thread-safe: one call at a time (NativePlan serialises calls with a mutex).
//
// Scheduling: a group whose length is a large share of ΔW_all runs alone with its rows spread over
// the thread pool (G = 1 must keep every core busy); all other groups run whole, one per task,
// biggest first, across the pool.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "../parallel/thread_pool.h"
#include "aligned_buffer.h"
#include "fixed_tables.h"
#include "plan_spec.h"

namespace superlora::engine {

// Where one group's working buffers live inside an arena, in floats; −1 when not needed.
struct BucketLayout {
  std::vector<int64_t> y;       // per split: Y_k [r × cols] (rank splits)
  std::vector<int64_t> tensor;  // per split: T_k (rank splits, K > 1)
  int64_t contraction = -1;     // split_contraction scratch, shared by the splits in turn
  int64_t z = -1;               // z, then dz (projection)
  int64_t staging = -1;         // output / upstream gradient when it cannot be used in place
  int64_t fastfood = -1;        // fastfood kernel scratch
  int64_t split_gradient = -1;  // dY_k of a split's backward (K > 1)
  int64_t shared_floats = 0;
  // Per-worker accumulators of the backward, summed after a within-group pass:
  // K > 1: dT_k per split; K = 1 with a rank: accum[0] is dY.
  std::vector<int64_t> accum;
  int64_t accum_floats = 0;
};

// One worker's memory: the group buffers (when it runs whole groups) and its accumulators.
struct Arena {
  AlignedBuffer shared;
  AlignedBuffer accum;
  std::vector<const float*> tensors;  // T_k of the group being run, for KronOperands
  std::vector<float*> grads;          // its accumulators, for KronBackward
};

class PlanExecutor {
 public:
  // Builds tables and scratch. Throws std::bad_alloc when memory is short.
  explicit PlanExecutor(PlanSpec spec);

  // out (N values) = ΔW_all for params (numParams values).
  void Forward(const float* params, float* out);
  // d_params (numParams values, every entry overwritten) = dL/dparams for d_out = dL/dΔW_all.
  void Backward(const float* params, const float* d_out, float* d_params);

  const PlanSpec& Spec() const { return spec_; }
  const PlanTables& Tables() const { return tables_; }
  size_t ScratchBytes() const;
  size_t WholeGroupCount() const { return whole_groups_.size(); }
  size_t SplitGroupCount() const { return split_groups_.size(); }
  size_t WorkerCount();

 private:
  // plan_forward.cc
  void PrepareSplits(const BucketSpec& bucket, const BucketLayout& layout, const float* params,
                     int64_t slot, Arena& arena) const;
  void ForwardRange(const BucketSpec& bucket, const BucketLayout& layout, const Arena& arena,
                    const float* params, int64_t slot, float scale, int64_t begin, int64_t end,
                    float* out) const;
  void ForwardWholeGroup(int32_t group, const float* params, float* base, Arena& arena) const;
  void ForwardSplitGroup(int32_t group, const float* params, float* base);

  // plan_backward.cc
  const float* Upstream(const GroupSpec& group, const BucketSpec& bucket,
                        const BucketLayout& layout, const float* base, float* shared, float* scale,
                        int64_t* length) const;
  void BackwardRange(const BucketSpec& bucket, const BucketLayout& layout, const Arena& shared,
                     Arena& worker, const float* params, int64_t slot, const float* d_values,
                     float scale, int64_t begin, int64_t end, float* d_params) const;
  void FinishBackward(const BucketSpec& bucket, const BucketLayout& layout, Arena& shared,
                      const float* accum, const float* params, int64_t slot, int64_t length,
                      float* d_params) const;
  void BackwardWholeGroup(int32_t group, const float* params, const float* base, float* d_params,
                          Arena& arena) const;
  void BackwardSplitGroup(int32_t group, const float* params, const float* base, float* d_params);

  // Runs body(begin, end, worker) over [0, length) of a group's folded values, in ranges that
  // start on a row of Y's product when the bucket streams one (LowRank kernels need that), handed
  // out dynamically: for the forward, which sums nothing across ranges.
  template <typename Body>
  void ForRanges(const BucketSpec& bucket, int64_t length, const Body& body) const;

  // The arena of pool worker `worker` (or of backward range `worker`), created on first use: the
  // pool can grow after the plan was built (setThreads).
  Arena& WorkerArena(int worker);
  std::unique_ptr<Arena> NewArena(int64_t shared_floats, int64_t accum_floats) const;

  PlanSpec spec_;
  PlanTables tables_;
  std::vector<BucketLayout> layouts_;
  std::vector<int32_t> whole_groups_;  // run one per task, biggest first
  std::vector<int32_t> split_groups_;  // run alone, spread over the pool
  int64_t worker_shared_floats_ = 0;
  int64_t worker_accum_floats_ = 0;
  std::unique_ptr<Arena> split_arena_;  // group buffers of the split groups
  std::mutex arenas_mutex_;
  std::vector<std::unique_ptr<Arena>> worker_arenas_;
  AlignedBuffer shuffled_;  // v (forward) or dv (backward) when the plan shuffles
};

// Values per task of a within-group pass: large enough that scheduling is noise, small enough
// that a few tasks per thread balance the load.
constexpr int64_t kRangeGrain = 1 << 14;

template <typename Body>
void PlanExecutor::ForRanges(const BucketSpec& bucket, int64_t length, const Body& body) const {
  const SplitSpec& first = bucket.splits[0];
  if (bucket.splits.size() == 1 && first.rank > 0) {
    const int64_t cols = first.cols;
    const int64_t rows = (length + cols - 1) / cols;
    parallel::ParallelFor(0, rows, std::max<int64_t>(1, kRangeGrain / cols),
                          [&](int64_t row_begin, int64_t row_end, int worker) {
                            body(row_begin * cols, std::min(length, row_end * cols), worker);
                          });
    return;
  }
  parallel::ParallelFor(0, length, kRangeGrain, body);
}

}  // namespace superlora::engine
