#include "signing/content.hpp"

#include <openssl/err.h>

#include "common/openssl.hpp"

namespace protekt::detail {

std::string joined_content(std::string_view id, std::string_view timestamp,
                           std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return content;
}

std::string ed25519_sign(EVP_PKEY* key, std::string_view content) {
  evp_md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    throw_crypto_error("start an Ed25519 signature");
  }
  std::string signature(kEd25519SignatureBytes, '\0');
  std::size_t size = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()),
                     &size, reinterpret_cast<const unsigned char*>(content.data()),
                     content.size()) != 1) {
    throw_crypto_error("sign with Ed25519");
  }
  signature.resize(size);
  return signature;
}

bool ed25519_verify(EVP_PKEY* key, std::string_view content,
                    std::string_view signature) {
  if (signature.size() != kEd25519SignatureBytes) return false;
  evp_md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    throw_crypto_error("start an Ed25519 verification");
  }
  const int result = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size(), reinterpret_cast<const unsigned char*>(content.data()),
      content.size());

  // A mismatch leaves an entry on OpenSSL's error queue; it is not an error here.
  ERR_clear_error();
  return result == 1;
}

}  // namespace protekt::detail
