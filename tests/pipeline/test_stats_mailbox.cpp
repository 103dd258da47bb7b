// StatsMailbox under two threads, built with ThreadSanitizer: a worker that
// counts and answers, the main lcore that asks and reads. Every answer must
// be one consistent copy (the counters move together) and never older than
// the last; TSan reports any access to the copy that the mailbox's
// release/acquire pairs do not order. Plain main(): exit status 0 or 1
// (TSan exits with 66 on a report).
#include <cstdio>
#include <thread>

#include "../../src/pipeline/run_stats.hpp"

int main() {
  using flowscore::StatsMailbox;
  using flowscore::WorkerStats;
  constexpr int kQuestions = 20000;
  StatsMailbox mailbox;
  std::atomic<bool> done{false};

  std::thread worker([&] {
    WorkerStats own;  // the worker's counters: only this thread touches them
    while (!done.load(std::memory_order_relaxed)) {
      ++own.packets.packets;
      own.packets.bursts = 2 * own.packets.packets;  // moves with packets
      own.flows.flows_created = own.packets.packets;
      if (mailbox.asked()) mailbox.reply(own);
    }
  });

  uint64_t previous = 0;
  int failures = 0;
  for (int q = 0; q < kQuestions && failures < 5; ++q) {
    mailbox.ask();
    while (mailbox.open()) std::this_thread::yield();
    const WorkerStats& a = mailbox.answer();
    if (a.packets.bursts != 2 * a.packets.packets || a.flows.flows_created != a.packets.packets ||
        a.packets.packets < previous) {
      std::fprintf(stderr, "answer %d torn or stale: packets %llu bursts %llu flows %llu (previous %llu)\n", q,
                   (unsigned long long)a.packets.packets, (unsigned long long)a.packets.bursts,
                   (unsigned long long)a.flows.flows_created, (unsigned long long)previous);
      ++failures;
    }
    previous = a.packets.packets;
  }
  done.store(true);
  worker.join();
  std::printf("%d answers, %d bad\n", kQuestions, failures);
  return failures ? 1 : 0;
}
