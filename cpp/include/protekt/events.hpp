// The event catalogue and what emit() builds from an event.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protekt/ids.hpp"

namespace protekt {

// The product guide's six authentication events.
inline constexpr std::array<std::string_view, 6> kAuthEvents = {
    "user.login.succeeded", "user.login.failed", "user.password_reset.requested",
    "user.mfa.completed",   "user.registered",   "user.session.ended",
};

// Events the engine sends itself.
inline constexpr std::array<std::string_view, 4> kEngineEvents = {
    "webhook.verification",
    "webhook.test",
    "webhook.delivery.failed",
    "webhook.endpoint.disabled",
};

bool is_known_event(std::string_view type);
bool is_engine_event(std::string_view type);

// Every catalogue name, comma-separated, for error messages.
std::string catalogue_list();

// One top-level member of an event's data, already encoded as JSON.
struct data_member {
  std::string key;
  std::string json;
};

// The data of one event as emitted: its top-level members in order. Shaping an
// endpoint's body selects members by name, so the data is never parsed again.
struct event_data {
  std::vector<data_member> members;

  std::size_t encoded_size() const;
};

// Which metadata bit (protekt::metadata) a top-level data member belongs to; 0 for
// members every endpoint receives.
unsigned metadata_of(std::string_view key);

}  // namespace protekt
