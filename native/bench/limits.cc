#include "limits.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(_WIN32)
#ifndef NOMINMAX  // MinGW's libstdc++ defines it already
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "../simd/isa.h"
#include "peak_kernels.h"

namespace superlora::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Timed rounds after one untimed one: at least kMinRounds, and more until kMinTimedSeconds of
// rounds have run (at most kMaxRounds). The best round is reported, because every disturbance
// (an interrupt, another process or VM, a frequency change) only ever makes a round slower; on
// a noisy virtual machine a handful of rounds is often not enough to see one undisturbed.
constexpr int kMinRounds = 7;
constexpr int kMaxRounds = 200;
constexpr double kMinTimedSeconds = 0.2;
// Each FLOP-peak round runs about this long: long enough to dwarf the barrier and the clock,
// short enough that the whole probe takes well under a second.
constexpr double kPeakSecondsPerRound = 0.02;
constexpr size_t kAlignment = 64;

// A 64-byte aligned buffer (one cache line, and the widest vector), left uninitialised so that
// the threads that will use it touch it first.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t bytes)
      : storage_(new unsigned char[bytes + kAlignment]),
        data_(storage_.get() +
              (kAlignment - reinterpret_cast<uintptr_t>(storage_.get()) % kAlignment) %
                  kAlignment) {}
  unsigned char* data() const { return data_; }

 private:
  std::unique_ptr<unsigned char[]> storage_;
  unsigned char* data_;
};

// A reusable spinning barrier: the probes time the span between two barriers, and a sleeping
// barrier would add the wake-up latency of every thread to it. Waiters yield, so oversubscribed
// runs (more threads than cores) still make progress.
class SpinBarrier {
 public:
  explicit SpinBarrier(int count) : count_(count) {}

  void Wait() {
    const int generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      return;
    }
    while (generation_.load(std::memory_order_acquire) == generation) std::this_thread::yield();
  }

 private:
  const int count_;
  std::atomic<int> arrived_{0};
  std::atomic<int> generation_{0};
};

struct Rounds {
  double bestSeconds;
  int count;
};

// Runs setup(worker) once on each of `threads` threads (the caller is worker 0), then one
// untimed round and the timed rounds (see kMinRounds) of work(worker, round); returns the wall
// time of the fastest timed round. Dedicated threads rather than the kernel pool: a probe must
// control exactly how many threads run and keep them alive between rounds, whatever the pool is
// set to.
Rounds BestRound(int threads, const std::function<void(int)>& setup,
                 const std::function<void(int, int)>& work) {
  SpinBarrier barrier(threads);
  double best = 0;
  double total = 0;
  int timed = 0;
  // Written by worker 0 between a round's closing barrier and the next round's opening one,
  // read by every worker after that opening barrier, so all of them see the same value.
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  // Every thread must reach every barrier even when its work throws, or the others spin forever.
  auto guarded = [&](const std::function<void()>& step) {
    try {
      step();
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  auto body = [&](int worker) {
    guarded([&] { setup(worker); });
    for (int round = -1;; ++round) {
      barrier.Wait();
      if (stop.load(std::memory_order_relaxed)) break;
      const Clock::time_point start = Clock::now();
      guarded([&] { work(worker, round); });
      barrier.Wait();
      if (worker != 0) continue;
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (round >= 0) {
        best = timed == 0 ? seconds : std::min(best, seconds);
        total += seconds;
        ++timed;
      }
      const bool enough = timed >= kMinRounds && total >= kMinTimedSeconds;
      std::lock_guard<std::mutex> lock(error_mutex);
      if (enough || timed >= kMaxRounds || error) stop.store(true, std::memory_order_relaxed);
    }
  };
  // Helpers wait at this gate until all of them exist: if creating one fails, the ones already
  // running are told to leave instead of waiting at a barrier that can never fill.
  enum Gate : int { kWait, kGo, kAbort };
  std::atomic<int> gate{kWait};
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(threads - 1));
  try {
    for (int worker = 1; worker < threads; ++worker) {
      helpers.emplace_back([&, worker] {
        int state;
        while ((state = gate.load(std::memory_order_acquire)) == kWait) std::this_thread::yield();
        if (state == kGo) body(worker);
      });
    }
  } catch (...) {
    gate.store(kAbort, std::memory_order_release);
    for (std::thread& helper : helpers) helper.join();
    throw;
  }
  gate.store(kGo, std::memory_order_release);
  body(0);
  for (std::thread& helper : helpers) helper.join();
  if (error) std::rethrow_exception(error);
  return {best, timed};
}

// Byte range [begin, end) of thread `worker` in a buffer of `bytes`: whole cache lines, so no two
// threads write the same line.
std::pair<size_t, size_t> SliceOf(int64_t bytes, int threads, int worker) {
  const size_t lines = (static_cast<size_t>(bytes) + kAlignment - 1) / kAlignment;
  const size_t per_thread = (lines + static_cast<size_t>(threads) - 1) / threads;
  const size_t begin = std::min(static_cast<size_t>(bytes), worker * per_thread * kAlignment);
  const size_t end = std::min(static_cast<size_t>(bytes), (worker + 1) * per_thread * kAlignment);
  return {begin, end};
}

PeakKernel ActivePeakKernel(simd::Isa* isa) {
  *isa = simd::ActiveIsa();
#if defined(__x86_64__) || defined(_M_X64)
  if (*isa == simd::Isa::kAvx512) return Avx512PeakKernel();
  if (*isa == simd::Isa::kAvx2) return Avx2PeakKernel();
#endif
  *isa = simd::Isa::kPortable;
  return PortablePeakKernel();
}

// `loop(iterations)` is one thread's share of a round; `flop_per_iteration` counts one thread's
// FLOP per loop step.
PeakResult MeasurePeak(int threads, double flop_per_iteration, const std::string& isa, int lanes,
                       const std::function<double(int64_t)>& loop) {
  // Calibrate on one thread: double the count until a run takes a few milliseconds, then scale
  // to the round length (each thread has its own core, so a round takes about as long as one
  // thread's run). A short first run is easily inflated by a single interruption, which would
  // make the rounds far too short to time; the long last run is not, and the count never drops
  // below it.
  int64_t iterations = 1 << 12;
  double seconds = 0;
  volatile double sink = 0;
  for (;;) {
    const Clock::time_point start = Clock::now();
    sink = sink + loop(iterations);
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (seconds >= 0.005 || iterations >= (int64_t{1} << 40)) break;
    iterations *= 2;
  }
  iterations = std::max<int64_t>(
      iterations, static_cast<int64_t>(static_cast<double>(iterations) * kPeakSecondsPerRound /
                                       std::max(seconds, 1e-9)));
  std::vector<double> sinks(static_cast<size_t>(threads), 0.0);
  const Rounds rounds = BestRound(
      threads, [](int) {},
      [&](int worker, int) { sinks[static_cast<size_t>(worker)] += loop(iterations); });
  for (double value : sinks) sink = sink + value;
  PeakResult result;
  result.flopPerRound = flop_per_iteration * static_cast<double>(iterations) * threads;
  result.gflops = result.flopPerRound / rounds.bestSeconds / 1e9;
  result.isa = isa;
  result.lanes = lanes;
  result.chains = kChains;
  result.bestSeconds = rounds.bestSeconds;
  result.rounds = rounds.count;
  result.threads = threads;
  return result;
}

int64_t PhysicalMemoryBytes() {
#if defined(_WIN32)
  MEMORYSTATUSEX status;
  status.dwLength = sizeof(status);
  if (GlobalMemoryStatusEx(&status)) return static_cast<int64_t>(status.ullTotalPhys);
#else
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) return static_cast<int64_t>(pages) * page_size;
#endif
  return int64_t{4} << 30;  // unknown: assume a small machine
}

}  // namespace

int64_t MaxProbeBytes() { return PhysicalMemoryBytes() / 4; }

BandwidthResult MeasureFill(int64_t bytes, int threads) {
  AlignedBuffer buffer(static_cast<size_t>(bytes));
  unsigned char* data = buffer.data();
  const Rounds rounds = BestRound(
      threads,
      [&](int worker) {
        const auto [begin, end] = SliceOf(bytes, threads, worker);
        std::memset(data + begin, 0, end - begin);
      },
      [&](int worker, int round) {
        const auto [begin, end] = SliceOf(bytes, threads, worker);
        // A different byte each round, so no round repeats the previous one's stores.
        std::memset(data + begin, (round + 2) & 0xff, end - begin);
      });
  BandwidthResult result;
  result.bytes = bytes;
  result.countedBytes = bytes;
  result.gbs = static_cast<double>(bytes) / rounds.bestSeconds / 1e9;
  result.bestSeconds = rounds.bestSeconds;
  result.rounds = rounds.count;
  result.threads = threads;
  return result;
}

BandwidthResult MeasureMemcpy(int64_t bytes, int threads) {
  AlignedBuffer source(static_cast<size_t>(bytes));
  AlignedBuffer destination(static_cast<size_t>(bytes));
  const Rounds rounds = BestRound(
      threads,
      [&](int worker) {
        const auto [begin, end] = SliceOf(bytes, threads, worker);
        std::memset(source.data() + begin, 0x3c, end - begin);
        std::memset(destination.data() + begin, 0, end - begin);
      },
      [&](int worker, int) {
        const auto [begin, end] = SliceOf(bytes, threads, worker);
        std::memcpy(destination.data() + begin, source.data() + begin, end - begin);
      });
  BandwidthResult result;
  result.bytes = bytes;
  result.countedBytes = 2 * bytes;
  result.gbs = 2.0 * static_cast<double>(bytes) / rounds.bestSeconds / 1e9;
  result.copyGbs = result.gbs / 2;
  result.bestSeconds = rounds.bestSeconds;
  result.rounds = rounds.count;
  result.threads = threads;
  return result;
}

PeakResult MeasureFmaPeak(int threads) {
  simd::Isa isa;
  const PeakKernel kernel = ActivePeakKernel(&isa);
  // multiplier < 1 makes every chain converge to addend / (1 − multiplier) instead of growing,
  // so the values stay normal floats (denormals or infinities could take slow paths).
  return MeasurePeak(threads, 2.0 * kernel.lanes * kChains, simd::IsaName(isa), kernel.lanes,
                     [&](int64_t iterations) { return kernel.fma(iterations, 0.999f, 1e-3f); });
}

PeakResult MeasureAddPeak(int threads) {
  simd::Isa isa;
  const PeakKernel kernel = ActivePeakKernel(&isa);
  // A tiny addend: even 10^10 steps leave the accumulators far from overflow.
  return MeasurePeak(threads, 1.0 * kernel.lanes * kChains, simd::IsaName(isa), kernel.lanes,
                     [&](int64_t iterations) { return kernel.add(iterations, 1e-7f); });
}

}  // namespace superlora::bench
