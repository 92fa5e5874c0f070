#include "bench_binding.h"

#include "../args.h"
#include "limits.h"

namespace superlora {
namespace {

// More threads than this is a typo, not a machine; the pool's SUPERLORA_NUM_THREADS has the
// same ceiling.
constexpr int64_t kMaxThreads = 1024;

// The probes are synchronous on purpose: they measure the whole machine, so nothing else of
// this process should run meanwhile (each takes well under a second at the sizes the bench uses).

Napi::Object BandwidthObject(Napi::Env env, const bench::BandwidthResult& result, bool copy) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("gbs", result.gbs);
  if (copy) object.Set("copyGBs", result.copyGbs);
  object.Set("bytes", static_cast<double>(result.bytes));
  object.Set("countedBytes", static_cast<double>(result.countedBytes));
  object.Set("bestSeconds", result.bestSeconds);
  object.Set("rounds", result.rounds);
  object.Set("threads", result.threads);
  return object;
}

Napi::Object PeakObject(Napi::Env env, const bench::PeakResult& result) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("gflops", result.gflops);
  object.Set("isa", result.isa);
  object.Set("lanes", result.lanes);
  object.Set("chains", result.chains);
  object.Set("flopPerRound", result.flopPerRound);
  object.Set("bestSeconds", result.bestSeconds);
  object.Set("rounds", result.rounds);
  object.Set("threads", result.threads);
  return object;
}

int64_t RequireBytes(const Napi::CallbackInfo& info) {
  return args::RequireIntegerInRange(info, 0, "bytes", 1, bench::MaxProbeBytes());
}

int RequireThreads(const Napi::CallbackInfo& info, size_t index) {
  return static_cast<int>(args::RequireIntegerInRange(info, index, "threads", 1, kMaxThreads));
}

Napi::Value MeasureFill(const Napi::CallbackInfo& info) {
  const int64_t bytes = RequireBytes(info);
  const int threads = RequireThreads(info, 1);
  return BandwidthObject(info.Env(), bench::MeasureFill(bytes, threads), false);
}

Napi::Value MeasureMemcpy(const Napi::CallbackInfo& info) {
  const int64_t bytes = RequireBytes(info);
  const int threads = RequireThreads(info, 1);
  return BandwidthObject(info.Env(), bench::MeasureMemcpy(bytes, threads), true);
}

Napi::Value MeasureFmaPeak(const Napi::CallbackInfo& info) {
  return PeakObject(info.Env(), bench::MeasureFmaPeak(RequireThreads(info, 0)));
}

Napi::Value MeasureAddPeak(const Napi::CallbackInfo& info) {
  return PeakObject(info.Env(), bench::MeasureAddPeak(RequireThreads(info, 0)));
}

}  // namespace

void RegisterBench(Napi::Env env, Napi::Object exports) {
  exports.Set("measureFill", Napi::Function::New(env, MeasureFill, "measureFill"));
  exports.Set("measureMemcpy", Napi::Function::New(env, MeasureMemcpy, "measureMemcpy"));
  exports.Set("measureFmaPeak", Napi::Function::New(env, MeasureFmaPeak, "measureFmaPeak"));
  exports.Set("measureAddPeak", Napi::Function::New(env, MeasureAddPeak, "measureAddPeak"));
}

}  // namespace superlora
