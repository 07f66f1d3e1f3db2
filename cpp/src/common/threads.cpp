#include "common/threads.hpp"

#include <pthread.h>
#include <sched.h>

#include <string>

namespace protekt::detail {

void name_this_thread(std::string_view name) {
  const std::string kept(name.substr(0, 15));
  pthread_setname_np(pthread_self(), kept.c_str());
}

void mark_this_thread_batch() {
#ifdef SCHED_BATCH
  const sched_param param{};
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
#endif
}

}  // namespace protekt::detail
