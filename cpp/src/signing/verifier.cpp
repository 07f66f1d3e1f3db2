#include <openssl/crypto.h>

#include <boost/container/small_vector.hpp>

#include <charconv>
#include <memory>
#include <string>
#include <type_traits>

#include "common/base64.hpp"
#include "protekt/error.hpp"
#include "protekt/signing.hpp"
#include "signing/content.hpp"

namespace protekt {
namespace {

// Header values quoted in error messages are cut to this length.
constexpr std::size_t kMaxQuoted = 40;

std::string quoted(std::string_view value) {
  std::string out = "\"";
  out.append(value.substr(0, kMaxQuoted));
  if (value.size() > kMaxQuoted) out.append("...");
  out.push_back('"');
  return out;
}

std::string_view require(const std::optional<std::string_view>& value,
                         std::string_view name) {
  if (!value) {
    throw missing_header_error("the " + std::string(name) + " header is missing");
  }
  return *value;
}

std::int64_t parse_timestamp(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.front() == '-' || ec != std::errc() ||
      end != text.data() + text.size()) {
    throw malformed_header_error(
        "webhook-timestamp must be whole seconds since the Unix epoch, but it is " +
        quoted(text));
  }
  return value;
}

void check_tolerance(std::int64_t timestamp, std::int64_t now,
                     std::chrono::seconds tolerance) {
  // Both are non-negative, so neither difference can overflow.
  const std::int64_t limit = tolerance.count();
  if (timestamp < now && now - timestamp > limit) {
    throw timestamp_error("webhook-timestamp is " + std::to_string(now - timestamp) +
                          " s in the past, more than the tolerance of " +
                          std::to_string(limit) + " s (a replay, or a clock skew)");
  }
  if (timestamp > now && timestamp - now > limit) {
    throw timestamp_error("webhook-timestamp is " + std::to_string(timestamp - now) +
                          " s in the future, more than the tolerance of " +
                          std::to_string(limit) + " s (check the sender's clock)");
  }
}

// One "version,base64" entry of webhook-signature.
struct signature_entry {
  std::string_view version;
  std::string_view encoded;
};

// Splits on spaces; an entry without a comma is skipped here and reported below only
// when nothing usable is left.
using signature_entries = boost::container::small_vector<signature_entry, 4>;

signature_entries parse_signatures(std::string_view header) {
  signature_entries entries;
  while (!header.empty()) {
    const std::size_t space = header.find(' ');
    const std::string_view token = header.substr(0, space);
    header =
        space == std::string_view::npos ? std::string_view{} : header.substr(space + 1);
    const std::size_t comma = token.find(',');
    if (comma == std::string_view::npos || comma == 0) continue;
    entries.push_back({token.substr(0, comma), token.substr(comma + 1)});
  }
  return entries;
}

}  // namespace

struct verifier::prepared_key {
  std::unique_ptr<detail::hmac_sha256> hmac;  // set for a shared secret
  std::optional<ed25519_public_key> ed25519;  // set for an Ed25519 key
};

verifier::verifier(const std::vector<verification_key>& keys,
                   std::chrono::seconds tolerance)
    : tolerance_(tolerance) {
  if (keys.empty()) {
    throw validation_error("keys", "a verifier needs at least one secret or key");
  }
  if (tolerance.count() < 0) {
    throw validation_error("tolerance", "the timestamp tolerance cannot be negative");
  }
  keys_.reserve(keys.size());
  for (const verification_key& key : keys) {
    std::visit(
        [this](const auto& k) {
          if constexpr (std::is_same_v<std::decay_t<decltype(k)>, hmac_key>) {
            keys_.push_back({std::make_unique<detail::hmac_sha256>(k.bytes()), {}});
          } else {
            keys_.push_back({nullptr, k});
          }
        },
        key);
  }
}

verifier::~verifier() = default;
verifier::verifier(verifier&&) noexcept = default;
verifier& verifier::operator=(verifier&&) noexcept = default;

void verifier::verify(const webhook_headers& headers, std::string_view body) const {
  verify(headers, body, unix_now());
}

void verifier::verify(const webhook_headers& headers, std::string_view body,
                      std::int64_t now_unix) const {
  if (now_unix < 0) throw validation_error("now", "the clock cannot be before 1970");

  // Presence and form of the three headers.
  const std::string_view id = require(headers.id, kIdHeader);
  const std::string_view ts_text = require(headers.timestamp, kTimestampHeader);
  const std::string_view sig_header = require(headers.signature, kSignatureHeader);
  if (id.empty()) throw malformed_header_error("the webhook-id header is empty");
  const std::int64_t timestamp = parse_timestamp(ts_text);
  const signature_entries entries = parse_signatures(sig_header);
  if (entries.empty()) {
    throw malformed_header_error(
        "webhook-signature holds no entry of the form v1,<base64>: " +
        quoted(sig_header));
  }

  check_tolerance(timestamp, now_unix, tolerance_);

  // Each key's expected value is computed at most once, then compared with every
  // entry of its scheme in constant time.
  std::size_t candidates = 0;
  std::string content;  // assembled once, for Ed25519 keys only
  for (const prepared_key& key : keys_) {
    const std::string_view wanted = key.hmac ? "v1" : "v1a";
    std::optional<detail::sha256_digest> mac;
    for (const signature_entry& entry : entries) {
      if (entry.version != wanted) continue;
      ++candidates;
      char decoded[detail::kEd25519SignatureBytes];
      const auto size =
          detail::base64_decode_into(entry.encoded, decoded, sizeof decoded);
      if (!size) continue;
      const std::string_view signature(decoded, *size);

      if (key.hmac) {
        if (!mac) mac = detail::hmac_signed_content(*key.hmac, id, ts_text, body);
        if (signature.size() == mac->size() &&
            CRYPTO_memcmp(signature.data(), mac->data(), mac->size()) == 0) {
          return;
        }
      } else {
        if (content.empty()) content = detail::joined_content(id, ts_text, body);
        if (detail::ed25519_verify(key.ed25519->native(), content, signature)) return;
      }
    }
  }

  if (candidates == 0) {
    throw signature_mismatch_error(
        "webhook-signature holds no signature of a scheme this verifier's keys use "
        "(v1 for whsec_ secrets, v1a for whpk_ keys)");
  }
  throw signature_mismatch_error(
      "no signature in webhook-signature matches the body: the body, webhook-id or "
      "webhook-timestamp was changed, or the secret is not the sender's");
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace protekt
