// The Promise form of a native call: QueuePromiseWorker runs `work` on the libuv pool and returns a
// Promise that resolves to undefined, or rejects with the message of the C++ exception `work`
// threw (plan disposed meanwhile, out of memory, a CUDA fault). The objects in `keep_alive` (the
// plan's JS object, the typed arrays `work` reads and writes) are held by persistent references
// until the Promise settles, so the GC cannot collect them while a pool thread uses their memory.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <initializer_list>
#include <utility>
#include <vector>

namespace superlora {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* resource_name,
                std::initializer_list<Napi::Object> keep_alive, std::function<void()> work)
      : Napi::AsyncWorker(env, resource_name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)) {
    for (const Napi::Object& object : keep_alive) keep_alive_.push_back(Napi::Persistent(object));
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& error) {
      SetError(error.what());
    } catch (...) {
      SetError("superlora: unknown native error");
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

  // A worker_threads Worker terminated while `work` ran: its environment is being torn down and
  // runs no more JavaScript, so settling the Promise fails, and node-addon-api rethrows that
  // failure out of the libuv callback, where it would end the whole process (std::terminate).
  // Nobody can observe that Promise any more: the failure is dropped and the worker deleted as
  // the base class would have (test/native/workerThreads.test.ts).
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    try {
      Napi::AsyncWorker::OnWorkComplete(env, status);
    } catch (const Napi::Error&) {
      Destroy();
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::vector<Napi::ObjectReference> keep_alive_;
};

// Queues the worker (it deletes itself once settled) and returns its Promise.
inline Napi::Promise QueuePromiseWorker(Napi::Env env, const char* resource_name,
                                        std::initializer_list<Napi::Object> keep_alive,
                                        std::function<void()> work) {
  auto* worker = new PromiseWorker(env, resource_name, keep_alive, std::move(work));
  const Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace superlora
