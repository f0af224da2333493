// Stands in for the worker in local_serving's OOM test: takes memory 1 MiB
// at a time (touching every page) until the kernel OOM-kills it at its
// pod's memory limit. It ignores the worker's flags. After 1 GiB without a
// kill it exits 1, so that a limit that is not enforced fails the test
// (the restart's reason is then Error) instead of filling the machine.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main() {
  constexpr size_t kBlock = 1 << 20;
  std::vector<char*> blocks;
  for (int i = 0; i < 1024; ++i) {
    char* block = static_cast<char*>(std::malloc(kBlock));
    if (block == nullptr) break;
    std::memset(block, 1, kBlock);
    blocks.push_back(block);
    usleep(1000);  // a few ms per MiB: the kill comes while it grows
  }
  std::fprintf(stderr, "memory_hog: not killed after %zu MiB\n", blocks.size());
  return 1;
}
