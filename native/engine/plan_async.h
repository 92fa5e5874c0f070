// The Promise forms of NativePlan.forward / backward: an AsyncWorker that keeps the plan and the
// arrays alive (persistent references) until it settles, runs on the libuv pool, and turns a C++
// exception (plan disposed meanwhile, out of memory) into a rejection.
#pragma once

#include <napi.h>

#include <vector>

namespace superlora::engine {

class NativePlan;

class PlanAsyncWorker : public Napi::AsyncWorker {
 public:
  // Forward: d_out is empty and out receives ΔW_all. Backward: out receives dL/dparams.
  PlanAsyncWorker(Napi::Env env, NativePlan* plan, Napi::Object plan_object,
                  Napi::Float32Array params, Napi::Float32Array d_out, Napi::Float32Array out,
                  bool backward);

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  NativePlan* plan_;
  std::vector<Napi::ObjectReference> keep_alive_;
  const float* params_;
  const float* d_out_;
  float* out_;
  bool backward_;
};

}  // namespace superlora::engine
