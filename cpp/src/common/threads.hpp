// Set-up shared by the engine's own threads.
#pragma once

#include <string_view>

namespace protekt::detail {

// Names the calling thread, so that top -H, perf and /proc/<pid>/task tell the
// engine's threads apart. Linux keeps the first 15 characters.
void name_this_thread(std::string_view name);

// Marks the calling thread as throughput work (Linux SCHED_BATCH, same nice value):
// the kernel takes it to be CPU-bound and mildly disfavours it when other threads
// wake, so an I/O thread or a local receiver woken by a socket tends to run first.
// For the threads that commit in batches (the dispatcher's lease and outcome
// writers). Returns false where the kernel refuses; nothing else changes.
bool mark_this_thread_batch();

}  // namespace protekt::detail
