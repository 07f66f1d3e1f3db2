#include "signing/hmac_sha256.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>

namespace protekt::detail {
namespace {

// Contexts kept for reuse; more than this many threads signing at once with one key
// simply allocate.
constexpr std::size_t kMaxIdleContexts = 64;

EVP_MAC* hmac_algorithm() {
  // Fetched once for the process; OpenSSL keeps it alive until exit.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) throw_crypto_error("fetch the HMAC implementation");
  return mac;
}

}  // namespace

hmac_sha256::hmac_sha256(std::string_view key)
    : prototype_(EVP_MAC_CTX_new(hmac_algorithm())) {
  if (!prototype_) throw_crypto_error("allocate an HMAC context");
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(prototype_.get(), reinterpret_cast<const unsigned char*>(key.data()),
                   key.size(), params) != 1) {
    throw_crypto_error("key HMAC-SHA256");
  }
}

sha256_digest hmac_sha256::digest(std::initializer_list<std::string_view> parts) const {
  evp_mac_ctx_ptr ctx = acquire();

  // A null key restarts the context with the key it already holds.
  if (EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) != 1) {
    throw_crypto_error("restart HMAC-SHA256");
  }
  for (const std::string_view part : parts) {
    if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()),
                       part.size()) != 1) {
      throw_crypto_error("compute HMAC-SHA256");
    }
  }
  sha256_digest out;
  std::size_t size = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &size, out.size()) != 1 ||
      size != out.size()) {
    throw_crypto_error("finish HMAC-SHA256");
  }

  release(std::move(ctx));
  return out;
}

evp_mac_ctx_ptr hmac_sha256::acquire() const {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      evp_mac_ctx_ptr ctx = std::move(idle_.back());
      idle_.pop_back();
      return ctx;
    }
  }
  evp_mac_ctx_ptr ctx(EVP_MAC_CTX_dup(prototype_.get()));
  if (!ctx) throw_crypto_error("copy an HMAC context");
  return ctx;
}

void hmac_sha256::release(evp_mac_ctx_ptr ctx) const {
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdleContexts) idle_.push_back(std::move(ctx));
}

}  // namespace protekt::detail
