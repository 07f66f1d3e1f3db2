// Byte layouts of keys and records in the LMDB databases; docs/storage.md describes
// each. Integers are big-endian everywhere, so that keys sort by their numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protekt/ids.hpp"
#include "protekt/store.hpp"

namespace protekt::storage {

inline void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(v >> shift & 0xff));
  }
}

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(v >> shift & 0xff));
  }
}

inline void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

// Reads big-endian integers from the front of a record.
class reader {
 public:
  explicit reader(std::string_view bytes) : bytes_(bytes) {}

  std::uint64_t u64() { return take(8); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(take(4)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(take(2)); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)); }
  id128 id() {
    const id128 value = id128::from_raw(bytes_.substr(0, 16));
    bytes_.remove_prefix(16);
    return value;
  }
  std::string_view rest() const { return bytes_; }
  std::string_view bytes(std::size_t n) {
    const std::string_view part = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return part;
  }

 private:
  // THROWS storage_error when the record is shorter than its layout.
  std::uint64_t take(std::size_t n);

  std::string_view bytes_;
};

// deliveries: event id + endpoint id
std::string delivery_key(const id128& event, const id128& endpoint);
// due: due time + delivery key
std::string due_key(std::int64_t due_ms, const id128& event, const id128& endpoint);
// The same entry in the per-endpoint index: endpoint id, due time, event id.
std::string endpoint_due_key(const id128& endpoint, std::int64_t due_ms,
                             const id128& event);
// completed: completion time + event id
std::string time_key(std::int64_t ms, std::string_view suffix);
// dead_letters: endpoint id + time dead-lettered + event id
std::string dead_letter_key(const delivery& d);
// bodies: event id + shape
std::string body_key(const id128& event, std::uint8_t shape);

std::string encode_delivery(const delivery& d);
delivery decode_delivery(std::string_view key, std::string_view value);

// attempts: delivery key + attempt number
std::string attempt_key(const id128& event, const id128& endpoint, std::uint16_t n);
std::string encode_attempt(const attempt& a);
attempt decode_attempt(std::string_view key, std::string_view value);

// Whether a delivery in this status is finished.
bool is_finished(delivery_status status);

// events: version, type, created time, envelope. Versions 1 and 2 also held the
// count of unfinished deliveries (and 2 the finished time), which decode_event
// still reads; they now live in event_counts.
std::string encode_event(const stored_event& e);
stored_event decode_event(std::string_view key, std::string_view value);

// event_counts: an event's unfinished deliveries and when the last one finished
// (0 while one is pending), kept apart from the event so that counting an outcome
// rewrites 12 bytes, not the envelope's page.
struct event_counts {
  std::uint32_t pending = 0;
  std::int64_t finished_ms = 0;
};
std::string encode_event_counts(const event_counts& c);
// THROWS storage_error for a value that is not 12 bytes.
event_counts decode_event_counts(std::string_view value);
// Only the type of an event record, without copying its envelope.
std::string_view decode_event_type(std::string_view value);

// endpoint_log: endpoint id + event id
std::string log_key(const id128& endpoint, const id128& event);
// The smallest id made at ms: ids start with their creation time (protekt/ids.hpp).
std::string id_floor(std::int64_t ms);

// counters: see docs/storage.md
std::string encode_counters(const endpoint_counters& c);
endpoint_counters decode_counters(std::string_view value);

}  // namespace protekt::storage
