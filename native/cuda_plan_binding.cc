// CudaNativePlan (cuda_plan_binding.h). Built from the same plan descriptor as NativePlan
// (engine/plan_descriptor.h); host-array calls copy in, run and copy out, and the device-resident
// calls (setParams, runForward, readDelta, setDeltaGradient, runBackward, readParamsGradient)
// leave parameters, ΔW_all and the gradients on the device between steps. Calls on one plan are
// serialised by a mutex; the Promise forms run on the libuv pool. CUDA failures (no device, out of
// memory, a kernel fault) become JS Errors carrying the CUDA runtime's message.
#include "cuda_plan_binding.h"

#include <string>

#include "build_info.h"

#ifdef SUPERLORA_WITH_CUDA
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "../cuda/error.cuh"
#include "../cuda/plan.cuh"
#include "args.h"
#include "engine/plan_descriptor.h"
#include "promise_worker.h"
#endif

namespace superlora {
namespace {

#ifndef SUPERLORA_WITH_CUDA

Napi::Value ThrowNotCompiled(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(),
                         std::string("CudaNativePlan is unavailable: this superlora binary (") +
                             kBuildVariant +
                             " build) was compiled without CUDA. Build the CUDA variant with "
                             "`npm run build:cuda` and load it with SUPERLORA_BUILD=cuda.");
}

#else

constexpr const char* kDisposed = "plan disposed";

using args::RequireVector;

class CudaNativePlan : public Napi::ObjectWrap<CudaNativePlan> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "CudaNativePlan",
        {
            InstanceMethod<&CudaNativePlan::Forward>("forward"),
            InstanceMethod<&CudaNativePlan::Backward>("backward"),
            InstanceMethod<&CudaNativePlan::ForwardAsync>("forwardAsync"),
            InstanceMethod<&CudaNativePlan::BackwardAsync>("backwardAsync"),
            InstanceMethod<&CudaNativePlan::SetParams>("setParams"),
            InstanceMethod<&CudaNativePlan::RunForward>("runForward"),
            InstanceMethod<&CudaNativePlan::ReadDelta>("readDelta"),
            InstanceMethod<&CudaNativePlan::SetDeltaGradient>("setDeltaGradient"),
            InstanceMethod<&CudaNativePlan::RunBackward>("runBackward"),
            InstanceMethod<&CudaNativePlan::ReadParamsGradient>("readParamsGradient"),
            InstanceMethod<&CudaNativePlan::Dispose>("dispose"),
            InstanceMethod<&CudaNativePlan::Info>("info"),
            InstanceMethod<&CudaNativePlan::SetProfiling>("setProfiling"),
            InstanceAccessor<&CudaNativePlan::GetDisposed>("disposed"),
            InstanceAccessor<&CudaNativePlan::GetDeltaSize>("deltaSize"),
            InstanceAccessor<&CudaNativePlan::GetNumParams>("numParams"),
        });
  }

  explicit CudaNativePlan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaNativePlan>(info) {
    const Napi::Env env = info.Env();
    engine::PlanSpec spec = engine::ParsePlanDescriptor(env, info[0]);
    delta_size_ = spec.delta_size;
    num_params_ = spec.num_params;
    try {
      plan_ = std::make_unique<cuda::CudaPlan>(std::move(spec));
    } catch (const std::exception& error) {
      throw Napi::Error::New(env, error.what());
    }
  }

  // Runs `body` on the plan under the mutex, from any thread; throws std::runtime_error when the
  // plan was disposed meanwhile (CudaError is one too).
  template <typename Body>
  void Locked(const Body& body) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!plan_) throw std::runtime_error(kDisposed);
    body(*plan_);
  }

 private:
  void RequireLive(const Napi::Env& env) const {
    if (disposed_.load()) throw Napi::Error::New(env, kDisposed);
  }

  // Runs body synchronously and turns a C++ error into a JS Error.
  template <typename Body>
  Napi::Value Run(const Napi::CallbackInfo& info, const Body& body) {
    try {
      Locked(body);
    } catch (const std::exception& error) {
      throw Napi::Error::New(info.Env(), error.what());
    }
    return info.Env().Undefined();
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array params = RequireVector(info, 0, "params", num_params_);
    Napi::Float32Array out = RequireVector(info, 1, "out", delta_size_);
    return Run(info, [&](cuda::CudaPlan& plan) { plan.Forward(params.Data(), out.Data()); });
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array params = RequireVector(info, 0, "params", num_params_);
    Napi::Float32Array d_out = RequireVector(info, 1, "dOut", delta_size_);
    Napi::Float32Array d_params = RequireVector(info, 2, "dParams", num_params_);
    return Run(info, [&](cuda::CudaPlan& plan) {
      plan.Backward(params.Data(), d_out.Data(), d_params.Data());
    });
  }

  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array params = RequireVector(info, 0, "params", num_params_);
    Napi::Float32Array out = RequireVector(info, 1, "out", delta_size_);
    const float* params_data = params.Data();
    float* out_data = out.Data();
    return QueuePromiseWorker(
        info.Env(), "superlora:cudaForward", {Value(), params, out}, [this, params_data, out_data] {
          Locked([&](cuda::CudaPlan& plan) { plan.Forward(params_data, out_data); });
        });
  }

  Napi::Value BackwardAsync(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array params = RequireVector(info, 0, "params", num_params_);
    Napi::Float32Array d_out = RequireVector(info, 1, "dOut", delta_size_);
    Napi::Float32Array d_params = RequireVector(info, 2, "dParams", num_params_);
    const float* params_data = params.Data();
    const float* d_out_data = d_out.Data();
    float* d_params_data = d_params.Data();
    return QueuePromiseWorker(info.Env(), "superlora:cudaBackward",
                              {Value(), params, d_out, d_params},
                              [this, params_data, d_out_data, d_params_data] {
                                Locked([&](cuda::CudaPlan& plan) {
                                  plan.Backward(params_data, d_out_data, d_params_data);
                                });
                              });
  }

  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array params = RequireVector(info, 0, "params", num_params_);
    return Run(info, [&](cuda::CudaPlan& plan) { plan.SetParams(params.Data()); });
  }

  Napi::Value RunForward(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    return Run(info, [](cuda::CudaPlan& plan) { plan.RunForward(); });
  }

  Napi::Value ReadDelta(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array out = RequireVector(info, 0, "out", delta_size_);
    return Run(info, [&](cuda::CudaPlan& plan) { plan.ReadDelta(out.Data()); });
  }

  Napi::Value SetDeltaGradient(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array d_out = RequireVector(info, 0, "dOut", delta_size_);
    return Run(info, [&](cuda::CudaPlan& plan) { plan.SetDeltaGradient(d_out.Data()); });
  }

  Napi::Value RunBackward(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    return Run(info, [](cuda::CudaPlan& plan) { plan.RunBackward(); });
  }

  Napi::Value ReadParamsGradient(const Napi::CallbackInfo& info) {
    RequireLive(info.Env());
    Napi::Float32Array d_params = RequireVector(info, 0, "dParams", num_params_);
    return Run(info, [&](cuda::CudaPlan& plan) { plan.ReadParamsGradient(d_params.Data()); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    std::unique_ptr<cuda::CudaPlan> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released = std::move(plan_);
      disposed_.store(true);
    }
    released.reset();
    return info.Env().Undefined();
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    RequireLive(env);
    std::lock_guard<std::mutex> lock(mutex_);
    Napi::Object result = Napi::Object::New(env);
    result.Set("deltaSize", Napi::Number::New(env, static_cast<double>(delta_size_)));
    result.Set("numParams", Napi::Number::New(env, static_cast<double>(num_params_)));
    result.Set("deviceBytes", Napi::Number::New(env, static_cast<double>(plan_->DeviceBytes())));
    result.Set("launches", Napi::Number::New(env, plan_->LaunchCount()));
    result.Set("fwhtLogTile", Napi::Number::New(env, plan_->LogTile()));
    result.Set("valuesPerThread", Napi::Number::New(env, plan_->ValuesPerThread()));
    Napi::Array kernels = Napi::Array::New(env);
    for (const cuda::KernelTime& kernel : plan_->LastKernels()) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("name", Napi::String::New(env, kernel.name));
      entry.Set("milliseconds",
                kernel.milliseconds < 0 ? env.Null() : Napi::Number::New(env, kernel.milliseconds));
      kernels.Set(kernels.Length(), entry);
    }
    result.Set("kernels", kernels);
    return result;
  }

  Napi::Value SetProfiling(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    RequireLive(env);
    if (info.Length() < 1 || !info[0].IsBoolean()) {
      throw Napi::TypeError::New(env, "setProfiling expects a boolean (enabled)");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    plan_->SetProfiling(info[0].As<Napi::Boolean>().Value());
    return env.Undefined();
  }

  Napi::Value GetDisposed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), disposed_.load());
  }
  Napi::Value GetDeltaSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(delta_size_));
  }
  Napi::Value GetNumParams(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(num_params_));
  }

  std::mutex mutex_;
  std::unique_ptr<cuda::CudaPlan> plan_;
  std::atomic<bool> disposed_{false};
  int64_t delta_size_ = 0;
  int64_t num_params_ = 0;
};

#endif

}  // namespace

void RegisterCudaPlan(Napi::Env env, Napi::Object exports) {
#ifdef SUPERLORA_WITH_CUDA
  exports.Set("CudaNativePlan", CudaNativePlan::Define(env));
#else
  exports.Set("CudaNativePlan", Napi::Function::New(env, ThrowNotCompiled, "CudaNativePlan"));
#endif
}

}  // namespace superlora
