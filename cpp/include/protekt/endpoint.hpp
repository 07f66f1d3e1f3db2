// An endpoint: where events go, which of them, in what shape, how it authenticates
// and what happens when it fails. The JSON form written by to_json() is both the
// stored record and what the Python package reads (docs/storage.md, "endpoints").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protekt/ids.hpp"

namespace protekt {

enum class endpoint_status { created, verified, active, paused, disabled };

std::string_view to_string(endpoint_status status);

// Metadata an endpoint may ask for, as bits; what it does not ask for is not sent.
enum metadata : unsigned {
  metadata_user = 1,      // data.user: id, email, name
  metadata_ip = 2,        // data.ip
  metadata_device = 4,    // data.device (browser, os) and data.user_agent
  metadata_location = 8,  // data.location
};
inline constexpr unsigned kAllMetadata = 15;

enum class payload_format { json, form };

struct payload_config {
  payload_format format = payload_format::json;
  unsigned include = metadata_user;  // bits of metadata

  bool operator==(const payload_config&) const = default;
};

enum class backoff_kind { fixed, exponential };

struct retry_policy {
  int max_attempts = 3;  // retries after the first attempt: 3 means 4 in all
  std::chrono::seconds interval{60};
  backoff_kind backoff = backoff_kind::fixed;
  std::chrono::seconds max_interval{3600};  // cap for exponential backoff
  bool jitter = true;                       // exponential backoff only
};

// A secret the endpoint is signed with; a rotated-out one has an expiry.
struct endpoint_secret {
  std::string secret;                      // "whsec_..."
  std::optional<std::int64_t> expires_ms;  // none for the current secret
};

struct shared_secret_auth {
  std::vector<endpoint_secret> secrets;  // current first
};

struct api_token_auth {
  std::string header;  // lower-case
  std::string value;
};

using endpoint_auth = std::variant<shared_secret_auth, api_token_auth>;

enum class notification_kind { none, email, webhook };

struct failure_notification {
  notification_kind kind = notification_kind::none;
  std::string target;  // an email address or an https URL
};

// The last Verify endpoint: when, what the endpoint answered, what went wrong.
struct verification_result {
  std::int64_t at_ms = 0;   // 0: never verified
  std::int32_t status = 0;  // HTTP status; 0 when no response came
  std::string error;        // empty when it answered 200
  std::int32_t duration_ms = 0;

  bool passed() const { return status == 200; }
};

struct endpoint {
  id128 id;
  std::string url;
  std::string description;
  endpoint_auth auth;
  std::vector<std::string> events;  // sorted, unique
  payload_config payload;
  retry_policy retry;
  bool dead_letter_queue = false;
  failure_notification notification;
  std::chrono::milliseconds timeout{15000};
  std::string ca_bundle;  // PEM certificates to trust for it; empty: the engine's
  endpoint_status status = endpoint_status::created;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::int64_t activated_ms = 0;  // last saved or resumed
  verification_result verification;

  bool subscribed_to(std::string_view event_type) const;
  bool receives(std::string_view event_type) const {
    return status == endpoint_status::active && subscribed_to(event_type);
  }
};

// What validation may depend on beyond the endpoint itself.
struct validation_rules {
  bool allow_http = false;  // development only: plain http:// URLs
};

// Checks every field; THROWS validation_error naming the first bad one ("url",
// "events", "retry.max_attempts", ...).
void validate(const endpoint& e, const validation_rules& rules);

// Checks a webhook URL alone (also used for failure notification URLs).
// THROWS validation_error with the given field name.
void validate_url(std::string_view url, const validation_rules& rules,
                  const std::string& field);

void to_json(nlohmann::json& j, const endpoint& e);

// Reads the JSON form, applying the guide's defaults to absent fields.
// THROWS validation_error for a field of the wrong type or value.
endpoint endpoint_from_json(const nlohmann::json& j);

}  // namespace protekt
