#include "plan_descriptor.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../args.h"
#include "split_contraction.h"

namespace superlora::engine {
namespace {

constexpr int64_t kMaxDeltaSize = 2147483647;          // 2^31 − 1, as src/plan.ts allows
constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 − 1
constexpr int64_t kMaxUint32 = 4294967295;
// Products of fold dims stay far below int64 overflow; anything larger cannot be allocated anyway.
constexpr int64_t kMaxProduct = int64_t{1} << 53;
// Order and split counts beyond this could only come from a corrupt descriptor (a fold of at most
// 2^31 values has at most 31 dims above 1); the cap keeps per-mode loops and arrays bounded.
constexpr int64_t kMaxModes = 4096;

// a · b, or −1 when it exceeds kMaxProduct.
int64_t CheckedProduct(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > kMaxProduct / a) return -1;
  return a * b;
}

std::string Field(const char* name) { return std::string("descriptor.") + name; }

std::string Element(const char* name, size_t index) {
  return Field(name) + "[" + std::to_string(index) + "]";
}

std::string Number(double value) {
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  return std::to_string(value);
}

// Reads fields of the descriptor object, throwing errors that name them.
class Reader {
 public:
  Reader(const Napi::Env& env, Napi::Object object) : env_(env), object_(object) {}

  [[noreturn]] void RangeFail(const std::string& message) const {
    throw Napi::RangeError::New(env_, message);
  }

  int64_t Integer(const char* name, int64_t min, int64_t max) const {
    const Napi::Value value = object_.Get(name);
    const std::string expected = "an integer in [" + std::to_string(min) + ", " +
                                 std::to_string(max) + "] for " + Field(name);
    if (!value.IsNumber()) {
      throw Napi::TypeError::New(
          env_, "Expected a number (" + expected + ") but received " + args::Describe(value));
    }
    const double number = value.As<Napi::Number>().DoubleValue();
    // Compared as doubles first: converting NaN, ±Infinity or a huge double to int64 is undefined.
    if (!std::isfinite(number) || std::floor(number) != number ||
        number < static_cast<double>(min) || number > static_cast<double>(max)) {
      RangeFail("Expected " + expected + " but received " + args::Describe(value));
    }
    return static_cast<int64_t>(number);
  }

  double Finite(const char* name) const {
    const Napi::Value value = object_.Get(name);
    if (!value.IsNumber()) {
      throw Napi::TypeError::New(
          env_, "Expected a number for " + Field(name) + " but received " + args::Describe(value));
    }
    const double number = value.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(number)) {
      RangeFail("Expected a finite number for " + Field(name) + " but received " +
                args::Describe(value));
    }
    return number;
  }

  // A typed array field copied out (the plan must not depend on the descriptor staying alive).
  // expected < 0: any length.
  template <typename T>
  std::vector<T> Array(const char* name, napi_typedarray_type type, const char* type_name,
                       int64_t expected) const {
    const Napi::Value value = object_.Get(name);
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
      throw Napi::TypeError::New(env_, std::string("Expected ") + type_name + " for " +
                                           Field(name) + " but received " + args::Describe(value));
    }
    Napi::TypedArrayOf<T> array = value.As<Napi::TypedArrayOf<T>>();
    if (array.ArrayBuffer().IsDetached()) {
      throw Napi::TypeError::New(env_, std::string("Expected ") + type_name + " for " +
                                           Field(name) +
                                           " but received one whose buffer is detached");
    }
    const size_t length = array.ElementLength();
    if (expected >= 0 && static_cast<int64_t>(length) != expected) {
      RangeFail("Expected " + std::to_string(expected) + " values for " + Field(name) +
                " but received " + std::to_string(length));
    }
    const T* data = array.Data();
    return std::vector<T>(data, data + length);
  }

  std::vector<double> Float64s(const char* name, int64_t expected) const {
    return Array<double>(name, napi_float64_array, "Float64Array", expected);
  }
  std::vector<int32_t> Int32s(const char* name, int64_t expected) const {
    return Array<int32_t>(name, napi_int32_array, "Int32Array", expected);
  }
  std::vector<float> Float32s(const char* name, int64_t expected) const {
    return Array<float>(name, napi_float32_array, "Float32Array", expected);
  }

  // values[index] as an integer in [min, max].
  template <typename T>
  int64_t At(const std::vector<T>& values, size_t index, const char* name, int64_t min,
             int64_t max) const {
    const double value = static_cast<double>(values[index]);
    if (!std::isfinite(value) || std::floor(value) != value || value < static_cast<double>(min) ||
        value > static_cast<double>(max)) {
      RangeFail("Expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                "] for " + Element(name, index) + " but received " + Number(value));
    }
    return static_cast<int64_t>(value);
  }

 private:
  Napi::Env env_;
  Napi::Object object_;
};

// Checks that the half-open ranges tile [0, total) exactly once.
void CheckTiling(const Reader& reader, std::vector<std::pair<int64_t, int64_t>> ranges,
                 int64_t total, const char* what) {
  std::sort(ranges.begin(), ranges.end());
  int64_t position = 0;
  for (const auto& [start, end] : ranges) {
    if (start != position) {
      reader.RangeFail(std::string("Expected ") + what + " to cover [0, " + std::to_string(total) +
                       ") exactly once, but " +
                       (start < position
                            ? "position " + std::to_string(start) + " is covered twice"
                            : "position " + std::to_string(position) + " is not covered"));
    }
    position = end;
  }
  if (position != total) {
    reader.RangeFail(std::string("Expected ") + what + " to cover [0, " + std::to_string(total) +
                     ") exactly once, but they end at " + std::to_string(position));
  }
}

void CheckPermutation(const Reader& reader, const std::vector<int32_t>& perm, size_t begin,
                      size_t length, const char* name) {
  std::vector<char> seen(length, 0);
  for (size_t i = 0; i < length; ++i) {
    const int32_t j = perm[begin + i];
    if (j < 0 || static_cast<size_t>(j) >= length || seen[static_cast<size_t>(j)]) {
      reader.RangeFail("Expected a permutation of 0…" + std::to_string(length - 1) + " in " +
                       Field(name) + " but entry " + std::to_string(begin + i) + " is " +
                       std::to_string(j));
    }
    seen[static_cast<size_t>(j)] = 1;
  }
}

void ReadSplits(const Reader& reader, PlanSpec& spec, BucketSpec& bucket, size_t b,
                int64_t group_count, const std::vector<int32_t>& ranks,
                const std::vector<int32_t>& fold_dims, const std::vector<double>& core_offsets,
                const std::vector<double>& factor_offsets, const std::vector<double>& full_offsets,
                std::vector<std::pair<int64_t, int64_t>>& param_ranges) {
  const size_t order = static_cast<size_t>(spec.order);
  const size_t splits = static_cast<size_t>(spec.splits);
  // A tensor of `count` values per group starting at `offset` must lie inside the parameters.
  auto claim = [&](int64_t offset, int64_t count, const std::string& what) {
    const int64_t total = CheckedProduct(count, group_count);
    if (total < 0 || offset + total > spec.num_params) {
      reader.RangeFail("Expected " + what + " (" + std::to_string(group_count) + " × " +
                       std::to_string(count) + " values at offset " + std::to_string(offset) +
                       ") to lie inside the " + std::to_string(spec.num_params) + " parameters");
    }
    param_ranges.emplace_back(offset, offset + total);
  };
  std::vector<int64_t> mode_sizes(order, 1);
  for (size_t k = 0; k < splits; ++k) {
    SplitSpec split;
    split.rank = ranks[k];
    split.size = 1;
    for (size_t m = 0; m < order; ++m) {
      const size_t at = (b * splits + k) * order + m;
      const int64_t dim = reader.At(fold_dims, at, "bucketFoldDims", 1, kMaxDeltaSize);
      split.dims.push_back(dim);
      bucket.kron_dims.push_back(dim);
      split.size = CheckedProduct(split.size, dim);
      mode_sizes[m] = CheckedProduct(mode_sizes[m], dim);
      if (split.size < 0 || mode_sizes[m] < 0) {
        reader.RangeFail("Expected fold dims whose products stay below 2^53 for " +
                         Field("bucketFoldDims") + " of bucket " + std::to_string(b));
      }
    }
    split.cols = split.size / split.dims[0];
    const size_t at = b * splits + k;
    const std::string name = "b" + std::to_string(b) + ".s" + std::to_string(k);
    const int64_t last = spec.num_params - 1;
    if (split.rank == 0) {
      split.full_offset = reader.At(full_offsets, at, "splitFullOffset", 0, last);
      reader.At(core_offsets, at, "splitCoreOffset", -1, -1);
      for (size_t m = 0; m < order; ++m) {
        reader.At(factor_offsets, at * order + m, "splitFactorOffset", -1, -1);
      }
      claim(split.full_offset, split.size, name + ".full");
    } else {
      reader.At(full_offsets, at, "splitFullOffset", -1, -1);
      if (spec.dense_core) {
        split.core_offset = reader.At(core_offsets, at, "splitCoreOffset", 0, last);
        split.core_size = 1;
        for (size_t m = 0; m < order; ++m) {
          split.core_size = CheckedProduct(split.core_size, split.rank);
          if (split.core_size < 0) {
            reader.RangeFail("Expected a dense core of fewer than 2^53 values for " + name +
                             ".core (rank " + std::to_string(split.rank) + ", order " +
                             std::to_string(order) + ")");
          }
        }
        claim(split.core_offset, split.core_size, name + ".core");
      } else {
        reader.At(core_offsets, at, "splitCoreOffset", -1, -1);
      }
      for (size_t m = 0; m < order; ++m) {
        const int64_t offset =
            reader.At(factor_offsets, at * order + m, "splitFactorOffset", 0, last);
        split.factor_offsets.push_back(offset);
        const int64_t count = CheckedProduct(split.dims[m], split.rank);
        claim(offset, count, name + ".f" + std::to_string(m));
      }
      PlanContraction(split, spec.order, spec.dense_core);
    }
    bucket.splits.push_back(std::move(split));
  }
  int64_t folded = 1;
  for (const int64_t size : mode_sizes) folded = CheckedProduct(folded, size);
  if (folded < bucket.generated_length) {
    reader.RangeFail("Expected bucket " + std::to_string(b) + "'s fold (" +
                     (folded < 0 ? std::string("more than 2^53") : std::to_string(folded)) +
                     " values) to hold its " + std::to_string(bucket.generated_length) +
                     " generated values");
  }
}

void ReadFileTables(const Reader& reader, PlanSpec& spec) {
  const std::vector<double> sizes = reader.Float64s("fileTableSizes", -1);
  int64_t total = 0;
  std::vector<int64_t> checked;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t size = reader.At(sizes, i, "fileTableSizes", 1, int64_t{1} << 31);
    if (std::find(spec.projection_sizes.begin(), spec.projection_sizes.end(), size) ==
            spec.projection_sizes.end() ||
        std::find(checked.begin(), checked.end(), size) != checked.end()) {
      reader.RangeFail("Expected a fastfood size the plan uses, at most once, for " +
                       Element("fileTableSizes", i) + " but received " + std::to_string(size));
    }
    checked.push_back(size);
    total += size;
  }
  const std::vector<float> signs = reader.Float32s("fileTableSigns", total);
  const std::vector<int32_t> perm = reader.Int32s("fileTablePerm", total);
  const std::vector<float> gaussians = reader.Float32s("fileTableGaussians", total);
  size_t begin = 0;
  for (const int64_t size : checked) {
    const size_t length = static_cast<size_t>(size);
    FastfoodTableInput table;
    table.size = size;
    double sum_sq = 0;
    for (size_t i = begin; i < begin + length; ++i) {
      if (signs[i] != 1.0f && signs[i] != -1.0f) {
        reader.RangeFail("Expected ±1 for " + Element("fileTableSigns", i) + " but received " +
                         Number(signs[i]));
      }
      if (!std::isfinite(gaussians[i])) {
        reader.RangeFail("Expected a finite number for " + Element("fileTableGaussians", i));
      }
      sum_sq += static_cast<double>(gaussians[i]) * gaussians[i];
    }
    if (!(sum_sq > 0) || !std::isfinite(sum_sq)) {
      reader.RangeFail("Expected gaussians with a positive finite sum of squares in " +
                       Field("fileTableGaussians") + " for size " + std::to_string(size));
    }
    CheckPermutation(reader, perm, begin, length, "fileTablePerm");
    table.signs.assign(signs.begin() + begin, signs.begin() + begin + length);
    table.perm.assign(perm.begin() + begin, perm.begin() + begin + length);
    table.gaussians.assign(gaussians.begin() + begin, gaussians.begin() + begin + length);
    spec.file_tables.push_back(std::move(table));
    begin += length;
  }
  std::vector<int32_t> shuffle = reader.Int32s("fileShuffle", -1);
  if (!shuffle.empty()) {
    if (!spec.shuffle || static_cast<int64_t>(shuffle.size()) != spec.delta_size) {
      reader.RangeFail("Expected " + std::to_string(spec.shuffle ? spec.delta_size : 0) +
                       " values for " + Field("fileShuffle") + " but received " +
                       std::to_string(shuffle.size()));
    }
    CheckPermutation(reader, shuffle, 0, shuffle.size(), "fileShuffle");
    spec.file_shuffle = std::move(shuffle);
  }
}

}  // namespace

PlanSpec ParsePlanDescriptor(const Napi::Env& env, const Napi::Value& descriptor) {
  if (!descriptor.IsObject() || descriptor.IsArray() || descriptor.IsFunction() ||
      descriptor.IsTypedArray()) {
    throw Napi::TypeError::New(env,
                               "Expected a plan descriptor object (from planDescriptor.ts) for "
                               "descriptor but received " +
                                   args::Describe(descriptor));
  }
  const Reader reader(env, descriptor.As<Napi::Object>());
  reader.Integer("format", kPlanDescriptorFormat, kPlanDescriptorFormat);
  PlanSpec spec;
  spec.delta_size = reader.Integer("deltaSize", 1, kMaxDeltaSize);
  spec.num_params = reader.Integer("numParams", 1, kMaxSafeInteger);
  spec.order = static_cast<int>(reader.Integer("order", 1, kMaxModes));
  spec.splits = static_cast<int>(reader.Integer("splits", 1, kMaxModes));
  spec.dense_core = reader.Integer("denseCore", 0, 1) == 1;
  spec.shuffle = reader.Integer("shuffle", 0, 1) == 1;
  spec.scale = static_cast<float>(reader.Finite("scale"));
  spec.seed = static_cast<uint32_t>(reader.Integer("seed", 0, kMaxUint32));
  const size_t splits = static_cast<size_t>(spec.splits);

  const std::vector<int32_t> ranks = reader.Int32s("ranks", spec.splits);
  for (size_t k = 0; k < splits; ++k) reader.At(ranks, k, "ranks", 0, kMaxDeltaSize);

  const std::vector<double> virtual_lengths = reader.Float64s("bucketVirtualLength", -1);
  const int64_t bucket_count = static_cast<int64_t>(virtual_lengths.size());
  if (bucket_count < 1)
    reader.RangeFail("Expected at least 1 bucket in " + Field("bucketVirtualLength"));
  const std::vector<double> generated = reader.Float64s("bucketGeneratedLength", bucket_count);
  const std::vector<double> projection = reader.Float64s("bucketProjectionSize", bucket_count);
  const std::vector<int32_t> group_counts = reader.Int32s("bucketGroupCount", bucket_count);
  const int64_t per_split = bucket_count * spec.splits;
  const std::vector<int32_t> fold_dims = reader.Int32s("bucketFoldDims", per_split * spec.order);
  const std::vector<double> core_offsets = reader.Float64s("splitCoreOffset", per_split);
  const std::vector<double> full_offsets = reader.Float64s("splitFullOffset", per_split);
  const std::vector<double> factor_offsets =
      reader.Float64s("splitFactorOffset", per_split * spec.order);

  const std::vector<int32_t> group_bucket = reader.Int32s("groupBucket", -1);
  const int64_t group_total = static_cast<int64_t>(group_bucket.size());
  if (group_total < 1) reader.RangeFail("Expected at least 1 group in " + Field("groupBucket"));
  const std::vector<int32_t> group_slot = reader.Int32s("groupSlot", group_total);
  const std::vector<int32_t> region_counts = reader.Int32s("groupRegionCount", group_total);
  const std::vector<double> region_starts = reader.Float64s("regionStart", -1);
  const std::vector<double> region_lengths =
      reader.Float64s("regionLength", static_cast<int64_t>(region_starts.size()));

  std::vector<std::pair<int64_t, int64_t>> param_ranges;
  for (size_t b = 0; b < static_cast<size_t>(bucket_count); ++b) {
    BucketSpec bucket;
    bucket.virtual_length =
        reader.At(virtual_lengths, b, "bucketVirtualLength", 1, spec.delta_size);
    bucket.generated_length =
        reader.At(generated, b, "bucketGeneratedLength", 1, bucket.virtual_length);
    bucket.projection_size = reader.At(projection, b, "bucketProjectionSize", 0, int64_t{1} << 31);
    const int64_t size = bucket.projection_size;
    if (size == 0 && bucket.generated_length != bucket.virtual_length) {
      reader.RangeFail(
          "Expected bucketGeneratedLength = bucketVirtualLength without a projection "
          "for bucket " +
          std::to_string(b));
    }
    // The fastfood kernels need L = nextpow2(n): a power of two with L/2 < n ≤ L (SPEC §7).
    if (size != 0 && ((size & (size - 1)) != 0 || size < bucket.virtual_length ||
                      size / 2 >= bucket.virtual_length)) {
      reader.RangeFail(
          "Expected the smallest power of two ≥ " + std::to_string(bucket.virtual_length) +
          " for " + Element("bucketProjectionSize", b) + " but received " + std::to_string(size));
    }
    if (size != 0) {
      auto found = std::find(spec.projection_sizes.begin(), spec.projection_sizes.end(), size);
      bucket.table = static_cast<int>(found - spec.projection_sizes.begin());
      if (found == spec.projection_sizes.end()) spec.projection_sizes.push_back(size);
    }
    const int64_t group_count = reader.At(group_counts, b, "bucketGroupCount", 1, group_total);
    bucket.groups.assign(static_cast<size_t>(group_count), -1);
    ReadSplits(reader, spec, bucket, b, group_count, ranks, fold_dims, core_offsets, factor_offsets,
               full_offsets, param_ranges);
    spec.buckets.push_back(std::move(bucket));
  }
  CheckTiling(reader, std::move(param_ranges), spec.num_params, "the parameter tensors");

  std::vector<std::pair<int64_t, int64_t>> covered;
  size_t next_region = 0;
  for (size_t g = 0; g < static_cast<size_t>(group_total); ++g) {
    GroupSpec group;
    group.bucket = static_cast<int>(reader.At(group_bucket, g, "groupBucket", 0, bucket_count - 1));
    BucketSpec& bucket = spec.buckets[static_cast<size_t>(group.bucket)];
    const int64_t slots = static_cast<int64_t>(bucket.groups.size());
    group.slot = static_cast<int>(reader.At(group_slot, g, "groupSlot", 0, slots - 1));
    if (bucket.groups[static_cast<size_t>(group.slot)] != -1) {
      reader.RangeFail("Expected each slot of a bucket once in " + Field("groupSlot") +
                       " but slot " + std::to_string(group.slot) + " of bucket " +
                       std::to_string(group.bucket) + " repeats at group " + std::to_string(g));
    }
    bucket.groups[static_cast<size_t>(group.slot)] = static_cast<int32_t>(g);
    const int64_t remaining = static_cast<int64_t>(region_starts.size() - next_region);
    const int64_t count =
        reader.At(region_counts, g, "groupRegionCount", 1, std::max<int64_t>(1, remaining));
    if (count > remaining) {
      reader.RangeFail("Expected " + Field("regionStart") + " to hold the regions of every group " +
                       "but it ends at group " + std::to_string(g));
    }
    for (int64_t r = 0; r < count; ++r, ++next_region) {
      const int64_t start =
          reader.At(region_starts, next_region, "regionStart", 0, spec.delta_size - 1);
      const int64_t length =
          reader.At(region_lengths, next_region, "regionLength", 1, spec.delta_size - start);
      covered.emplace_back(start, start + length);
      group.used += length;
      // Regions that continue each other are one run: the kernels then write them directly.
      if (!group.regions.empty() &&
          group.regions.back().start + group.regions.back().length == start) {
        group.regions.back().length += length;
      } else {
        group.regions.push_back({start, length});
      }
    }
    if (group.used > bucket.virtual_length) {
      reader.RangeFail("Expected group " + std::to_string(g) + "'s regions to hold at most its " +
                       std::to_string(bucket.virtual_length) + " values but they hold " +
                       std::to_string(group.used));
    }
    spec.groups.push_back(std::move(group));
  }
  if (next_region != region_starts.size()) {
    reader.RangeFail("Expected " + std::to_string(next_region) + " regions (the sum of " +
                     Field("groupRegionCount") + ") but received " +
                     std::to_string(region_starts.size()));
  }
  for (size_t b = 0; b < spec.buckets.size(); ++b) {
    const auto& groups = spec.buckets[b].groups;
    if (std::find(groups.begin(), groups.end(), -1) != groups.end()) {
      reader.RangeFail("Expected " + std::to_string(groups.size()) + " groups in bucket " +
                       std::to_string(b) + " (" + Element("bucketGroupCount", b) +
                       ") but some slots have none");
    }
  }
  CheckTiling(reader, std::move(covered), spec.delta_size, "the group regions");
  ReadFileTables(reader, spec);
  return spec;
}

}  // namespace superlora::engine
