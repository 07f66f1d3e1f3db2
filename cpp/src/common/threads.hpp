// Set-up shared by the engine's own threads.
#pragma once

#include <string_view>

namespace protekt::detail {

// Names the calling thread, so that top -H, perf and /proc/<pid>/task tell the
// engine's threads apart. Linux keeps the first 15 characters.
void name_this_thread(std::string_view name);

// Marks the calling thread as throughput work (Linux SCHED_BATCH, same nice value):
// when a thread that waits for a socket wakes up, the kernel lets it run before this
// one. For the threads that commit in batches (the dispatcher's lease and outcome
// writers), so that they do not hold a core while an I/O thread or the receiver's
// server waits for it. Returns false where the kernel refuses; nothing else changes.
bool mark_this_thread_batch();

}  // namespace protekt::detail
