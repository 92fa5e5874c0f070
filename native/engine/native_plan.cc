#include "native_plan.h"

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "../args.h"
#include "../promise_worker.h"
#include "plan_descriptor.h"

namespace superlora::engine {
namespace {

constexpr const char* kDisposed = "plan disposed";

using args::RequireVector;

// An output that shares memory with an input would be read after being overwritten.
void RequireDisjoint(const Napi::Env& env, const Napi::Float32Array& output,
                     const char* output_name, const Napi::Float32Array& input,
                     const char* input_name) {
  if (args::BytesOverlap(output.Data(), output.ByteLength(), input.Data(), input.ByteLength())) {
    throw Napi::RangeError::New(env, std::string("Expected ") + output_name +
                                         " not to share memory with " + input_name +
                                         " but the two arrays overlap");
  }
}

Napi::Float32Array CopyFloats(const Napi::Env& env, const std::vector<float>& values) {
  Napi::Float32Array array = Napi::Float32Array::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

Napi::Int32Array CopyInts(const Napi::Env& env, const std::vector<int32_t>& values) {
  Napi::Int32Array array = Napi::Int32Array::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

}  // namespace

Napi::Function NativePlan::Define(Napi::Env env) {
  return DefineClass(env, "NativePlan",
                     {
                         InstanceMethod<&NativePlan::Forward>("forward"),
                         InstanceMethod<&NativePlan::Backward>("backward"),
                         InstanceMethod<&NativePlan::ForwardAsync>("forwardAsync"),
                         InstanceMethod<&NativePlan::BackwardAsync>("backwardAsync"),
                         InstanceMethod<&NativePlan::Dispose>("dispose"),
                         InstanceMethod<&NativePlan::Info>("info"),
                         InstanceMethod<&NativePlan::FastfoodTable>("fastfoodTable"),
                         InstanceMethod<&NativePlan::ShuffleTable>("shuffleTable"),
                         InstanceAccessor<&NativePlan::GetDisposed>("disposed"),
                         InstanceAccessor<&NativePlan::GetDeltaSize>("deltaSize"),
                         InstanceAccessor<&NativePlan::GetNumParams>("numParams"),
                     });
}

NativePlan::NativePlan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativePlan>(info) {
  const Napi::Env env = info.Env();
  PlanSpec spec = ParsePlanDescriptor(env, info[0]);
  delta_size_ = spec.delta_size;
  num_params_ = spec.num_params;
  try {
    executor_ = std::make_unique<PlanExecutor>(std::move(spec));
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env,
                                "Not enough memory for the plan's tables and scratch (ΔW_all of " +
                                    std::to_string(delta_size_) + " values)");
  }
  external_bytes_ = static_cast<int64_t>(executor_->ScratchBytes());
  Napi::MemoryManagement::AdjustExternalMemory(env, external_bytes_);
}

NativePlan::~NativePlan() {
  if (external_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -external_bytes_);
}

void NativePlan::RunForward(const float* params, float* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!executor_) throw std::runtime_error(kDisposed);
  executor_->Forward(params, out);
}

void NativePlan::RunBackward(const float* params, const float* d_out, float* d_params) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!executor_) throw std::runtime_error(kDisposed);
  executor_->Backward(params, d_out, d_params);
}

void NativePlan::RequireLive(const Napi::Env& env) const {
  if (disposed_.load()) throw Napi::Error::New(env, kDisposed);
}

void NativePlan::CheckForwardArgs(const Napi::CallbackInfo& info, Napi::Float32Array& params,
                                  Napi::Float32Array& out) const {
  RequireLive(info.Env());
  params = RequireVector(info, 0, "params", num_params_);
  out = RequireVector(info, 1, "out", delta_size_);
  RequireDisjoint(info.Env(), out, "out", params, "params");
}

void NativePlan::CheckBackwardArgs(const Napi::CallbackInfo& info, Napi::Float32Array& params,
                                   Napi::Float32Array& d_out, Napi::Float32Array& d_params) const {
  RequireLive(info.Env());
  params = RequireVector(info, 0, "params", num_params_);
  d_out = RequireVector(info, 1, "dOut", delta_size_);
  d_params = RequireVector(info, 2, "dParams", num_params_);
  RequireDisjoint(info.Env(), d_params, "dParams", params, "params");
  RequireDisjoint(info.Env(), d_params, "dParams", d_out, "dOut");
}

Napi::Value NativePlan::Forward(const Napi::CallbackInfo& info) {
  Napi::Float32Array params, out;
  CheckForwardArgs(info, params, out);
  RunForward(params.Data(), out.Data());
  return info.Env().Undefined();
}

Napi::Value NativePlan::Backward(const Napi::CallbackInfo& info) {
  Napi::Float32Array params, d_out, d_params;
  CheckBackwardArgs(info, params, d_out, d_params);
  RunBackward(params.Data(), d_out.Data(), d_params.Data());
  return info.Env().Undefined();
}

Napi::Value NativePlan::ForwardAsync(const Napi::CallbackInfo& info) {
  Napi::Float32Array params, out;
  CheckForwardArgs(info, params, out);
  const float* params_data = params.Data();
  float* out_data = out.Data();
  return QueuePromiseWorker(info.Env(), "superlora:forward", {Value(), params, out},
                            [this, params_data, out_data] { RunForward(params_data, out_data); });
}

Napi::Value NativePlan::BackwardAsync(const Napi::CallbackInfo& info) {
  Napi::Float32Array params, d_out, d_params;
  CheckBackwardArgs(info, params, d_out, d_params);
  const float* params_data = params.Data();
  const float* d_out_data = d_out.Data();
  float* d_params_data = d_params.Data();
  return QueuePromiseWorker(info.Env(), "superlora:backward", {Value(), params, d_out, d_params},
                            [this, params_data, d_out_data, d_params_data] {
                              RunBackward(params_data, d_out_data, d_params_data);
                            });
}

Napi::Value NativePlan::Dispose(const Napi::CallbackInfo& info) {
  std::unique_ptr<PlanExecutor> released;
  {
    // Waits for a call in flight; queued async calls then find the plan gone and reject.
    std::lock_guard<std::mutex> lock(mutex_);
    released = std::move(executor_);
    disposed_.store(true);
  }
  released.reset();
  if (external_bytes_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -external_bytes_);
    external_bytes_ = 0;
  }
  return info.Env().Undefined();
}

Napi::Value NativePlan::Info(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  RequireLive(env);
  std::lock_guard<std::mutex> lock(mutex_);
  const PlanSpec& spec = executor_->Spec();
  const PlanTables& tables = executor_->Tables();
  Napi::Object result = Napi::Object::New(env);
  result.Set("deltaSize", Napi::Number::New(env, static_cast<double>(spec.delta_size)));
  result.Set("numParams", Napi::Number::New(env, static_cast<double>(spec.num_params)));
  result.Set("buckets", Napi::Number::New(env, static_cast<double>(spec.buckets.size())));
  result.Set("groups", Napi::Number::New(env, static_cast<double>(spec.groups.size())));
  result.Set("wholeGroups",
             Napi::Number::New(env, static_cast<double>(executor_->WholeGroupCount())));
  result.Set("splitGroups",
             Napi::Number::New(env, static_cast<double>(executor_->SplitGroupCount())));
  result.Set("workers", Napi::Number::New(env, static_cast<double>(executor_->WorkerCount())));
  result.Set("scratchBytes",
             Napi::Number::New(env, static_cast<double>(executor_->ScratchBytes())));
  Napi::Array sizes = Napi::Array::New(env, tables.fastfood.size());
  Napi::Array from_file = Napi::Array::New(env);
  for (size_t i = 0; i < tables.fastfood.size(); ++i) {
    const double size = static_cast<double>(tables.fastfood[i].size);
    sizes.Set(static_cast<uint32_t>(i), Napi::Number::New(env, size));
    if (tables.fastfood[i].from_file) {
      from_file.Set(from_file.Length(), Napi::Number::New(env, size));
    }
  }
  result.Set("fastfoodSizes", sizes);
  result.Set("fastfoodFromFile", from_file);
  result.Set("shuffle", Napi::Boolean::New(env, spec.shuffle));
  result.Set("shuffleFromFile", Napi::Boolean::New(env, tables.shuffle_from_file));
  return result;
}

Napi::Value NativePlan::FastfoodTable(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  RequireLive(env);
  const int64_t size = args::RequireIntegerInRange(info, 0, "size", 1, int64_t{1} << 31);
  std::lock_guard<std::mutex> lock(mutex_);
  for (const FastfoodTableData& table : executor_->Tables().fastfood) {
    if (table.size != size) continue;
    Napi::Object result = Napi::Object::New(env);
    result.Set("signs", CopyFloats(env, table.signs));
    result.Set("perm", CopyInts(env, table.perm));
    result.Set("gaussians", CopyFloats(env, table.gaussians));
    result.Set("gaussianSumSq", Napi::Number::New(env, table.gaussian_sum_sq));
    return result;
  }
  throw Napi::RangeError::New(
      env, "Expected a fastfood size this plan uses for size but received " + std::to_string(size));
}

Napi::Value NativePlan::ShuffleTable(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  RequireLive(env);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!executor_->Spec().shuffle) throw Napi::Error::New(env, "This plan has no shuffle");
  return CopyInts(env, executor_->Tables().shuffle);
}

Napi::Value NativePlan::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_.load());
}

Napi::Value NativePlan::GetDeltaSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(delta_size_));
}

Napi::Value NativePlan::GetNumParams(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(num_params_));
}

void RegisterNativePlan(Napi::Env env, Napi::Object exports) {
  exports.Set("NativePlan", NativePlan::Define(env));
}

}  // namespace superlora::engine
