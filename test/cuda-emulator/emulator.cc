// The CPU emulator of the CUDA runtime declared in include/cuda_runtime.h (see README.md): device
// memory, streams and events, kernel launches on fibers, and the checks a GPU run would need a
// debugger for. x86-64 Linux only (the fibers switch stacks with a few lines of assembly).
#include <cuda_runtime.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <string>
#include <vector>

// The built-in variables are fields here, not the kernels' macros.
#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim

#if !defined(__x86_64__) || !defined(__linux__)
#error "the CUDA emulator runs on x86-64 Linux only"
#endif

// Saves the callee-saved registers on the current stack, stores the stack pointer in *save, then
// resumes the context whose stack pointer is `load` (System V x86-64 ABI).
extern "C" void superlora_emulator_switch(void** save, void* load);
asm(R"(
  .text
  .p2align 4
  .globl superlora_emulator_switch
  .hidden superlora_emulator_switch
  .type superlora_emulator_switch, @function
superlora_emulator_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size superlora_emulator_switch, .-superlora_emulator_switch
)");

namespace superlora_cuda_emulator {

thread_local ThreadContext* currentThread = nullptr;
thread_local BlockContext* currentBlock = nullptr;

namespace {

constexpr size_t kDefaultMemoryMib = 16384;      // the device memory it reports, unless told
constexpr int kDefaultDynamicShared = 48 << 10;  // every kernel's limit until it opts in
constexpr int kDefaultOptInShared = 232448;      // H100 / H200: 227 KiB
constexpr size_t kFiberStackBytes = size_t{256} << 10;
constexpr size_t kDeviceAlignment = 256;  // cudaMalloc's guarantee

size_t PageBytes() {
  static const size_t bytes = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return bytes;
}

size_t RoundUp(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// A mapping with an inaccessible page on each side; `user` ends as close to the upper guard page
// as `alignment` allows, so that running past the end faults.
struct Mapping {
  char* base = nullptr;
  size_t mappedBytes = 0;
  char* data = nullptr;  // first accessible byte
  size_t dataBytes = 0;
  char* user = nullptr;
  size_t userBytes = 0;
};

bool MapGuarded(size_t bytes, size_t alignment, Mapping* mapping) {
  const size_t page = PageBytes();
  const size_t dataBytes = RoundUp(std::max<size_t>(bytes, 1), page);
  const size_t total = dataBytes + 2 * page;
  void* base = mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return false;
  char* data = static_cast<char*>(base) + page;
  if (mprotect(data, dataBytes, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, total);
    return false;
  }
  mapping->base = static_cast<char*>(base);
  mapping->mappedBytes = total;
  mapping->data = data;
  mapping->dataBytes = dataBytes;
  mapping->userBytes = bytes;
  mapping->user = data + (dataBytes - RoundUp(bytes, alignment));
  return true;
}

void Unmap(const Mapping& mapping) { munmap(mapping.base, mapping.mappedBytes); }

// ---- state (every API call holds `lock`)

struct Pending {
  std::string what;
  bool touchesAll = false;  // a kernel: it may read or write any allocation
  std::vector<const char*> allocations;
};

struct Stream {
  bool nonBlocking = false;
  bool legacy = false;
  std::vector<Pending> pending;  // issued since this stream was last known complete
  size_t retired = 0;            // pending entries before this index are complete
};

struct Event {
  Stream* stream = nullptr;
  size_t mark = 0;
  std::chrono::steady_clock::time_point time;
  bool recorded = false;
};

struct State {
  std::recursive_mutex lock;
  std::map<const char*, Mapping> allocations;  // by user pointer
  size_t allocatedBytes = 0;
  int deviceAccessDepth = 0;  // DeviceAccess scopes open
  Stream legacy;
  std::set<Stream*> streams;
  std::set<Event*> events;
  std::map<const void*, int> dynamicSharedLimit;
  cudaError_t lastError = cudaSuccess;
  cudaError_t stickyError = cudaSuccess;
  std::string stickyDetail;
  uint64_t launches = 0;
  std::vector<Mapping> fiberStacks;
  Mapping shared;
  bool signalsInstalled = false;
  struct sigaction previousSegv {};
  struct sigaction previousBus {};
  // What a fault report names: the kernel running, if any.
  const char* kernelName = nullptr;

  State() { legacy.legacy = true; }
};

State& Global() {
  static State* state = new State();  // never destroyed: kernels may run during exit
  return *state;
}

int OptInShared() {
  static const int bytes = [] {
    const char* text = std::getenv("SUPERLORA_CUDA_EMULATOR_SHARED_KIB");
    if (text == nullptr || *text == '\0') return kDefaultOptInShared;
    const long kib = std::strtol(text, nullptr, 10);
    return kib >= 1 && kib <= 4096 ? static_cast<int>(kib << 10) : kDefaultOptInShared;
  }();
  return bytes;
}

// SUPERLORA_CUDA_EMULATOR_MEMORY_MIB: device memory (default 16 GiB), so that running out of it
// can be tested.
size_t TotalMemory() {
  static const size_t bytes = [] {
    const char* text = std::getenv("SUPERLORA_CUDA_EMULATOR_MEMORY_MIB");
    const long mib = text == nullptr ? 0 : std::strtol(text, nullptr, 10);
    return (mib >= 1 && mib <= (long{1} << 20) ? static_cast<size_t>(mib) : kDefaultMemoryMib)
           << 20;
  }();
  return bytes;
}

cudaError_t Fail(cudaError_t error) {
  Global().lastError = error;
  return error;
}

// ---- host code must not touch device memory: it is inaccessible outside kernels and copies

void SetDeviceAccess(bool accessible) {
  for (const auto& [user, mapping] : Global().allocations) {
    mprotect(mapping.data, mapping.dataBytes, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
  }
}

// Device memory is accessible while one of these lives (a kernel or a copy runs).
class DeviceAccess {
 public:
  DeviceAccess() {
    if (Global().deviceAccessDepth++ == 0) SetDeviceAccess(true);
  }
  ~DeviceAccess() {
    if (--Global().deviceAccessDepth == 0) SetDeviceAccess(false);
  }
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;
};

// The allocation holding [pointer, pointer + bytes), or nullptr.
const Mapping* DeviceRange(const void* pointer, size_t bytes) {
  State& state = Global();
  const char* p = static_cast<const char*>(pointer);
  auto it = state.allocations.upper_bound(p);
  if (it == state.allocations.begin()) return nullptr;
  --it;
  const Mapping& mapping = it->second;
  if (p < mapping.user || p + bytes > mapping.user + mapping.userBytes) return nullptr;
  return &mapping;
}

bool OverlapsDevice(const void* pointer, size_t bytes) {
  const char* p = static_cast<const char*>(pointer);
  for (const auto& [user, mapping] : Global().allocations) {
    if (p < mapping.data + mapping.dataBytes && mapping.data < p + bytes) return true;
  }
  return false;
}

// ---- faults: a launch that breaks CUDA's rules poisons the context, as a GPU fault does

void StickyFault(const std::string& detail) {
  State& state = Global();
  if (state.stickyError == cudaSuccess) {
    state.stickyError = cudaErrorLaunchFailure;
    state.stickyDetail = "unspecified launch failure (CUDA emulator: " + detail + ")";
    std::fprintf(stderr, "superlora CUDA emulator: %s\n", detail.c_str());
  }
  state.lastError = cudaErrorLaunchFailure;
}

// ---- streams: every operation runs when issued, but what a GPU would run concurrently is
// tracked, so that work needing another stream's unsynchronised work is reported.

Stream* Resolve(cudaStream_t handle) {
  State& state = Global();
  if (handle == nullptr || handle == cudaStreamLegacy) return &state.legacy;
  Stream* stream = reinterpret_cast<Stream*>(handle);
  return state.streams.count(stream) ? stream : nullptr;
}

// Whether work on `a` may run concurrently with earlier work on `b` (the legacy stream and
// blocking streams wait for each other).
bool Concurrent(const Stream* a, const Stream* b) {
  if (a == b) return false;
  if (a->legacy) return b->nonBlocking;
  if (b->legacy) return a->nonBlocking;
  return true;
}

bool Conflicts(const Pending& x, const Pending& y) {
  if (x.touchesAll || y.touchesAll) return true;
  for (const char* a : x.allocations) {
    for (const char* b : y.allocations) {
      if (a == b) return true;
    }
  }
  return false;
}

// Records `op` on `stream`; false (and a sticky fault) when it needs another stream's
// unsynchronised work.
// visit(stream) for the legacy stream, then every created one.
template <typename Visit>
void ForEachStream(Visit visit) {
  State& state = Global();
  visit(&state.legacy);
  for (Stream* stream : state.streams) visit(stream);
}

bool Issue(Stream* stream, Pending op) {
  const Pending* earlier = nullptr;
  const Stream* owner = nullptr;
  ForEachStream([&](const Stream* other) {
    if (earlier != nullptr || !Concurrent(stream, other)) return;
    for (size_t i = other->retired; i < other->pending.size() && earlier == nullptr; ++i) {
      if (Conflicts(op, other->pending[i])) {
        earlier = &other->pending[i];
        owner = other;
      }
    }
  });
  if (earlier != nullptr) {
    StickyFault(op.what + " on " + (stream->legacy ? "the legacy stream" : "a stream") +
                " may run before " + earlier->what + " on " +
                (owner->legacy ? "the legacy stream" : "another stream") +
                " has finished: nothing orders them (synchronise, or use one stream)");
    return false;
  }
  stream->pending.push_back(std::move(op));
  return true;
}

void Complete(Stream* stream) {
  stream->pending.clear();
  stream->retired = 0;
}

void CompleteAll() { ForEachStream(Complete); }

// A synchronous copy to the host: the legacy stream, and the blocking streams it waited for,
// are complete when it returns (the legacy stream is not non-blocking either).
void CompleteLegacyAndBlocking() {
  ForEachStream([](Stream* stream) {
    if (!stream->nonBlocking) Complete(stream);
  });
}

// ---- signals: faults in emulated device memory get a message, everything else goes on to the
// handler that was there before (V8's WebAssembly trap handler, say)

const char* Describe(uintptr_t address, char* buffer, size_t size) {
  State& state = Global();
  for (const auto& [user, mapping] : state.allocations) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(mapping.base);
    if (address < base || address >= base + mapping.mappedBytes) continue;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(mapping.user);
    if (address >= base + PageBytes() + mapping.dataBytes) {
      std::snprintf(buffer, size,
                    "an access %zu bytes past the end of a %zu-byte device allocation",
                    static_cast<size_t>(address - begin - mapping.userBytes), mapping.userBytes);
    } else if (address < base + PageBytes()) {
      std::snprintf(buffer, size, "an access before the start of a %zu-byte device allocation",
                    mapping.userBytes);
    } else {
      std::snprintf(buffer, size,
                    "host code read or wrote device memory (a %zu-byte allocation): only "
                    "kernels and cudaMemcpy may",
                    mapping.userBytes);
    }
    return buffer;
  }
  if (state.shared.base != nullptr) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(state.shared.base);
    if (address >= base && address < base + state.shared.mappedBytes) {
      std::snprintf(buffer, size,
                    "an access outside the block's %zu bytes of dynamic shared memory",
                    state.shared.userBytes);
      return buffer;
    }
  }
  for (const Mapping& stack : state.fiberStacks) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(stack.base);
    if (address >= base && address < base + PageBytes()) {
      std::snprintf(buffer, size, "a stack overflow of a CUDA thread (%zu KiB stacks)",
                    kFiberStackBytes >> 10);
      return buffer;
    }
  }
  return nullptr;
}

void OnFault(int signal, siginfo_t* info, void* context) {
  State& state = Global();
  char what[256];
  const char* description = Describe(reinterpret_cast<uintptr_t>(info->si_addr), what, sizeof what);
  const struct sigaction& previous = signal == SIGSEGV ? state.previousSegv : state.previousBus;
  if (description == nullptr) {
    if (previous.sa_flags & SA_SIGINFO) {
      if (previous.sa_sigaction != nullptr) {
        previous.sa_sigaction(signal, info, context);
        return;
      }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN &&
               previous.sa_handler != nullptr) {
      previous.sa_handler(signal);
      return;
    }
  }
  char message[768];
  int length;
  if (currentBlock != nullptr && currentThread != nullptr) {
    length = std::snprintf(message, sizeof message,
                           "superlora CUDA emulator: %s in kernel %s, block (%u, %u, %u), thread "
                           "(%u, %u, %u), address %p\n",
                           description != nullptr ? description : "an invalid access",
                           state.kernelName != nullptr ? state.kernelName : "?",
                           currentBlock->blockIdx.x, currentBlock->blockIdx.y,
                           currentBlock->blockIdx.z, currentThread->threadIdx.x,
                           currentThread->threadIdx.y, currentThread->threadIdx.z, info->si_addr);
  } else {
    length =
        std::snprintf(message, sizeof message, "superlora CUDA emulator: %s, address %p\n",
                      description != nullptr ? description : "an invalid access", info->si_addr);
  }
  if (length > 0) {
    ssize_t ignored = write(STDERR_FILENO, message, std::min<size_t>(length, sizeof message - 1));
    (void)ignored;
  }
  // Returning re-runs the access, which now ends the process with the signal.
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigaction(signal, &fallback, nullptr);
}

void InstallSignals() {
  State& state = Global();
  if (state.signalsInstalled) return;
  state.signalsInstalled = true;
  struct sigaction action {};
  action.sa_sigaction = OnFault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &state.previousSegv);
  sigaction(SIGBUS, &action, &state.previousBus);
}

// A stack for signal handlers on this thread, so that a CUDA thread's stack overflow is reported.
void EnsureAlternateStack() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  stack_t stack{};
  stack.ss_size = size_t{64} << 10;
  stack.ss_sp = std::malloc(stack.ss_size);  // kept for the thread's life
  if (stack.ss_sp != nullptr) sigaltstack(&stack, nullptr);
}

// ---- fibers: one per CUDA thread of the block being run

enum class FiberState { kReady, kAtBarrier, kAtWarp, kDone, kFaulted };

struct Fiber {
  void* sp = nullptr;
  ThreadContext context{};
  FiberState state = FiberState::kReady;
};

struct BlockRun {
  std::vector<Fiber> fibers;
  std::vector<uint64_t> warpSlots;  // one per thread: the values of a shuffle
  void* schedulerSp = nullptr;
  void (*run)(void*) = nullptr;
  void* closure = nullptr;
  std::string fault;
};

thread_local BlockRun* currentRun = nullptr;
thread_local Fiber* currentFiber = nullptr;

// Back to the scheduler in `state`; returns when the scheduler resumes this fiber.
void Yield(FiberState state) {
  Fiber* self = currentFiber;
  self->state = state;
  superlora_emulator_switch(&self->sp, currentRun->schedulerSp);
}

// Stops the calling CUDA thread for good and fails the launch.
[[noreturn]] void FiberFault(const std::string& detail) {
  if (currentRun->fault.empty()) currentRun->fault = detail;
  Yield(FiberState::kFaulted);
  std::abort();  // never resumed
}

extern "C" [[noreturn]] void superlora_emulator_fiber_entry() {
  currentRun->run(currentRun->closure);
  Yield(FiberState::kDone);
  std::abort();  // never resumed
}

// The initial stack of a fiber: six zero registers for superlora_emulator_switch to pop, then
// the entry point as its return address, 16-byte aligned as a call would leave it.
void* InitialStack(const Mapping& stack) {
  auto top = reinterpret_cast<uintptr_t>(stack.user + stack.userBytes) & ~uintptr_t{15};
  auto* slots = reinterpret_cast<uintptr_t*>(top);
  slots[-1] = 0;  // the entry's own return address: it never returns
  slots[-2] = reinterpret_cast<uintptr_t>(&superlora_emulator_fiber_entry);
  for (int i = 3; i <= 8; ++i) slots[-i] = 0;
  return &slots[-8];
}

uint64_t NextRandom(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

// Runs one block to completion; returns a fault description, or "" when it ran cleanly.
std::string RunBlock(BlockRun& run, uint64_t seed) {
  State& state = Global();
  const size_t count = run.fibers.size();
  for (size_t i = 0; i < count; ++i) {
    run.fibers[i].sp = InitialStack(state.fiberStacks[i]);
    run.fibers[i].state = FiberState::kReady;
  }
  std::vector<size_t> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = i;
  uint64_t random = seed * 0x9e3779b97f4a7c15ull + 1;
  const size_t warps = (count + 31) / 32;
  while (true) {
    // A fresh order every round, so that a missing barrier shows as wrong values.
    for (size_t i = count; i > 1; --i) std::swap(order[i - 1], order[NextRandom(random) % i]);
    for (size_t index : order) {
      Fiber& fiber = run.fibers[index];
      if (fiber.state != FiberState::kReady) continue;
      currentFiber = &fiber;
      currentThread = &fiber.context;
      superlora_emulator_switch(&run.schedulerSp, fiber.sp);
      if (!run.fault.empty()) return run.fault;
    }
    size_t done = 0, atBarrier = 0, atWarp = 0;
    for (const Fiber& fiber : run.fibers) {
      done += fiber.state == FiberState::kDone;
      atBarrier += fiber.state == FiberState::kAtBarrier;
      atWarp += fiber.state == FiberState::kAtWarp;
    }
    if (done == count) return "";
    bool released = false;
    for (size_t w = 0; w < warps; ++w) {
      const size_t first = w * 32;
      const size_t last = std::min(count, first + 32);
      size_t waiting = 0, exited = 0;
      for (size_t i = first; i < last; ++i) {
        waiting += run.fibers[i].state == FiberState::kAtWarp;
        exited += run.fibers[i].state == FiberState::kDone;
      }
      if (waiting == 0 || waiting + exited < last - first) continue;
      if (exited > 0) {
        return "a full-warp shuffle in warp " + std::to_string(w) + " that " +
               std::to_string(exited) + " of its lanes never reach (they have exited)";
      }
      for (size_t i = first; i < last; ++i) run.fibers[i].state = FiberState::kReady;
      released = true;
    }
    if (released) continue;
    if (atBarrier > 0 && atBarrier + done == count) {
      if (done > 0) {
        return "__syncthreads() reached by " + std::to_string(atBarrier) +
               " threads of the block " + "while " + std::to_string(done) + " have exited";
      }
      for (Fiber& fiber : run.fibers) fiber.state = FiberState::kReady;
      continue;
    }
    return "deadlock: " + std::to_string(atBarrier) + " threads wait in __syncthreads() and " +
           std::to_string(atWarp) + " in warp shuffles whose other lanes are elsewhere";
  }
}

std::string Dim(const dim3& d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

}  // namespace

void SyncThreads() { Yield(FiberState::kAtBarrier); }

void RequireAligned(const void* address, size_t bytes, const char* what) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(address);
  if (at % bytes == 0) return;
  FiberFault(std::string("misaligned address: ") + what + " at an address " +
             std::to_string(at % bytes) + " bytes past a multiple of " + std::to_string(bytes));
}

namespace {

// A full-warp shuffle: every lane stores its bits, then reads those of lane `source(lane, width)`
// of its warp (lanes 0–31).
template <typename Source>
uint64_t ShuffleBits(const char* name, unsigned mask, uint64_t bits, int width, Source source) {
  if (mask != 0xffffffffu) FiberFault(std::string(name) + " with a partial mask (not emulated)");
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0) {
    FiberFault(std::string(name) + " width " + std::to_string(width) +
               " is not a power of two ≤ 32");
  }
  const unsigned linear = currentThread->linear;
  const unsigned lane = linear % 32;
  std::vector<uint64_t>& slots = currentRun->warpSlots;
  slots[linear] = bits;
  Yield(FiberState::kAtWarp);  // every lane has stored its value
  const unsigned from = linear - lane + source(lane, static_cast<unsigned>(width));
  const uint64_t result = from < slots.size() ? slots[from] : bits;
  Yield(FiberState::kAtWarp);  // every lane has read before any stores again
  return result;
}

}  // namespace

// Within each segment of `width` lanes, lane + delta; past the segment's end, the lane itself.
uint64_t ShuffleDownBits(unsigned mask, uint64_t bits, unsigned delta, int width) {
  return ShuffleBits("__shfl_down_sync", mask, bits, width, [&](unsigned lane, unsigned w) {
    return lane % w + delta < w ? lane + delta : lane;
  });
}

// lane ^ laneMask, unless that lies in a later segment of `width` lanes: then the lane itself
// (earlier segments may be read, as the CUDA programming guide describes).
uint64_t ShuffleXorBits(unsigned mask, uint64_t bits, unsigned laneMask, int width) {
  return ShuffleBits("__shfl_xor_sync", mask, bits, width, [&](unsigned lane, unsigned w) {
    const unsigned source = (lane ^ laneMask) % 32;
    return source / w > lane / w ? lane : source;
  });
}

void RunGrid(const char* name, const void* kernel, dim3 grid, dim3 block, size_t sharedBytes,
             cudaStream_t streamHandle, void (*run)(void*), void* closure) {
  State& state = Global();
  std::lock_guard<std::recursive_mutex> guard(state.lock);
  if (state.stickyError != cudaSuccess) {
    state.lastError = state.stickyError;
    return;
  }
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
    std::fprintf(stderr, "superlora CUDA emulator: %s launched with grid %s and block %s\n", name,
                 Dim(grid).c_str(), Dim(block).c_str());
    Fail(cudaErrorInvalidConfiguration);
    return;
  }
  const auto limit = state.dynamicSharedLimit.find(kernel);
  const int allowed =
      limit == state.dynamicSharedLimit.end() ? kDefaultDynamicShared : limit->second;
  if (sharedBytes > static_cast<size_t>(allowed)) {
    std::fprintf(stderr,
                 "superlora CUDA emulator: %s asks for %zu bytes of dynamic shared memory; its "
                 "limit is %d (cudaFuncSetAttribute raises it)\n",
                 name, sharedBytes, allowed);
    Fail(cudaErrorInvalidValue);
    return;
  }
  Stream* stream = Resolve(streamHandle);
  if (stream == nullptr) {
    Fail(cudaErrorInvalidResourceHandle);
    return;
  }
  Pending op;
  op.what = std::string("kernel ") + name;
  op.touchesAll = true;
  if (!Issue(stream, std::move(op))) return;

  InstallSignals();
  EnsureAlternateStack();
  while (state.fiberStacks.size() < threads) {
    Mapping stack;
    if (!MapGuarded(kFiberStackBytes, 16, &stack)) {
      Fail(cudaErrorMemoryAllocation);
      return;
    }
    state.fiberStacks.push_back(stack);
  }
  // The block's shared memory, kept from the last launch when it asked for as much.
  if (state.shared.userBytes != sharedBytes) {
    if (state.shared.base != nullptr) Unmap(state.shared);
    state.shared = Mapping{};
    if (sharedBytes > 0 && !MapGuarded(sharedBytes, 16, &state.shared)) {
      Fail(cudaErrorMemoryAllocation);
      return;
    }
  }

  BlockRun blockRun;
  blockRun.fibers.resize(threads);
  blockRun.warpSlots.assign(threads, 0);
  blockRun.run = run;
  blockRun.closure = closure;
  for (unsigned i = 0; i < threads; ++i) {
    ThreadContext& context = blockRun.fibers[i].context;
    context.linear = i;
    context.threadIdx = {i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
  }
  BlockContext blockContext{};
  blockContext.blockDim = block;
  blockContext.gridDim = grid;
  blockContext.dynamicShared = sharedBytes > 0 ? state.shared.user : nullptr;

  const uint64_t launch = ++state.launches;
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  // Blocks run in a scrambled order (a fixed one per launch): nothing may depend on it. A stride
  // coprime with the block count visits each block once.
  uint64_t stride = blocks / 2 + 1;
  while (std::gcd(stride, blocks) != 1) ++stride;
  std::string fault;
  {
    DeviceAccess access;
    state.kernelName = name;
    currentRun = &blockRun;
    currentBlock = &blockContext;
    for (uint64_t n = 0; n < blocks && fault.empty(); ++n) {
      const auto b =
          static_cast<uint64_t>((static_cast<unsigned __int128>(n) * stride + launch) % blocks);
      blockContext.blockIdx = {static_cast<unsigned>(b % grid.x),
                               static_cast<unsigned>((b / grid.x) % grid.y),
                               static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y))};
      if (sharedBytes > 0) std::memset(state.shared.user, 0xff, sharedBytes);  // NaNs
      fault = RunBlock(blockRun, launch * 1000003 + b);
      if (!fault.empty()) {
        fault = "kernel " + std::string(name) + ", block " +
                Dim({blockContext.blockIdx.x, blockContext.blockIdx.y, blockContext.blockIdx.z}) +
                ": " + fault;
      }
    }
    currentRun = nullptr;
    currentFiber = nullptr;
    currentThread = nullptr;
    currentBlock = nullptr;
    state.kernelName = nullptr;
  }
  if (!fault.empty()) StickyFault(fault);
}

void FuncSetMaxDynamicShared(const void* kernel, int bytes, cudaError_t* status) {
  State& state = Global();
  std::lock_guard<std::recursive_mutex> guard(state.lock);
  if (bytes < 0 || bytes > OptInShared()) {
    *status = Fail(cudaErrorInvalidValue);
    return;
  }
  state.dynamicSharedLimit[kernel] = bytes;
}

}  // namespace superlora_cuda_emulator

using namespace superlora_cuda_emulator;

namespace {

using Guard = std::lock_guard<std::recursive_mutex>;

// The sticky error of a faulted launch, returned by every later call, as on a GPU.
cudaError_t Sticky() { return Global().stickyError; }

bool ValidDevice(int device) { return device == 0; }

// Deletes a stream or event that `live` holds; a handle it does not hold is an error.
template <typename Object, typename Handle>
cudaError_t Destroy(std::set<Object*>& live, Handle handle) {
  Object* object = reinterpret_cast<Object*>(handle);
  if (live.erase(object) == 0) return Fail(cudaErrorInvalidResourceHandle);
  delete object;
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
  if (!ValidDevice(device)) return Fail(cudaErrorInvalidDevice);
  *properties = cudaDeviceProp{};
  std::snprintf(properties->name, sizeof properties->name,
                "superlora CUDA emulator (kernels run on the CPU)");
  properties->totalGlobalMem = TotalMemory();
  properties->sharedMemPerBlock = kDefaultDynamicShared;
  properties->sharedMemPerBlockOptin = static_cast<size_t>(OptInShared());
  properties->major = 9;
  properties->minor = 0;
  properties->multiProcessorCount = 1;
  properties->maxThreadsPerBlock = 1024;
  properties->warpSize = 32;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device) {
  if (!ValidDevice(device)) return Fail(cudaErrorInvalidDevice);
  switch (attribute) {
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = kDefaultDynamicShared;
      return cudaSuccess;
    case cudaDevAttrMultiProcessorCount:
      *value = 1;
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = OptInShared();
      return cudaSuccess;
  }
  return Fail(cudaErrorInvalidValue);
}

cudaError_t cudaDriverGetVersion(int* version) {
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return ValidDevice(device) ? cudaSuccess : Fail(cudaErrorInvalidDevice);
}

cudaError_t cudaDeviceSynchronize() {
  Guard guard(Global().lock);
  if (Sticky() != cudaSuccess) return Sticky();
  CompleteAll();
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** pointer, size_t bytes) {
  State& state = Global();
  Guard guard(state.lock);
  if (Sticky() != cudaSuccess) return Sticky();
  *pointer = nullptr;
  InstallSignals();  // from the first allocation on, a stray access gets its message
  if (bytes > TotalMemory() - state.allocatedBytes) return Fail(cudaErrorMemoryAllocation);
  Mapping mapping;
  if (!MapGuarded(bytes, kDeviceAlignment, &mapping)) return Fail(cudaErrorMemoryAllocation);
  std::memset(mapping.data, 0xff, mapping.dataBytes);  // NaNs: memory nobody wrote
  if (state.deviceAccessDepth == 0) mprotect(mapping.data, mapping.dataBytes, PROT_NONE);
  state.allocations[mapping.user] = mapping;
  state.allocatedBytes += bytes;
  *pointer = mapping.user;
  return cudaSuccess;
}

cudaError_t cudaFree(void* pointer) {
  State& state = Global();
  Guard guard(state.lock);
  if (pointer == nullptr) return cudaSuccess;
  auto it = state.allocations.find(static_cast<const char*>(pointer));
  if (it == state.allocations.end()) {
    std::fprintf(stderr, "superlora CUDA emulator: cudaFree(%p) of no allocation\n", pointer);
    return Fail(cudaErrorInvalidDevicePointer);
  }
  CompleteAll();  // cudaFree waits for the device
  state.allocatedBytes -= it->second.userBytes;
  Unmap(it->second);
  state.allocations.erase(it);
  return Sticky();
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  State& state = Global();
  Guard guard(state.lock);
  *total = TotalMemory();
  *free = TotalMemory() - state.allocatedBytes;
  return Sticky();
}

namespace {

// The stream a copy or fill of `bytes` goes to (*stream stays null when there is nothing to do),
// or the error that stops it.
cudaError_t Start(size_t bytes, cudaStream_t handle, bool synchronous, Stream** stream) {
  if (Sticky() != cudaSuccess) return Sticky();
  if (bytes == 0) return cudaSuccess;
  *stream = synchronous ? &Global().legacy : Resolve(handle);
  return *stream != nullptr ? cudaSuccess : Fail(cudaErrorInvalidResourceHandle);
}

// A copy after checking that each side is where `kind` says; issued on `handle`.
cudaError_t Copy(void* destination, const void* source, size_t bytes, cudaMemcpyKind kind,
                 cudaStream_t handle, bool synchronous) {
  Guard guard(Global().lock);
  Stream* stream = nullptr;
  if (const cudaError_t early = Start(bytes, handle, synchronous, &stream);
      early != cudaSuccess || stream == nullptr)
    return early;
  const bool toDevice = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool fromDevice = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToHost &&
      kind != cudaMemcpyDeviceToDevice) {
    std::fprintf(stderr, "superlora CUDA emulator: cudaMemcpy kind %d is not emulated\n", kind);
    return Fail(cudaErrorInvalidMemcpyDirection);
  }
  const Mapping* to = toDevice ? DeviceRange(destination, bytes) : nullptr;
  const Mapping* from = fromDevice ? DeviceRange(source, bytes) : nullptr;
  const char* problem = nullptr;
  if (toDevice && to == nullptr) problem = "the destination is not inside one device allocation";
  if (!toDevice && OverlapsDevice(destination, bytes)) problem = "the destination is device memory";
  if (fromDevice && from == nullptr) problem = "the source is not inside one device allocation";
  if (!fromDevice && OverlapsDevice(source, bytes)) problem = "the source is device memory";
  if (problem != nullptr) {
    std::fprintf(stderr, "superlora CUDA emulator: cudaMemcpy of %zu bytes (kind %d): %s\n", bytes,
                 kind, problem);
    return Fail(cudaErrorInvalidValue);
  }
  Pending op;
  op.what = std::string(synchronous ? "cudaMemcpy" : "cudaMemcpyAsync") + " of " +
            std::to_string(bytes) + " bytes";
  if (to != nullptr) op.allocations.push_back(to->user);
  if (from != nullptr) op.allocations.push_back(from->user);
  if (!Issue(stream, std::move(op))) return Sticky();
  {
    DeviceAccess access;
    std::memmove(destination, source, bytes);
  }
  // A synchronous copy to the host returns once it (and what the legacy stream waited for) is
  // done; one from pageable host memory may return before it lands.
  if (synchronous && kind != cudaMemcpyHostToDevice) CompleteLegacyAndBlocking();
  return cudaSuccess;
}

cudaError_t Fill(void* destination, int value, size_t bytes, cudaStream_t handle,
                 bool synchronous) {
  Guard guard(Global().lock);
  Stream* stream = nullptr;
  if (const cudaError_t early = Start(bytes, handle, synchronous, &stream);
      early != cudaSuccess || stream == nullptr)
    return early;
  const Mapping* to = DeviceRange(destination, bytes);
  if (to == nullptr) {
    std::fprintf(stderr,
                 "superlora CUDA emulator: cudaMemset of %zu bytes outside one device allocation\n",
                 bytes);
    return Fail(cudaErrorInvalidValue);
  }
  Pending op;
  op.what = "cudaMemset of " + std::to_string(bytes) + " bytes";
  op.allocations.push_back(to->user);
  if (!Issue(stream, std::move(op))) return Sticky();
  DeviceAccess access;
  std::memset(destination, value, bytes);
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaMemcpy(void* destination, const void* source, size_t bytes, cudaMemcpyKind kind) {
  return Copy(destination, source, bytes, kind, nullptr, true);
}

cudaError_t cudaMemcpyAsync(void* destination, const void* source, size_t bytes,
                            cudaMemcpyKind kind, cudaStream_t stream) {
  return Copy(destination, source, bytes, kind, stream, false);
}

cudaError_t cudaMemset(void* destination, int value, size_t bytes) {
  return Fill(destination, value, bytes, nullptr, true);
}

cudaError_t cudaMemsetAsync(void* destination, int value, size_t bytes, cudaStream_t stream) {
  return Fill(destination, value, bytes, stream, false);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* handle, unsigned flags) {
  State& state = Global();
  Guard guard(state.lock);
  if (Sticky() != cudaSuccess) return Sticky();
  auto* stream = new Stream();
  stream->nonBlocking = (flags & cudaStreamNonBlocking) != 0;
  state.streams.insert(stream);
  *handle = reinterpret_cast<cudaStream_t>(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t handle) {
  Guard guard(Global().lock);
  return Destroy(Global().streams, handle);
}

cudaError_t cudaStreamSynchronize(cudaStream_t handle) {
  State& state = Global();
  Guard guard(state.lock);
  if (Sticky() != cudaSuccess) return Sticky();
  Stream* stream = Resolve(handle);
  if (stream == nullptr) return Fail(cudaErrorInvalidResourceHandle);
  if (stream->legacy) {
    CompleteLegacyAndBlocking();  // the legacy stream waited for the blocking streams
  } else {
    Complete(stream);
  }
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* handle) {
  State& state = Global();
  Guard guard(state.lock);
  auto* event = new Event();
  state.events.insert(event);
  *handle = reinterpret_cast<cudaEvent_t>(event);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t handle) {
  Guard guard(Global().lock);
  return Destroy(Global().events, handle);
}

cudaError_t cudaEventRecord(cudaEvent_t handle, cudaStream_t streamHandle) {
  State& state = Global();
  Guard guard(state.lock);
  if (Sticky() != cudaSuccess) return Sticky();
  Event* event = reinterpret_cast<Event*>(handle);
  Stream* stream = Resolve(streamHandle);
  if (state.events.count(event) == 0 || stream == nullptr) {
    return Fail(cudaErrorInvalidResourceHandle);
  }
  event->stream = stream;
  event->mark = stream->pending.size();
  event->time = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t handle) {
  State& state = Global();
  Guard guard(state.lock);
  if (Sticky() != cudaSuccess) return Sticky();
  Event* event = reinterpret_cast<Event*>(handle);
  if (state.events.count(event) == 0) return Fail(cudaErrorInvalidResourceHandle);
  if (event->recorded && state.streams.count(event->stream) + (event->stream == &state.legacy)) {
    Stream* stream = event->stream;
    stream->retired = std::max(stream->retired, std::min(event->mark, stream->pending.size()));
  }
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* milliseconds, cudaEvent_t start, cudaEvent_t stop) {
  State& state = Global();
  Guard guard(state.lock);
  Event* a = reinterpret_cast<Event*>(start);
  Event* b = reinterpret_cast<Event*>(stop);
  if (state.events.count(a) == 0 || state.events.count(b) == 0) {
    return Fail(cudaErrorInvalidResourceHandle);
  }
  if (!a->recorded || !b->recorded) return Fail(cudaErrorInvalidResourceHandle);
  // At least a nanosecond: a bandwidth computed from it stays finite.
  const double seconds = std::max(1e-9, std::chrono::duration<double>(b->time - a->time).count());
  *milliseconds = static_cast<float>(seconds * 1e3);
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  State& state = Global();
  Guard guard(state.lock);
  const cudaError_t error = state.lastError;
  state.lastError = state.stickyError;
  return error;
}

cudaError_t cudaPeekAtLastError() {
  State& state = Global();
  Guard guard(state.lock);
  return state.lastError;
}

namespace {

struct ErrorText {
  cudaError_t error;
  const char* name;
  const char* text;
};

constexpr ErrorText kErrors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection",
     "invalid copy direction for memcpy"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
};

const ErrorText* Find(cudaError_t error) {
  for (const ErrorText& entry : kErrors) {
    if (entry.error == error) return &entry;
  }
  return nullptr;
}

}  // namespace

const char* cudaGetErrorString(cudaError_t error) {
  // A launch failure says which kernel broke which rule.
  if (error == cudaErrorLaunchFailure && !Global().stickyDetail.empty()) {
    return Global().stickyDetail.c_str();
  }
  const ErrorText* entry = Find(error);
  return entry != nullptr ? entry->text : "unknown error";
}

const char* cudaGetErrorName(cudaError_t error) {
  const ErrorText* entry = Find(error);
  return entry != nullptr ? entry->name : "cudaErrorUnknown";
}
