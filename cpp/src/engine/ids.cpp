#include "protekt/ids.hpp"

#include <chrono>

#include "protekt/keys.hpp"

namespace protekt {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kTextLength = 26;

int decode_char(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  const std::size_t pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Adds one to the 80 random bits; carries stop at the timestamp.
void increment_random(id128& id) {
  for (int i = 15; i >= 6; --i) {
    if (++id.bytes[i] != 0) return;
  }
}

}  // namespace

std::int64_t id128::timestamp_ms() const noexcept {
  std::int64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = ms << 8 | bytes[i];
  return ms;
}

std::string id128::to_string(std::string_view prefix) const {
  // 128 bits as 26 five-bit groups, taken from the least significant end of the two
  // 64-bit halves; the first character holds the top 3 bits.
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    high = high << 8 | bytes[i];
    low = low << 8 | bytes[8 + i];
  }
  std::string text(prefix);
  text.resize(prefix.size() + kTextLength);
  for (std::size_t i = 0; i < kTextLength; ++i) {
    text[text.size() - 1 - i] = kAlphabet[low & 31];
    low = low >> 5 | high << 59;
    high >>= 5;
  }
  return text;
}

std::optional<id128> id128::parse(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix) || text.size() != prefix.size() + kTextLength) {
    return std::nullopt;
  }
  text.remove_prefix(prefix.size());
  if (decode_char(text[0]) > 7) return std::nullopt;  // more than 128 bits

  id128 id;
  for (std::size_t i = 0; i < kTextLength; ++i) {
    const int digit = decode_char(text[kTextLength - 1 - i]);
    if (digit < 0) return std::nullopt;
    for (std::size_t b = 0; b < 5; ++b) {
      const std::size_t bit = i * 5 + b;
      if (bit < 128 && (digit >> b & 1) != 0) {
        id.bytes[15 - bit / 8] |= static_cast<unsigned char>(1u << (bit % 8));
      }
    }
  }
  return id;
}

id128 id128::from_raw(std::string_view raw) noexcept {
  id128 id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) {
    id.bytes[i] = static_cast<unsigned char>(raw[i]);
  }
  return id;
}

id128 id_generator::next(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);

  // Within one millisecond (or if the clock stepped back) keep counting up from the
  // last id, so that ids stay unique and ordered.
  if (now_ms <= last_ms_) {
    increment_random(last_);
    return last_;
  }
  last_ms_ = now_ms;
  const std::string random = random_bytes(10);
  for (int i = 5; i >= 0; --i) {
    last_.bytes[static_cast<std::size_t>(i)] =
        static_cast<unsigned char>(now_ms & 0xff);
    now_ms >>= 8;
  }
  for (std::size_t i = 0; i < 10; ++i) {
    last_.bytes[6 + i] = static_cast<unsigned char>(random[i]);
  }
  return last_;
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace protekt
