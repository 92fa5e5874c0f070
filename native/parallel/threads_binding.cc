#include "threads_binding.h"

#include "../args.h"
#include "thread_pool.h"

namespace superlora {
namespace {

// Same ceiling as SUPERLORA_NUM_THREADS: more is a typo, not a machine.
constexpr int64_t kMaxThreads = 1024;
// Same ceiling as SUPERLORA_POOL_SPIN_US: a second.
constexpr int64_t kMaxSpinMicroseconds = 1000000;

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t threads = args::RequireIntegerInRange(info, 0, "threads", 1, kMaxThreads);
  // Waits for a running job, so a kernel in an AsyncWorker never sees the count change mid-job.
  parallel::ThreadPool::Instance().SetThreads(static_cast<int>(threads));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), parallel::ThreadPool::Instance().Threads());
}

Napi::Value SetSpinMicroseconds(const Napi::CallbackInfo& info) {
  const int64_t us = args::RequireIntegerInRange(info, 0, "microseconds", 0, kMaxSpinMicroseconds);
  parallel::ThreadPool::Instance().SetSpinMicroseconds(us);
  return info.Env().Undefined();
}

Napi::Value GetSpinMicroseconds(const Napi::CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(), static_cast<double>(parallel::ThreadPool::Instance().SpinMicroseconds()));
}

}  // namespace

void RegisterThreads(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("setSpinMicroseconds",
              Napi::Function::New(env, SetSpinMicroseconds, "setSpinMicroseconds"));
  exports.Set("getSpinMicroseconds",
              Napi::Function::New(env, GetSpinMicroseconds, "getSpinMicroseconds"));
}

}  // namespace superlora
