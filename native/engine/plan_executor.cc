#include "plan_executor.h"

#include <algorithm>
#include <utility>

#include "../kernels/fastfood.h"
#include "scatter.h"

namespace superlora::engine {
namespace {

// A group runs alone, spread over the pool, when it is at least this long and at least a quarter
// of one thread's share of ΔW_all: then the whole-group tasks could not balance the load.
constexpr int64_t kMinSplitGroup = 1 << 16;

// Carves aligned sub-buffers out of an arena, front to back.
class Carver {
 public:
  int64_t Take(int64_t floats) {
    const int64_t offset = next_;
    next_ += AlignFloats(std::max<int64_t>(floats, 1));
    return offset;
  }
  int64_t Total() const { return next_; }

 private:
  int64_t next_ = 0;
};

BucketLayout ComputeLayout(const BucketSpec& bucket, bool needs_staging) {
  const size_t splits = bucket.splits.size();
  BucketLayout layout;
  layout.y.assign(splits, -1);
  layout.tensor.assign(splits, -1);
  layout.accum.assign(splits, -1);
  Carver shared;
  int64_t contraction = 0;
  int64_t largest_y = 0;
  for (size_t k = 0; k < splits; ++k) {
    const SplitSpec& split = bucket.splits[k];
    if (split.rank == 0) continue;
    const int64_t y_floats = split.rank * split.cols;
    layout.y[k] = shared.Take(y_floats);
    if (splits > 1) layout.tensor[k] = shared.Take(split.size);
    contraction = std::max(contraction, split.contraction_scratch);
    largest_y = std::max(largest_y, y_floats);
  }
  if (contraction > 0) layout.contraction = shared.Take(contraction);
  if (bucket.projection_size > 0) {
    layout.z = shared.Take(bucket.generated_length);
    layout.fastfood =
        shared.Take(static_cast<int64_t>(kernels::FastfoodScratchFloats(bucket.projection_size)));
  }
  if (needs_staging) layout.staging = shared.Take(bucket.virtual_length);
  if (splits > 1 && largest_y > 0) layout.split_gradient = shared.Take(largest_y);
  layout.shared_floats = shared.Total();

  Carver accum;
  if (splits > 1) {
    for (size_t k = 0; k < splits; ++k) layout.accum[k] = accum.Take(bucket.splits[k].size);
  } else if (bucket.splits[0].rank > 0) {
    layout.accum[0] = accum.Take(bucket.splits[0].rank * bucket.splits[0].cols);
  }
  layout.accum_floats = accum.Total();
  return layout;
}

}  // namespace

PlanExecutor::PlanExecutor(PlanSpec spec) : spec_(std::move(spec)) {
  tables_ = BuildPlanTables(spec_);
  const int threads = parallel::ThreadPool::Instance().Threads();
  const int64_t split_threshold =
      std::max<int64_t>(kMinSplitGroup, (spec_.delta_size + 4 * threads - 1) / (4 * threads));

  std::vector<char> has_whole(spec_.buckets.size(), 0);
  std::vector<char> has_split(spec_.buckets.size(), 0);
  std::vector<char> needs_staging(spec_.buckets.size(), 0);
  for (size_t g = 0; g < spec_.groups.size(); ++g) {
    const GroupSpec& group = spec_.groups[g];
    const BucketSpec& bucket = spec_.buckets[static_cast<size_t>(group.bucket)];
    const size_t b = static_cast<size_t>(group.bucket);
    const bool in_place = group.regions.size() == 1 &&
                          (bucket.projection_size == 0 || group.used == bucket.virtual_length);
    if (!in_place) needs_staging[b] = 1;
    if (bucket.virtual_length >= split_threshold) {
      split_groups_.push_back(static_cast<int32_t>(g));
      has_split[b] = 1;
    } else {
      whole_groups_.push_back(static_cast<int32_t>(g));
      has_whole[b] = 1;
    }
  }
  // Biggest first: the pool hands tasks out in order, so the long ones cannot end up last.
  std::stable_sort(whole_groups_.begin(), whole_groups_.end(), [&](int32_t a, int32_t b) {
    const auto length = [&](int32_t g) {
      return spec_.buckets[static_cast<size_t>(spec_.groups[static_cast<size_t>(g)].bucket)]
          .virtual_length;
    };
    return length(a) > length(b);
  });

  int64_t split_shared = 0;
  for (size_t b = 0; b < spec_.buckets.size(); ++b) {
    layouts_.push_back(ComputeLayout(spec_.buckets[b], needs_staging[b] != 0));
    const BucketLayout& layout = layouts_.back();
    if (has_whole[b]) worker_shared_floats_ = std::max(worker_shared_floats_, layout.shared_floats);
    if (has_split[b]) split_shared = std::max(split_shared, layout.shared_floats);
    worker_accum_floats_ = std::max(worker_accum_floats_, layout.accum_floats);
  }
  if (!split_groups_.empty()) split_arena_ = NewArena(split_shared, 0);
  for (int worker = 0; worker < threads; ++worker) {
    worker_arenas_.push_back(NewArena(worker_shared_floats_, worker_accum_floats_));
  }
  if (spec_.shuffle) shuffled_.Resize(spec_.delta_size, /*huge=*/true);
}

std::unique_ptr<Arena> PlanExecutor::NewArena(int64_t shared_floats, int64_t accum_floats) const {
  auto arena = std::make_unique<Arena>();
  arena->shared.Resize(shared_floats);
  arena->accum.Resize(accum_floats);
  arena->tensors.assign(static_cast<size_t>(spec_.splits), nullptr);
  arena->grads.assign(static_cast<size_t>(spec_.splits), nullptr);
  return arena;
}

Arena& PlanExecutor::WorkerArena(int worker) {
  std::lock_guard<std::mutex> lock(arenas_mutex_);
  while (worker_arenas_.size() <= static_cast<size_t>(worker)) {
    worker_arenas_.push_back(NewArena(worker_shared_floats_, worker_accum_floats_));
  }
  return *worker_arenas_[static_cast<size_t>(worker)];
}

size_t PlanExecutor::WorkerCount() {
  std::lock_guard<std::mutex> lock(arenas_mutex_);
  return worker_arenas_.size();
}

size_t PlanExecutor::ScratchBytes() const {
  size_t bytes = shuffled_.Bytes();
  if (split_arena_) bytes += split_arena_->shared.Bytes() + split_arena_->accum.Bytes();
  for (const auto& arena : worker_arenas_) bytes += arena->shared.Bytes() + arena->accum.Bytes();
  return bytes;
}

void PlanExecutor::Forward(const float* params, float* out) {
  float* base = spec_.shuffle ? shuffled_.Data() : out;
  if (!whole_groups_.empty()) {
    parallel::ThreadPool::Instance().Run(
        static_cast<int64_t>(whole_groups_.size()), [&](int64_t task, int worker) {
          ForwardWholeGroup(whole_groups_[static_cast<size_t>(task)], params, base,
                            WorkerArena(worker));
        });
  }
  for (const int32_t group : split_groups_) ForwardSplitGroup(group, params, base);
  if (spec_.shuffle) ShuffleGather(base, tables_.shuffle.data(), spec_.delta_size, out);
}

void PlanExecutor::Backward(const float* params, const float* d_out, float* d_params) {
  const float* base = d_out;
  if (spec_.shuffle) {
    ShuffleScatter(d_out, tables_.shuffle.data(), spec_.delta_size, shuffled_.Data());
    base = shuffled_.Data();
  }
  if (!whole_groups_.empty()) {
    parallel::ThreadPool::Instance().Run(
        static_cast<int64_t>(whole_groups_.size()), [&](int64_t task, int worker) {
          BackwardWholeGroup(whole_groups_[static_cast<size_t>(task)], params, base, d_params,
                             WorkerArena(worker));
        });
  }
  for (const int32_t group : split_groups_) BackwardSplitGroup(group, params, base, d_params);
}

}  // namespace superlora::engine
