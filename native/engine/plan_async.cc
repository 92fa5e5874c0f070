#include "plan_async.h"

#include <exception>

#include "native_plan.h"

namespace superlora::engine {

PlanAsyncWorker::PlanAsyncWorker(Napi::Env env, NativePlan* plan, Napi::Object plan_object,
                                 Napi::Float32Array params, Napi::Float32Array d_out,
                                 Napi::Float32Array out, bool backward)
    : Napi::AsyncWorker(env, backward ? "superlora:backward" : "superlora:forward"),
      deferred_(Napi::Promise::Deferred::New(env)),
      plan_(plan),
      params_(params.Data()),
      d_out_(backward ? d_out.Data() : nullptr),
      out_(out.Data()),
      backward_(backward) {
  // Without these the GC could collect the plan or free an array while the pool thread uses it.
  keep_alive_.push_back(Napi::Persistent(plan_object));
  keep_alive_.push_back(Napi::Persistent(static_cast<Napi::Object>(params)));
  keep_alive_.push_back(Napi::Persistent(static_cast<Napi::Object>(out)));
  if (backward) keep_alive_.push_back(Napi::Persistent(static_cast<Napi::Object>(d_out)));
}

void PlanAsyncWorker::Execute() {
  try {
    if (backward_) {
      plan_->RunBackward(params_, d_out_, out_);
    } else {
      plan_->RunForward(params_, out_);
    }
  } catch (const std::exception& error) {
    SetError(error.what());
  } catch (...) {
    SetError("superlora: unknown native error");
  }
}

void PlanAsyncWorker::OnOK() { deferred_.Resolve(Env().Undefined()); }

void PlanAsyncWorker::OnError(const Napi::Error& error) { deferred_.Reject(error.Value()); }

}  // namespace superlora::engine
