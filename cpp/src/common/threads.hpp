// Set-up shared by the engine's own threads.
#pragma once

#include <string_view>

namespace protekt::detail {

// Names the calling thread, so that top -H, perf and /proc/<pid>/task tell the
// engine's threads apart. Linux keeps the first 15 characters.
void name_this_thread(std::string_view name);

// Marks the calling thread as background throughput work (Linux SCHED_BATCH, same
// nice value): the kernel takes it to be CPU-bound, and it does not preempt the
// running thread when it wakes. For the dispatcher's threads: the host
// application's threads (and a local receiver woken by a request) go first, and the
// dispatcher's own threads do not preempt one another for every socket event.
// Where the kernel refuses, the thread stays as it was.
void mark_this_thread_batch();

}  // namespace protekt::detail
