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
#include <cstdlib>

namespace superlora::parallel {
namespace {

thread_local bool inside_job = false;
thread_local int current_worker = 0;

int DefaultThreads() {
  if (const char* env = std::getenv("SUPERLORA_NUM_THREADS")) {
    const int requested = std::atoi(env);
    if (requested >= 1 && requested <= 1024) return requested;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

ThreadPool& ThreadPool::Instance() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock
  // when Node tears down the addon first.
  static ThreadPool* pool = new ThreadPool(DefaultThreads());
  return *pool;
}

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {}

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
    {
      std::unique_lock<std::mutex> lock(state_mutex_);
      wake_.wait(lock,
                 [&] { return stopping_ || (generation_ != seen && worker <= active_helpers_); });
      if (stopping_) return;
      seen = generation_;
      task = task_;
      ++busy_;
    }
    inside_job = true;
    current_worker = worker;
    for (;;) {
      int64_t index;
      {
        std::lock_guard<std::mutex> lock(state_mutex_);
        if (next_ >= tasks_ || error_) break;
        index = next_++;
      }
      try {
        (*task)(index, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(state_mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    inside_job = false;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      --busy_;
    }
    done_.notify_all();
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
    next_ = 0;
    error_ = nullptr;
    active_helpers_ = helpers;
    ++generation_;
  }
  wake_.notify_all();
  inside_job = true;
  current_worker = 0;
  for (;;) {
    int64_t index;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (next_ >= tasks_ || error_) break;
      index = next_++;
    }
    try {
      task(index, 0);
    } catch (...) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
  inside_job = false;
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(state_mutex_);
    // Helpers that have not woken yet must not pick up a finished job: close it first.
    tasks_ = 0;
    done_.wait(lock, [&] { return busy_ == 0; });
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
