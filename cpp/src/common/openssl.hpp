// Small helpers over OpenSSL's C API: owning pointers and error reporting.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string_view>

namespace protekt::detail {

struct evp_mac_ctx_deleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};
struct evp_md_ctx_deleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
struct evp_pkey_deleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};

using evp_mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, evp_mac_ctx_deleter>;
using evp_md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, evp_md_ctx_deleter>;

// Throws protekt::crypto_error with what was attempted and OpenSSL's queued error,
// and clears the queue so that it does not leak into an unrelated later call.
[[noreturn]] void throw_crypto_error(std::string_view what);

}  // namespace protekt::detail
