#include "protekt/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>

#include "common/base64.hpp"
#include "common/openssl.hpp"
#include "protekt/error.hpp"

namespace protekt {
namespace {

// Wipes a secret before its memory goes back to the allocator.
struct wiping_deleter {
  void operator()(const std::string* s) const noexcept {
    auto* owned = const_cast<std::string*>(s);
    OPENSSL_cleanse(owned->data(), owned->size());
    delete owned;
  }
};

std::string describe_prefix(std::string_view text) {
  if (text.starts_with(kSecretPrefix)) return "a shared secret (whsec_)";
  if (text.starts_with(kPrivateKeyPrefix)) return "an Ed25519 private key (whsk_)";
  if (text.starts_with(kPublicKeyPrefix)) return "an Ed25519 public key (whpk_)";
  return "no known prefix";
}

// Removes the expected prefix and decodes the base64 after it.
std::string decode_prefixed(std::string_view text, std::string_view prefix,
                            std::string_view what, const std::string& field) {
  if (!text.starts_with(prefix)) {
    throw invalid_key_error(
        field, std::string(what) + " must start with \"" + std::string(prefix) +
                   "\", but the value given has " + describe_prefix(text));
  }
  auto raw = detail::base64_decode(text.substr(prefix.size()));
  if (!raw) {
    throw invalid_key_error(field, std::string(what) + " is not valid base64 after \"" +
                                       std::string(prefix) + "\"");
  }
  return std::move(*raw);
}

std::shared_ptr<EVP_PKEY> wrap(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, detail::evp_pkey_deleter{});
}

std::string raw_key_text(EVP_PKEY* key, bool is_private, std::string_view prefix) {
  unsigned char raw[kEd25519KeyBytes];
  std::size_t size = sizeof raw;
  const int ok = is_private ? EVP_PKEY_get_raw_private_key(key, raw, &size)
                            : EVP_PKEY_get_raw_public_key(key, raw, &size);
  if (ok != 1) detail::throw_crypto_error("export an Ed25519 key");
  std::string text(prefix);
  detail::base64_encode_into(
      text, std::string_view(reinterpret_cast<const char*>(raw), size));
  OPENSSL_cleanse(raw, sizeof raw);
  return text;
}

}  // namespace

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > 0 && RAND_priv_bytes(reinterpret_cast<unsigned char*>(out.data()),
                                   static_cast<int>(count)) != 1) {
    detail::throw_crypto_error("draw random bytes");
  }
  return out;
}

// ---- hmac_key --------------------------------------------------------------------

hmac_key::hmac_key(std::string raw)
    : bytes_(new std::string(std::move(raw)), wiping_deleter{}) {}

hmac_key hmac_key::parse(std::string_view text) {
  std::string raw = decode_prefixed(text, kSecretPrefix, "a shared secret", "secret");
  return from_bytes(raw);
}

hmac_key hmac_key::from_bytes(std::string_view raw) {
  if (raw.size() < kMinSecretBytes || raw.size() > kMaxSecretBytes) {
    throw invalid_key_error("secret", "a shared secret must be " +
                                          std::to_string(kMinSecretBytes) + " to " +
                                          std::to_string(kMaxSecretBytes) +
                                          " bytes, but this one is " +
                                          std::to_string(raw.size()) + " bytes");
  }
  return hmac_key(std::string(raw));
}

hmac_key hmac_key::generate() {
  return hmac_key(random_bytes(kNewSecretBytes));
}

std::string hmac_key::to_string() const {
  std::string text(kSecretPrefix);
  detail::base64_encode_into(text, *bytes_);
  return text;
}

// ---- ed25519_private_key ---------------------------------------------------------

ed25519_private_key::ed25519_private_key(std::shared_ptr<EVP_PKEY> pkey)
    : pkey_(std::move(pkey)) {}

ed25519_private_key ed25519_private_key::parse(std::string_view text) {
  std::string seed =
      decode_prefixed(text, kPrivateKeyPrefix, "an Ed25519 private key", "key");
  if (seed.size() != kEd25519KeyBytes) {
    throw invalid_key_error("key",
                            "an Ed25519 private key must hold a 32-byte seed, "
                            "but this one holds " +
                                std::to_string(seed.size()) + " bytes");
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()),
      seed.size());
  OPENSSL_cleanse(seed.data(), seed.size());
  if (key == nullptr) detail::throw_crypto_error("load an Ed25519 private key");
  return ed25519_private_key(wrap(key));
}

ed25519_private_key ed25519_private_key::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) detail::throw_crypto_error("generate an Ed25519 key");
  return ed25519_private_key(wrap(key));
}

std::string ed25519_private_key::to_string() const {
  return raw_key_text(pkey_.get(), true, kPrivateKeyPrefix);
}

ed25519_public_key ed25519_private_key::public_key() const {
  unsigned char raw[kEd25519KeyBytes];
  std::size_t size = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(pkey_.get(), raw, &size) != 1) {
    detail::throw_crypto_error("derive an Ed25519 public key");
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, size);
  if (key == nullptr) detail::throw_crypto_error("load an Ed25519 public key");
  return ed25519_public_key(wrap(key));
}

// ---- ed25519_public_key ----------------------------------------------------------

ed25519_public_key::ed25519_public_key(std::shared_ptr<EVP_PKEY> pkey)
    : pkey_(std::move(pkey)) {}

ed25519_public_key ed25519_public_key::parse(std::string_view text) {
  const std::string raw =
      decode_prefixed(text, kPublicKeyPrefix, "an Ed25519 public key", "key");
  if (raw.size() != kEd25519KeyBytes) {
    throw invalid_key_error("key",
                            "an Ed25519 public key must be 32 bytes, but this "
                            "one is " +
                                std::to_string(raw.size()) + " bytes");
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()),
      raw.size());
  if (key == nullptr) detail::throw_crypto_error("load an Ed25519 public key");
  return ed25519_public_key(wrap(key));
}

std::string ed25519_public_key::to_string() const {
  return raw_key_text(pkey_.get(), false, kPublicKeyPrefix);
}

}  // namespace protekt
