// A small fixed thread pool for the CPU kernels. One job runs at a time (jobs from concurrent
// AsyncWorkers queue on a mutex); the calling thread works too, so a pool of n threads keeps n
// cores busy with n - 1 helper threads. A ParallelFor called from inside a job runs inline.
//
// Waiting spins before it sleeps: a helper that finished a job watches for the next one for
// SpinMicroseconds() before it blocks on a condition variable, and the caller watches for its
// helpers to finish for as long before it blocks. A training step runs hundreds of short jobs
// back to back, and a sleeping helper costs two system calls per job (the wake and the wait) plus
// its wake-up latency; a spinning one starts within a fraction of a microsecond. A pool with more
// threads than the machine has hardware threads never spins: a spinning thread would hold a core
// that a thread with work is waiting for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace superlora::parallel {

class ThreadPool {
 public:
  // The process-wide pool, with a thread per hardware thread (loadAddon() then applies
  // SUPERLORA_NUM_THREADS through SetThreads).
  static ThreadPool& Instance();

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads a job uses, the caller included (≥ 1).
  int Threads() const { return threads_; }
  // Changes the number of threads used by later jobs (1 ≤ n ≤ helpers created + 1 is not
  // required: helpers are created on demand). Waits for a running job.
  void SetThreads(int threads);

  // How long a waiting thread spins before it sleeps (default 200 µs; 0 sleeps at once). A change
  // takes effect at the next wait.
  int64_t SpinMicroseconds() const { return spin_us_.load(std::memory_order_relaxed); }
  void SetSpinMicroseconds(int64_t us);

  // Calls task(index, worker) for every index in [0, tasks), spread over the threads with
  // dynamic scheduling; worker is in [0, Threads()) and unique among concurrent calls, so it can
  // index per-thread scratch. Returns when all are done; rethrows the first exception.
  void Run(int64_t tasks, const std::function<void(int64_t index, int worker)>& task);

 private:
  void Work(int worker);
  // Claims and runs the current job's tasks until none is left or one has thrown.
  void RunTasks(const std::function<void(int64_t, int)>& task, int64_t tasks, int worker);
  // How long a wait spins now: SpinMicroseconds(), or 0 while the pool is oversubscribed.
  int64_t WaitSpinMicroseconds() const;
  void EnsureHelpers(int count);

  int threads_;
  std::vector<std::thread> helpers_;
  std::mutex job_mutex_;  // one job at a time
  std::mutex state_mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int64_t, int)>* task_ = nullptr;
  int64_t tasks_ = 0;  // read by a helper when it joins the job
  std::atomic<int64_t> next_{0};
  std::atomic<bool> failed_{false};
  int active_helpers_ = 0;
  // Written under state_mutex_; atomic so that spinning threads can watch them without it.
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> spin_us_;
  const int hardware_threads_;
  std::atomic<bool> oversubscribed_;
  bool stopping_ = false;
  std::exception_ptr error_;
};

// Splits [begin, end) into chunks of at least `grain` items (at most a few per thread) and calls
// body(chunk_begin, chunk_end, worker) for each, on the process-wide pool.
void ParallelFor(int64_t begin, int64_t end, int64_t grain,
                 const std::function<void(int64_t, int64_t, int)>& body);

// True inside a pool job (nested ParallelFor calls run inline on the calling worker).
bool InsideJob();

}  // namespace superlora::parallel
