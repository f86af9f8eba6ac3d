// limit_malloc_arenas: however many threads allocate at once, glibc keeps to two arenas. Arenas are never
// freed, so the check runs in a fresh copy of this binary (the other tests' threads have made arenas
// already), which counts the heaps malloc_info reports while eight threads each hold an allocation.
#include "common/runtime.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>

#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

extern char** environ;

namespace kd {
namespace {

constexpr const char* kChildMode = "KD_TEST_ARENA_CHILD";  // "limited" or "default": which process to be

int heaps_in_use() {
  char* text = nullptr;
  std::size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  malloc_info(0, out);
  std::fclose(out);
  int heaps = 0;
  for (const char* at = text; (at = std::strstr(at, "<heap nr=")) != nullptr; ++at) ++heaps;
  std::free(text);
  return heaps;
}

// The fresh copy's part: eight threads allocate at once, then the heaps are counted into a file.
TEST(MallocArenas, CountedInAFreshProcess) {
  const char* mode = std::getenv(kChildMode);
  if (mode == nullptr) GTEST_SKIP() << "run by MallocArenas.AtMostTwoWhateverTheThreads";
  if (std::string(mode) == "limited") limit_malloc_arenas();
  constexpr int kThreads = 8;
  std::barrier all_allocated(kThreads + 1);
  std::barrier counted(kThreads + 1);
  std::vector<void*> blocks(kThreads);  // kept where the compiler sees them used, or it drops the mallocs
  std::vector<std::jthread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      blocks[i] = std::malloc(4096);
      all_allocated.arrive_and_wait();
      counted.arrive_and_wait();
      std::free(blocks[i]);
    });
  }
  all_allocated.arrive_and_wait();
  const int heaps = heaps_in_use();
  counted.arrive_and_wait();
  std::ofstream(std::getenv("KD_TEST_ARENA_OUT")) << heaps;
}

int heaps_in_fresh_process(const std::string& mode, const std::filesystem::path& out) {
  const std::string filter = "--gtest_filter=MallocArenas.CountedInAFreshProcess";
  char* argv[] = {const_cast<char*>("/proc/self/exe"), const_cast<char*>(filter.c_str()), nullptr};
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "MALLOC_ARENA_MAX=", 17) != 0) env_text.emplace_back(*e);
  }
  env_text.push_back(std::string(kChildMode) + "=" + mode);
  env_text.push_back("KD_TEST_ARENA_OUT=" + out.string());
  std::vector<char*> env;
  for (auto& e : env_text) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, env.data()) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  int heaps = -1;
  std::ifstream(out) >> heaps;
  return heaps;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kOwnAllocator = true;  // AddressSanitizer's allocator: glibc's arenas are not in use
#elif defined(__has_feature)
constexpr bool kOwnAllocator = __has_feature(address_sanitizer);
#else
constexpr bool kOwnAllocator = false;
#endif

TEST(MallocArenas, AtMostTwoWhateverTheThreads) {
  if (std::getenv(kChildMode) != nullptr) GTEST_SKIP();
  if (kOwnAllocator) GTEST_SKIP() << "built with AddressSanitizer, whose allocator has no glibc arenas";
  testing_support::TempDir dir;
  const int limited = heaps_in_fresh_process("limited", dir.path() / "limited");
  const int unlimited = heaps_in_fresh_process("default", dir.path() / "default");
  EXPECT_GE(limited, 1);
  EXPECT_LE(limited, 2);
  // Without the limit the same threads take more: the count can tell the difference.
  EXPECT_GT(unlimited, 2);
}

}  // namespace
}  // namespace kd
