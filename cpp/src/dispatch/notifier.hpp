// Failure notifications (docs/notifications.md). The dispatcher adds to an endpoint's
// notice, in the transaction that records the failure; the notifier sends what
// notices hold, over the endpoint's channel, and takes it out once sent.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "dispatch/http_client.hpp"
#include "protekt/endpoint.hpp"
#include "protekt/ids.hpp"
#include "protekt/notify.hpp"
#include "protekt/store.hpp"

namespace protekt::dispatch {

// A delivery that failed for good.
struct failure_report {
  id128 event;
  std::string event_type;
  std::uint16_t attempts = 0;
  std::int32_t status = 0;  // of the last attempt; 0 when no response came
  std::string error_class;
  std::string error;
  bool dead_lettered = false;
  std::int64_t at_ms = 0;
};

// A notice with one more failure in it. Failures that arrive within
// options.interval of the last notification wait for the next one.
std::string add_failure(const std::optional<std::string>& notice,
                        const failure_report& report, std::int64_t now_ms,
                        const notification_options& options);
// A notice that also says the endpoint was disabled, and why.
std::string add_disabled(const std::optional<std::string>& notice,
                         const std::string& reason, std::int64_t now_ms);

// Whether a notice holds something to send.
bool has_news(const std::string& notice);

class notifier {
 public:
  // Starts the sending thread.
  notifier(store& s, notification_options options, client_options client);
  ~notifier();
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;

  // A notice changed: look now.
  void wake();
  // Ends the sending thread; what is unsent stays stored for the next notifier.
  void stop();

 private:
  void run();
  // Sends what one endpoint's notice holds and stores the outcome.
  void send(const id128& endpoint, const std::string& notice, std::int64_t now_ms);

  store& store_;
  const notification_options options_;
  const client_options client_;
  id_generator ids_;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool woken_ = false;     // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace protekt::dispatch
