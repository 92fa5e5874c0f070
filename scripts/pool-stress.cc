// A stress test of the kernels' thread pool (native/parallel/thread_pool.h) for ThreadSanitizer:
// thousands of jobs with random task counts (fewer tasks than helpers, so some see a job go by),
// random spin settings (0: sleep at once; short and long spins), thread counts changed between
// jobs (above the hardware threads too, where the pool must not spin), nested ParallelFor calls
// and tasks that throw. Every task writes its own slot, and the caller checks every slot as soon
// as Run returns. Built and run by scripts/tsan-pool.sh; exits non-zero on a wrong result.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <vector>

#include "../native/parallel/thread_pool.h"

using superlora::parallel::ParallelFor;
using superlora::parallel::ThreadPool;

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? std::atoi(argv[1]) : 20000;
  ThreadPool& pool = ThreadPool::Instance();
  std::mt19937 random(12345);
  const int thread_counts[] = {1, 2, 3, 8};
  const int64_t spins[] = {0, 5, 200};
  std::vector<int64_t> slots;
  for (int job = 0; job < jobs; ++job) {
    if (job % 97 == 0) pool.SetThreads(thread_counts[random() % 4]);
    if (job % 89 == 0) pool.SetSpinMicroseconds(spins[random() % 3]);
    const int64_t tasks = 1 + static_cast<int64_t>(random() % 64);
    const int64_t stamp = job * 1000;
    slots.assign(static_cast<size_t>(tasks), -1);
    const int kind = static_cast<int>(random() % 8);
    if (kind == 0) {
      // A task throws: Run rethrows the first exception after every helper has stopped.
      bool threw = false;
      try {
        pool.Run(tasks, [&](int64_t index, int) {
          if (index == tasks / 2) throw std::runtime_error("task failed");
          slots[static_cast<size_t>(index)] = stamp + index;
        });
      } catch (const std::runtime_error&) {
        threw = true;
      }
      if (!threw) {
        std::fprintf(stderr, "job %d: the task's exception was lost\n", job);
        return 1;
      }
      continue;
    }
    if (kind == 1) {
      // Nested: each task's ParallelFor runs inline on its worker.
      pool.Run(tasks, [&](int64_t index, int) {
        int64_t sum = 0;
        ParallelFor(0, 16, 1, [&](int64_t begin, int64_t end, int) {
          for (int64_t i = begin; i < end; ++i) sum += i;
        });
        slots[static_cast<size_t>(index)] = stamp + index + (sum - 120);
      });
    } else {
      pool.Run(tasks,
               [&](int64_t index, int) { slots[static_cast<size_t>(index)] = stamp + index; });
    }
    for (int64_t index = 0; index < tasks; ++index) {
      if (slots[static_cast<size_t>(index)] != stamp + index) {
        std::fprintf(stderr, "job %d: slot %lld of %lld holds %lld\n", job,
                     static_cast<long long>(index), static_cast<long long>(tasks),
                     static_cast<long long>(slots[static_cast<size_t>(index)]));
        return 1;
      }
    }
  }
  std::printf("%d jobs: every slot written before Run returned\n", jobs);
  return 0;
}
