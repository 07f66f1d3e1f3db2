// Standard Webhooks signing and verification (docs/signing.md).
//
// The signed content is "{webhook-id}.{webhook-timestamp}.{body}". A shared secret
// signs it with HMAC-SHA256 ("v1,<base64>"), an Ed25519 key signs it directly
// ("v1a,<base64>"). A signer with several keys (a secret being rotated) puts one
// signature per key in the header, space-separated, newest key first.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protekt/keys.hpp"

namespace protekt {

inline constexpr std::string_view kIdHeader = "webhook-id";
inline constexpr std::string_view kTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kSignatureHeader = "webhook-signature";

// How far webhook-timestamp may lie from the verifier's clock, in either direction.
inline constexpr std::chrono::seconds kDefaultTolerance{300};

using signing_key = std::variant<hmac_key, ed25519_private_key>;
using verification_key = std::variant<hmac_key, ed25519_public_key>;

namespace detail {
class hmac_sha256;
}

// Produces webhook-signature header values.
//
// Thread-safe: sign() may be called from any number of threads at once. OpenSSL HMAC
// contexts are keyed once and reused from a small pool, so a call allocates nothing
// beyond its result once the pool is warm.
class signer {
 public:
  // REQUIRES: keys is not empty. THROWS validation_error when it is.
  explicit signer(const std::vector<signing_key>& keys);
  ~signer();
  signer(signer&&) noexcept;
  signer& operator=(signer&&) noexcept;

  // The complete header value, e.g. "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=".
  // THROWS crypto_error.
  std::string sign(std::string_view msg_id, std::int64_t timestamp,
                   std::string_view body) const;

  // As sign(), appending to out; reuses out's capacity on a hot path.
  void sign_into(std::string& out, std::string_view msg_id, std::int64_t timestamp,
                 std::string_view body) const;

 private:
  struct prepared_key;
  std::vector<prepared_key> keys_;
};

// The three Standard Webhooks headers of a received request; nullopt when absent.
struct webhook_headers {
  std::optional<std::string_view> id;
  std::optional<std::string_view> timestamp;
  std::optional<std::string_view> signature;
};

// Checks received webhooks. Thread-safe like signer.
class verifier {
 public:
  // REQUIRES: keys is not empty; tolerance is not negative. THROWS validation_error.
  explicit verifier(const std::vector<verification_key>& keys,
                    std::chrono::seconds tolerance = kDefaultTolerance);
  ~verifier();
  verifier(verifier&&) noexcept;
  verifier& operator=(verifier&&) noexcept;

  // Returns normally when some signature in the header matches under some key.
  // now_unix is the receiver's clock in seconds since the epoch; REQUIRES: >= 0.
  // THROWS validation_error for a negative clock, then, in this order of checks:
  // missing_header_error, malformed_header_error,
  // timestamp_error, signature_mismatch_error; crypto_error on an OpenSSL failure.
  void verify(const webhook_headers& headers, std::string_view body,
              std::int64_t now_unix) const;

  // As verify(), reading the clock.
  void verify(const webhook_headers& headers, std::string_view body) const;

  std::chrono::seconds tolerance() const noexcept { return tolerance_; }

 private:
  struct prepared_key;
  std::vector<prepared_key> keys_;
  std::chrono::seconds tolerance_;
};

// Seconds since the Unix epoch on the system clock.
std::int64_t unix_now();

}  // namespace protekt
