// C++ threads on the process VM: std::thread, std::mutex, std::condition_variable,
// std::async and futures, std::atomic, thread_local objects with constructors
// and destructors, and an exception carried across threads by a future.
// Only interleaving-independent results are printed.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static std::atomic<int> constructed{0}, destroyed{0};

struct PerThread {
  std::string label;
  PerThread() : label("fresh") { constructed++; }
  ~PerThread() { destroyed++; }
};
static thread_local PerThread local;

static long work(int k) {
  local.label = "worker " + std::to_string(k);
  long s = 0;
  for (int i = 0; i < 20000; i++) s += (i ^ k) % 7;
  return local.label == "worker " + std::to_string(k) ? s : -1;
}

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<std::thread> pool;
  std::mutex m;
  long total = 0;
  for (int k = 0; k < 6; k++) {
    pool.emplace_back([k, &m, &total] {
      long s = work(k);
      std::lock_guard<std::mutex> g(m);
      total += s;
    });
  }
  for (auto &t : pool) t.join();
  long expect = 0;
  for (int k = 0; k < 6; k++) for (int i = 0; i < 20000; i++) expect += (i ^ k) % 7;
  std::printf("std::thread x6 under a std::mutex: total %ld (%s)\n", total, total == expect ? "ok" : "FAILED");

  std::vector<std::future<long>> futures;
  for (int k = 0; k < 4; k++) futures.push_back(std::async(std::launch::async, work, k + 10));
  long fsum = 0;
  for (auto &f : futures) fsum += f.get();
  std::printf("std::async x4: sum %ld\n", fsum);

  std::future<int> failing = std::async(std::launch::async, []() -> int { throw std::runtime_error("thrown in a thread"); });
  try {
    failing.get();
    std::printf("no exception: FAILED\n");
  } catch (const std::exception &e) {
    std::printf("future.get() rethrew: %s\n", e.what());
  }

  std::condition_variable cv;
  int stage = 0;
  std::thread pinger([&] {
    for (int i = 0; i < 100; i++) {
      std::unique_lock<std::mutex> l(m);
      cv.wait(l, [&] { return stage % 2 == 0; });
      stage++;
      cv.notify_all();
    }
  });
  for (int i = 0; i < 100; i++) {
    std::unique_lock<std::mutex> l(m);
    cv.wait(l, [&] { return stage % 2 == 1; });
    stage++;
    cv.notify_all();
  }
  pinger.join();
  std::printf("ping-pong on a condition variable: %d steps\n", stage);

  std::atomic<long> hits{0};
  std::vector<std::thread> racers;
  for (int k = 0; k < 4; k++) racers.emplace_back([&] { for (int i = 0; i < 5000; i++) hits.fetch_add(1, std::memory_order_relaxed); });
  for (auto &t : racers) t.join();
  std::printf("std::atomic fetch_add from 4 threads: %ld\n", hits.load());
  std::printf("thread_local objects: %d constructed, %d destroyed before main's own\n", constructed.load(), destroyed.load());
  std::printf("hardware_concurrency: %s\n", std::thread::hardware_concurrency() >= 1 ? "at least 1" : "0");
  return 0;
}
