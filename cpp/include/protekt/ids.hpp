// Identifiers of events, endpoints and deliveries: 128 bits that sort by creation time
// (docs/storage.md). The first 48 bits are milliseconds since the Unix epoch, big
// endian; the other 80 are random, and increase by one for each further id made by the
// same generator in the same millisecond, so ids from one process sort in the order
// they were made. In text they are a prefix ("evt_", "ep_") and 26 Crockford base32
// characters.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace protekt {

inline constexpr std::string_view kEventPrefix = "evt_";
inline constexpr std::string_view kEndpointPrefix = "ep_";

struct id128 {
  std::array<unsigned char, 16> bytes{};

  // The 16 raw bytes, as stored in keys.
  std::string_view raw() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  std::int64_t timestamp_ms() const noexcept;
  std::string to_string(std::string_view prefix) const;

  // nullopt unless text is prefix followed by 26 valid base32 characters.
  static std::optional<id128> parse(std::string_view text, std::string_view prefix);
  // REQUIRES: raw.size() == 16.
  static id128 from_raw(std::string_view raw) noexcept;

  auto operator<=>(const id128&) const = default;
};

// Makes ids. Thread-safe.
class id_generator {
 public:
  id128 next(std::int64_t now_ms);

 private:
  std::mutex mutex_;
  std::int64_t last_ms_ = -1;  // guarded by mutex_
  id128 last_;                 // guarded by mutex_
};

// Milliseconds since the Unix epoch on the system clock.
std::int64_t unix_now_ms();

}  // namespace protekt
