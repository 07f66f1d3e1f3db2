// Settings of the dispatcher: the part of the engine that sends due deliveries.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "protekt/notify.hpp"
#include "protekt/ssrf.hpp"

namespace protekt {

struct dispatcher_options {
  std::size_t threads = 0;               // I/O threads; 0 for one per core
  std::size_t endpoint_concurrency = 8;  // requests in flight to one endpoint
  std::size_t max_in_flight = 1024;      // requests in flight in all
  std::chrono::milliseconds lease{std::chrono::minutes(5)};
  std::chrono::milliseconds idle_wait{1000};  // longest sleep with nothing due
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds paused_recheck{30000};  // paused endpoints' deliveries
  std::chrono::milliseconds stop_grace{10000};      // for in-flight requests at stop
  std::vector<network> allowed_networks;  // beyond global addresses (SSRF guard)
  std::string ca_file;                    // empty: the system's trust store
  notification_options notifications;     // the engine's, when started by one
};

}  // namespace protekt
