#include "thread_pool.h"

// Prebuilt binaries must load on systems whose libstdc++ is older than the compiler's: libstdc++ 12
// added a GLIBCXX_3.4.30 version of condition_variable::wait(unique_lock&) (same behaviour), which
// would make the binary need a GCC 12 runtime. Bind this file's calls to the version every
// libstdc++ since GCC 4.4 has (README "Prebuilt binaries").
#if defined(__GLIBCXX__) && defined(__linux__) && defined(_GLIBCXX_RELEASE) && \
    _GLIBCXX_RELEASE >= 12
__asm__(
    ".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,"
    "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
#endif

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

namespace superlora::parallel {
namespace {

thread_local bool inside_job = false;
thread_local int current_worker = 0;

int HardwareThreads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Long enough to bridge the JavaScript between two kernels of a training step (tens of µs), short
// enough that an idle process gives its cores back at once. loadAddon() applies
// SUPERLORA_POOL_SPIN_US through SetSpinMicroseconds.
constexpr int64_t kDefaultSpinMicroseconds = 200;

// A hint to the core that this is a spin-wait loop (it yields pipeline resources to a sibling
// hardware thread and saves power).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Spins while waiting() holds, for at most `us` microseconds. The caller then checks its condition
// again under the lock and sleeps if it still holds.
template <class Waiting>
void SpinWhile(int64_t us, Waiting waiting) {
  if (us <= 0 || !waiting()) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      CpuRelax();
      if (!waiting()) return;
    }
    if (std::chrono::steady_clock::now() >= deadline) return;
  }
}

}  // namespace

ThreadPool& ThreadPool::Instance() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock
  // when Node tears down the addon first.
  static ThreadPool* pool = new ThreadPool(HardwareThreads());
  return *pool;
}

ThreadPool::ThreadPool(int threads)
    : threads_(std::max(1, threads)),
      spin_us_(kDefaultSpinMicroseconds),
      hardware_threads_(HardwareThreads()),
      oversubscribed_(threads_ > hardware_threads_) {}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& helper : helpers_) helper.join();
}

void ThreadPool::SetThreads(int threads) {
  std::lock_guard<std::mutex> job(job_mutex_);
  threads_ = std::max(1, threads);
  oversubscribed_.store(threads_ > hardware_threads_, std::memory_order_relaxed);
}

void ThreadPool::SetSpinMicroseconds(int64_t us) {
  spin_us_.store(std::max<int64_t>(0, us), std::memory_order_relaxed);
}

int64_t ThreadPool::WaitSpinMicroseconds() const {
  return oversubscribed_.load(std::memory_order_relaxed) ? 0 : SpinMicroseconds();
}

void ThreadPool::EnsureHelpers(int count) {
  while (static_cast<int>(helpers_.size()) < count) {
    const int worker = static_cast<int>(helpers_.size()) + 1;
    helpers_.emplace_back([this, worker] { Work(worker); });
  }
}

void ThreadPool::Work(int worker) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t, int)>* task;
    int64_t tasks;
    SpinWhile(WaitSpinMicroseconds(),
              [&] { return generation_.load(std::memory_order_acquire) == seen; });
    {
      std::unique_lock<std::mutex> lock(state_mutex_);
      wake_.wait(lock,
                 [&] { return stopping_ || generation_.load(std::memory_order_relaxed) != seen; });
      if (stopping_) return;
      seen = generation_.load(std::memory_order_relaxed);
      // A job with fewer tasks than helpers, or one the caller finished and closed before this
      // helper came: wait for the next, spinning first, as after a job.
      if (worker > active_helpers_) continue;
      task = task_;
      tasks = tasks_;
      busy_.fetch_add(1, std::memory_order_relaxed);
    }
    inside_job = true;
    current_worker = worker;
    RunTasks(*task, tasks, worker);
    inside_job = false;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      busy_.fetch_sub(1, std::memory_order_release);
    }
    done_.notify_all();
  }
}

void ThreadPool::RunTasks(const std::function<void(int64_t, int)>& task, int64_t tasks,
                          int worker) {
  // Tasks are claimed with an atomic increment, not under state_mutex_: with tasks of a few
  // hundred nanoseconds (a pooling row) two threads taking a mutex per task collide on most
  // claims, and each collision parks a thread in the kernel.
  while (!failed_.load(std::memory_order_relaxed)) {
    const int64_t index = next_.fetch_add(1, std::memory_order_relaxed);
    if (index >= tasks) break;
    try {
      task(index, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::Run(int64_t tasks, const std::function<void(int64_t, int)>& task) {
  if (tasks <= 0) return;
  if (inside_job) {
    for (int64_t i = 0; i < tasks; ++i) task(i, current_worker);
    return;
  }
  std::lock_guard<std::mutex> job(job_mutex_);
  const int helpers = static_cast<int>(std::min<int64_t>(threads_ - 1, tasks - 1));
  if (helpers <= 0) {
    inside_job = true;
    current_worker = 0;
    try {
      for (int64_t i = 0; i < tasks; ++i) task(i, 0);
    } catch (...) {
      inside_job = false;
      throw;
    }
    inside_job = false;
    return;
  }
  EnsureHelpers(helpers);
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    task_ = &task;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    active_helpers_ = helpers;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  inside_job = true;
  current_worker = 0;
  RunTasks(task, tasks, 0);
  inside_job = false;
  {
    // Helpers that have not woken yet must not pick up a finished job: close it first.
    std::lock_guard<std::mutex> lock(state_mutex_);
    tasks_ = 0;
  }
  SpinWhile(WaitSpinMicroseconds(), [&] { return busy_.load(std::memory_order_acquire) != 0; });
  std::exception_ptr error;
  {
    // A helper may still start (and at once finish) the closed job until this lock is taken.
    std::unique_lock<std::mutex> lock(state_mutex_);
    done_.wait(lock, [&] { return busy_.load(std::memory_order_acquire) == 0; });
    active_helpers_ = 0;
    task_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

void ParallelFor(int64_t begin, int64_t end, int64_t grain,
                 const std::function<void(int64_t, int64_t, int)>& body) {
  const int64_t count = end - begin;
  if (count <= 0) return;
  ThreadPool& pool = ThreadPool::Instance();
  grain = std::max<int64_t>(1, grain);
  // A few chunks per thread balance uneven work without paying much per chunk.
  const int64_t max_chunks = inside_job ? 1 : static_cast<int64_t>(pool.Threads()) * 4;
  const int64_t chunks = std::max<int64_t>(1, std::min(max_chunks, count / grain));
  const int64_t size = (count + chunks - 1) / chunks;
  pool.Run(chunks, [&](int64_t chunk, int worker) {
    const int64_t from = begin + chunk * size;
    const int64_t to = std::min(end, from + size);
    if (from < to) body(from, to, worker);
  });
}

bool InsideJob() { return inside_job; }

}  // namespace superlora::parallel
