#include "fixed_tables.h"

#include <utility>

#include "../rng.h"

namespace superlora::engine {

PlanTables BuildPlanTables(PlanSpec& spec) {
  PlanTables tables;
  for (const int64_t size : spec.projection_sizes) {
    FastfoodTableData table;
    table.size = size;
    bool found = false;
    for (FastfoodTableInput& input : spec.file_tables) {
      if (input.size != size) continue;
      table.signs = std::move(input.signs);
      table.perm = std::move(input.perm);
      table.gaussians = std::move(input.gaussians);
      table.from_file = true;
      found = true;
      break;
    }
    if (!found) {
      const size_t length = static_cast<size_t>(size);
      table.signs.resize(length);
      table.perm.resize(length);
      table.gaussians.resize(length);
      rng::FastfoodSigns(spec.seed, size, table.signs.data());
      rng::SeededPermutation(spec.seed, rng::kPermutation, size, table.perm.data());
      rng::FastfoodGaussians(spec.seed, size, table.gaussians.data());
    }
    for (const float g : table.gaussians) table.gaussian_sum_sq += static_cast<double>(g) * g;
    tables.fastfood.push_back(std::move(table));
  }
  spec.file_tables.clear();
  if (spec.shuffle) {
    if (!spec.file_shuffle.empty()) {
      tables.shuffle = std::move(spec.file_shuffle);
      tables.shuffle_from_file = true;
    } else {
      tables.shuffle.resize(static_cast<size_t>(spec.delta_size));
      rng::SeededPermutation(spec.seed, rng::kShuffle, spec.delta_size, tables.shuffle.data());
    }
  }
  spec.file_shuffle.clear();
  return tables;
}

}  // namespace superlora::engine
