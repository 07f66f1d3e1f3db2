#include "common/base64.hpp"

#include <array>
#include <cstdint>

namespace protekt::detail {
namespace {

constexpr std::string_view kStandard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlSafe =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (std::size_t i = 0; i < kStandard.size(); ++i) {
    table[static_cast<unsigned char>(kStandard[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr auto kDecode = make_decode_table();

void encode_into(std::string& out, std::string_view bytes, std::string_view alphabet,
                 bool pad) {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t full = bytes.size() / 3 * 3;
  const std::size_t start = out.size();
  out.resize(start + (bytes.size() + 2) / 3 * 4);
  char* dst = out.data() + start;

  for (std::size_t i = 0; i < full; i += 3) {
    const std::uint32_t n = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
    *dst++ = alphabet[n >> 18 & 63];
    *dst++ = alphabet[n >> 12 & 63];
    *dst++ = alphabet[n >> 6 & 63];
    *dst++ = alphabet[n & 63];
  }

  // One or two bytes left: two or three characters, then padding or nothing.
  const std::size_t rest = bytes.size() - full;
  if (rest > 0) {
    std::uint32_t n = in[full] << 16;
    if (rest == 2) n |= in[full + 1] << 8;
    *dst++ = alphabet[n >> 18 & 63];
    *dst++ = alphabet[n >> 12 & 63];
    if (rest == 2) *dst++ = alphabet[n >> 6 & 63];
    if (pad) {
      while (dst != out.data() + out.size()) *dst++ = '=';
    }
  }
  out.resize(static_cast<std::size_t>(dst - out.data()));
}

}  // namespace

void base64_encode_into(std::string& out, std::string_view bytes) {
  encode_into(out, bytes, kStandard, true);
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  base64_encode_into(out, bytes);
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  encode_into(out, bytes, kUrlSafe, false);
  return out;
}

std::optional<std::size_t> base64_decode_into(std::string_view text, char* out,
                                              std::size_t capacity) {
  // Strip at most two '=' and check they complete a 4-character group.
  std::size_t padding = 0;
  while (padding < 2 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++padding;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  if (text.size() * 3 / 4 > capacity) return std::nullopt;

  std::size_t size = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const std::uint8_t v = kDecode[static_cast<unsigned char>(c)];
    if (v == kInvalid) return std::nullopt;
    acc = acc << 6 | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[size++] = static_cast<char>(acc >> bits & 0xff);
    }
  }

  // Leftover bits must be zero, so that each byte string has one encoding.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return size;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() * 3 / 4, '\0');
  const auto size = base64_decode_into(text, out.data(), out.size());
  if (!size) return std::nullopt;
  out.resize(*size);
  return out;
}

}  // namespace protekt::detail
