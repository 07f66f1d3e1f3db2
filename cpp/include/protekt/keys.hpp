// Key material for the two Standard Webhooks signature schemes, in the textual forms
// the spec gives them (docs/signing.md):
//   whsec_<base64 of 24..64 bytes>   shared secret, HMAC-SHA256, signatures "v1,..."
//   whsk_<base64 of a 32-byte seed>  Ed25519 private key, signatures "v1a,..."
//   whpk_<base64 of 32 bytes>        Ed25519 public key, verification only
//
// All key types are immutable values, cheap to copy, and safe to share between threads.
// Parsing throws protekt::invalid_key_error with a message that says what was wrong.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace protekt {

inline constexpr std::string_view kSecretPrefix = "whsec_";
inline constexpr std::string_view kPrivateKeyPrefix = "whsk_";
inline constexpr std::string_view kPublicKeyPrefix = "whpk_";

inline constexpr std::size_t kMinSecretBytes = 24;
inline constexpr std::size_t kMaxSecretBytes = 64;
inline constexpr std::size_t kNewSecretBytes = 32;
inline constexpr std::size_t kEd25519KeyBytes = 32;

// A shared HMAC secret. The bytes are wiped from memory when the last copy goes.
class hmac_key {
 public:
  // Parses "whsec_<base64>". THROWS invalid_key_error.
  static hmac_key parse(std::string_view text);

  // Takes raw key bytes (24 to 64 of them). THROWS invalid_key_error.
  static hmac_key from_bytes(std::string_view raw);

  // A new secret of kNewSecretBytes from OpenSSL's CSPRNG. THROWS crypto_error.
  static hmac_key generate();

  // The "whsec_<base64>" form.
  std::string to_string() const;

  std::string_view bytes() const noexcept { return *bytes_; }

 private:
  explicit hmac_key(std::string raw);

  std::shared_ptr<const std::string> bytes_;
};

class ed25519_public_key;

// An Ed25519 signing key. Holds an OpenSSL EVP_PKEY, shared between copies.
class ed25519_private_key {
 public:
  // Parses "whsk_<base64 of the 32-byte seed>". THROWS invalid_key_error.
  static ed25519_private_key parse(std::string_view text);

  // A new key from OpenSSL's CSPRNG. THROWS crypto_error.
  static ed25519_private_key generate();

  std::string to_string() const;
  ed25519_public_key public_key() const;

  evp_pkey_st* native() const noexcept { return pkey_.get(); }

 private:
  explicit ed25519_private_key(std::shared_ptr<evp_pkey_st> pkey);

  std::shared_ptr<evp_pkey_st> pkey_;
};

// An Ed25519 verification key.
class ed25519_public_key {
 public:
  // Parses "whpk_<base64 of 32 bytes>". THROWS invalid_key_error.
  static ed25519_public_key parse(std::string_view text);

  std::string to_string() const;

  evp_pkey_st* native() const noexcept { return pkey_.get(); }

 private:
  friend class ed25519_private_key;
  explicit ed25519_public_key(std::shared_ptr<evp_pkey_st> pkey);

  std::shared_ptr<evp_pkey_st> pkey_;
};

// Random bytes from OpenSSL's CSPRNG, as used for secrets and tokens.
// THROWS crypto_error.
std::string random_bytes(std::size_t count);

}  // namespace protekt
