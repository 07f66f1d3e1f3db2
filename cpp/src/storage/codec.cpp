#include "storage/codec.hpp"

#include <algorithm>
#include <cerrno>

#include "protekt/error.hpp"

namespace protekt::storage {
namespace {

constexpr std::uint8_t kDeliveryVersion = 1;
// 1 held the pending count, 2 also the finished time; both are in event_counts now.
constexpr std::uint8_t kEventVersion = 3;
constexpr std::size_t kEventCountsSize = 12;

}  // namespace

std::uint64_t reader::take(std::size_t n) {
  if (bytes_.size() < n) {
    throw storage_error(EINVAL,
                        "a stored record is shorter than its layout: the data "
                        "file is damaged or from a newer version of protekt");
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v = v << 8 | static_cast<unsigned char>(bytes_[i]);
  bytes_.remove_prefix(n);
  return v;
}

std::string delivery_key(const id128& event, const id128& endpoint) {
  std::string key(event.raw());
  key.append(endpoint.raw());
  return key;
}

std::string due_key(std::int64_t due_ms, const id128& event, const id128& endpoint) {
  std::string key;
  key.reserve(40);
  put_u64(key, static_cast<std::uint64_t>(due_ms));
  key.append(event.raw());
  key.append(endpoint.raw());
  return key;
}

std::string endpoint_due_key(const id128& endpoint, std::int64_t due_ms,
                             const id128& event) {
  std::string key;
  key.reserve(40);
  key.append(endpoint.raw());
  put_u64(key, static_cast<std::uint64_t>(due_ms));
  key.append(event.raw());
  return key;
}

std::string time_key(std::int64_t ms, std::string_view suffix) {
  std::string key;
  key.reserve(8 + suffix.size());
  put_u64(key, static_cast<std::uint64_t>(ms));
  key.append(suffix);
  return key;
}

std::string dead_letter_key(const delivery& d) {
  std::string key(d.endpoint.raw());
  key.reserve(40);
  put_u64(key, static_cast<std::uint64_t>(d.completed_ms));
  key.append(d.event.raw());
  return key;
}

std::string body_key(const id128& event, std::uint8_t shape) {
  std::string key(event.raw());
  key.push_back(static_cast<char>(shape));
  return key;
}

std::string encode_delivery(const delivery& d) {
  std::string out;
  out.reserve(44);
  out.push_back(static_cast<char>(kDeliveryVersion));
  out.push_back(static_cast<char>(d.status));
  out.push_back(static_cast<char>(d.shape));
  out.push_back(0);
  put_u16(out, d.attempts);
  put_u16(out, d.retry_base);
  put_u64(out, static_cast<std::uint64_t>(d.created_ms));
  put_u64(out, static_cast<std::uint64_t>(d.due_ms));
  put_u64(out, static_cast<std::uint64_t>(d.lease_until_ms));
  put_u64(out, static_cast<std::uint64_t>(d.completed_ms));
  put_u32(out, static_cast<std::uint32_t>(d.last_status));
  return out;
}

delivery decode_delivery(std::string_view key, std::string_view value) {
  reader k(key);
  reader v(value);
  delivery d;
  d.event = k.id();
  d.endpoint = k.id();
  v.u8();  // version
  d.status = static_cast<delivery_status>(v.u8());
  d.shape = v.u8();
  v.u8();
  d.attempts = v.u16();
  d.retry_base = v.u16();
  d.created_ms = static_cast<std::int64_t>(v.u64());
  d.due_ms = static_cast<std::int64_t>(v.u64());
  d.lease_until_ms = static_cast<std::int64_t>(v.u64());
  d.completed_ms = static_cast<std::int64_t>(v.u64());
  d.last_status = static_cast<std::int32_t>(v.u32());
  return d;
}

std::string attempt_key(const id128& event, const id128& endpoint, std::uint16_t n) {
  std::string key = delivery_key(event, endpoint);
  put_u16(key, n);
  return key;
}

std::string encode_attempt(const attempt& a) {
  const std::string_view error_class = std::string_view(a.error_class).substr(0, 255);
  const std::string_view error = std::string_view(a.error).substr(0, 65535);
  const std::string_view excerpt =
      std::string_view(a.response_excerpt).substr(0, kMaxExcerpt);
  std::string out;
  out.reserve(20 + error_class.size() + error.size() + excerpt.size());
  put_u64(out, static_cast<std::uint64_t>(a.started_ms));
  put_u32(out, static_cast<std::uint32_t>(a.duration_ms));
  put_u32(out, static_cast<std::uint32_t>(a.status));
  out.push_back(static_cast<char>(error_class.size()));
  out.append(error_class);
  put_u16(out, static_cast<std::uint16_t>(error.size()));
  out.append(error);
  out.append(excerpt);
  return out;
}

attempt decode_attempt(std::string_view key, std::string_view value) {
  reader k(key);
  k.id();
  k.id();
  reader v(value);
  attempt a;
  a.number = k.u16();
  a.started_ms = static_cast<std::int64_t>(v.u64());
  a.duration_ms = static_cast<std::int32_t>(v.u32());
  a.status = static_cast<std::int32_t>(v.u32());
  a.error_class = v.bytes(v.u8());
  a.error = v.bytes(v.u16());
  a.response_excerpt = v.rest();
  return a;
}

bool is_finished(delivery_status status) {
  return status != delivery_status::pending && status != delivery_status::in_flight;
}

std::string encode_event(const stored_event& e) {
  std::string out;
  out.reserve(24 + e.type.size() + e.envelope.size());
  out.push_back(static_cast<char>(kEventVersion));
  out.push_back(static_cast<char>(e.type.size()));
  out.append(e.type);
  put_u64(out, static_cast<std::uint64_t>(e.created_ms));
  out.append(e.envelope);
  return out;
}

stored_event decode_event(std::string_view key, std::string_view value) {
  reader k(key);
  reader v(value);
  stored_event e;
  e.id = k.id();
  const std::uint8_t version = v.u8();
  e.type = v.bytes(v.u8());
  e.created_ms = static_cast<std::int64_t>(v.u64());
  if (version < 3) e.pending = v.u32();
  if (version == 2) e.finished_ms = static_cast<std::int64_t>(v.u64());
  e.envelope = v.rest();
  return e;
}

std::string encode_event_counts(const event_counts& c) {
  std::string out;
  out.reserve(kEventCountsSize);
  put_u32(out, c.pending);
  put_u64(out, static_cast<std::uint64_t>(c.finished_ms));
  return out;
}

event_counts decode_event_counts(std::string_view value) {
  reader v(value);
  event_counts c;
  c.pending = v.u32();
  c.finished_ms = static_cast<std::int64_t>(v.u64());
  if (!v.rest().empty()) {
    throw storage_error(EINVAL,
                        "an event's counts record is longer than its layout: the "
                        "data file is damaged or from a newer version of protekt");
  }
  return c;
}

std::string_view decode_event_type(std::string_view value) {
  reader v(value);
  v.u8();
  return v.bytes(v.u8());
}

std::string log_key(const id128& endpoint, const id128& event) {
  std::string key(endpoint.raw());
  key += event.raw();
  return key;
}

std::string id_floor(std::int64_t ms) {
  std::string floor;
  put_u64(floor, static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0)));
  floor.erase(0, 2);  // ids hold 6 bytes of time
  floor.append(10, '\0');
  return floor;
}

std::string encode_counters(const endpoint_counters& c) {
  std::string out;
  out.push_back(1);  // record version
  for (const std::uint64_t n :
       {c.deliveries, c.succeeded, c.failed, c.dead_lettered, c.cancelled, c.attempts,
        c.failed_attempts, c.retries, c.latency_sum_ms}) {
    put_u64(out, n);
  }
  for (const std::uint64_t n : c.latency) put_u64(out, n);
  return out;
}

endpoint_counters decode_counters(std::string_view value) {
  reader r(value);
  endpoint_counters c;
  r.u8();
  for (std::uint64_t* n :
       {&c.deliveries, &c.succeeded, &c.failed, &c.dead_lettered, &c.cancelled,
        &c.attempts, &c.failed_attempts, &c.retries, &c.latency_sum_ms}) {
    *n = r.u64();
  }
  for (std::uint64_t& n : c.latency) n = r.u64();
  return c;
}

}  // namespace protekt::storage
