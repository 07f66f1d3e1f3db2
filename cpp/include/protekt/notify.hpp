// Failure notifications: how an endpoint's owner hears that deliveries failed for
// good or that the endpoint was disabled. Each endpoint names its channel (an email
// address or an https URL, protekt::failure_notification); the engine's options hold
// what the channels need, such as the SMTP relay.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace protekt {

enum class smtp_security {
  starttls,  // plain connection upgraded with STARTTLS, which must succeed (port 587)
  tls,       // TLS from the first byte (port 465)
  none,      // no encryption: a relay on the same host only
};

struct smtp_relay {
  std::string host;  // empty: no relay, email notifications cannot be sent
  std::uint16_t port = 587;
  smtp_security security = smtp_security::starttls;
  std::string username;  // empty: no authentication
  std::string password;
  std::string sender = "protekt@localhost";  // the From address
  std::string ca_file;                       // empty: the system's trust store
  std::chrono::milliseconds timeout{30000};

  bool configured() const { return !host.empty(); }
};

struct notification_options {
  smtp_relay smtp;
  // An endpoint whose every attempt failed for this long is disabled; 0: never.
  std::chrono::milliseconds disable_after{std::chrono::hours(24 * 5)};
  // Failures within this time of a notification wait and go out together in the
  // next one, so a dead endpoint does not flood its owner.
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  int max_tries = 8;  // sends of one notification before it is given up
};

}  // namespace protekt
