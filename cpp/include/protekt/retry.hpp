// When a failed delivery is tried again: the endpoint's retry policy, and the
// receiver's own Retry-After when it answers 429 or 503.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "protekt/endpoint.hpp"

namespace protekt {

// Retry-After values are kept within this range, whatever the receiver asks.
inline constexpr std::chrono::seconds kMinRetryAfter{1};
inline constexpr std::chrono::seconds kMaxRetryAfter{24 * 3600};

// Whether another attempt follows once `attempts` attempts have failed: the first
// attempt plus max_attempts retries.
bool retries_left(const retry_policy& policy, int attempts);

// The wait before the next attempt after `attempts` (>= 1) failed ones. Fixed: the
// interval. Exponential: interval * 2^(attempts - 1), capped at max_interval; with
// jitter, a uniformly random point in the upper half of that wait, drawn from
// unit_random in [0, 1).
std::chrono::milliseconds retry_delay(const retry_policy& policy, int attempts,
                                      double unit_random);

// A Retry-After header (delay-seconds or an HTTP-date) as a wait from now_ms, clamped
// to [kMinRetryAfter, kMaxRetryAfter]; nullopt when it is neither form.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_ms);

}  // namespace protekt
