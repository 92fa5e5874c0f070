// NativePlan: the JS face of a PlanExecutor (DESIGN.md "Native boundary"). Built once from a plan
// descriptor; forward/backward run on caller-owned Float32Arrays without copies, synchronously or
// as Promises. Calls on one plan are serialised by a mutex, so concurrent async calls are safe;
// dispose() frees the tables and scratch at once (waiting for a running call), and every later
// call throws Error "plan disposed".
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "plan_executor.h"

namespace superlora::engine {

class NativePlan : public Napi::ObjectWrap<NativePlan> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit NativePlan(const Napi::CallbackInfo& info);
  ~NativePlan() override;

  // Run under the plan's mutex, from any thread; throw std::runtime_error("plan disposed") when
  // the plan was disposed in the meantime.
  void RunForward(const float* params, float* out);
  void RunBackward(const float* params, const float* d_out, float* d_params);

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info);
  Napi::Value BackwardAsync(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value FastfoodTable(const Napi::CallbackInfo& info);
  Napi::Value ShuffleTable(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetDeltaSize(const Napi::CallbackInfo& info);
  Napi::Value GetNumParams(const Napi::CallbackInfo& info);

  // Throws Error "plan disposed" on the JS thread.
  void RequireLive(const Napi::Env& env) const;
  // The checked arrays of forward(params, out) / backward(params, dOut, dParams).
  void CheckForwardArgs(const Napi::CallbackInfo& info, Napi::Float32Array& params,
                        Napi::Float32Array& out) const;
  void CheckBackwardArgs(const Napi::CallbackInfo& info, Napi::Float32Array& params,
                         Napi::Float32Array& d_out, Napi::Float32Array& d_params) const;

  std::mutex mutex_;
  std::unique_ptr<PlanExecutor> executor_;
  std::atomic<bool> disposed_{false};
  int64_t delta_size_ = 0;
  int64_t num_params_ = 0;
  int64_t external_bytes_ = 0;  // reported to V8 so that its GC sees what a plan holds
};

void RegisterNativePlan(Napi::Env env, Napi::Object exports);

}  // namespace superlora::engine
