#include "protekt/keys.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "common/base64.hpp"
#include "protekt/error.hpp"
#include "test_support.hpp"

namespace protekt {
namespace {

using test::message_mentions;
using test::thrown_by;

// The secret of the first Standard Webhooks test vector: 24 bytes.
constexpr std::string_view kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// RFC 8032, section 7.1, TEST 1 and TEST 2: Ed25519 seeds and their public keys.
constexpr std::string_view kRfc8032Seed1 =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfc8032Public1 =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfc8032Seed2 =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
constexpr std::string_view kRfc8032Public2 =
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(
        static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

// "whsec_" (or another prefix) and the base64 of count bytes of filler.
std::string prefixed_text(std::string_view prefix, std::size_t count) {
  return std::string(prefix) + detail::base64_encode(std::string(count, '\x5a'));
}

// ---- hmac_key -----------------------------------------------------------------------

TEST(HmacKey, ParsesTheSpecSecretIntoItsTwentyFourBytes) {
  const hmac_key key = hmac_key::parse(kSpecSecret);
  EXPECT_EQ(key.bytes().size(), 24u);
  EXPECT_EQ(std::string(key.bytes()),
            detail::base64_decode(kSpecSecret.substr(kSecretPrefix.size())));
}

TEST(HmacKey, WritesAParsedSecretBackUnchanged) {
  EXPECT_EQ(hmac_key::parse(kSpecSecret).to_string(), kSpecSecret);
}

TEST(HmacKey, GeneratesThirtyTwoRandomBytes) {
  const hmac_key first = hmac_key::generate();
  const hmac_key second = hmac_key::generate();
  EXPECT_EQ(first.bytes().size(), kNewSecretBytes);
  EXPECT_NE(first.bytes(), second.bytes());
}

TEST(HmacKey, AGeneratedSecretRoundTripsThroughItsText) {
  const hmac_key key = hmac_key::generate();
  const std::string text = key.to_string();
  EXPECT_TRUE(text.starts_with(kSecretPrefix)) << text;
  EXPECT_EQ(hmac_key::parse(text).bytes(), key.bytes());
}

TEST(HmacKey, ACopyHoldsTheSameSecret) {
  const hmac_key key = hmac_key::generate();
  const hmac_key copy = key;
  EXPECT_EQ(copy.bytes(), key.bytes());
  EXPECT_EQ(copy.to_string(), key.to_string());
}

TEST(HmacKey, AcceptsTheShortestAndLongestSecrets) {
  for (const std::size_t count : {kMinSecretBytes, kMaxSecretBytes}) {
    SCOPED_TRACE(count);
    const std::string text = prefixed_text(kSecretPrefix, count);
    EXPECT_EQ(hmac_key::parse(text).bytes().size(), count);
    EXPECT_EQ(hmac_key::from_bytes(std::string(count, 'k')).bytes().size(), count);
  }
}

TEST(HmacKey, RefusesAPrivateKeyGivenAsASecret) {
  const auto e = thrown_by<invalid_key_error>(
      [] { hmac_key::parse(prefixed_text(kPrivateKeyPrefix, kEd25519KeyBytes)); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "secret");
  EXPECT_TRUE(message_mentions(*e, "whsec_"));
  EXPECT_TRUE(message_mentions(*e, "Ed25519 private key"));
}

TEST(HmacKey, RefusesASecretWithoutItsPrefix) {
  const auto e = thrown_by<invalid_key_error>(
      [] { hmac_key::parse(kSpecSecret.substr(kSecretPrefix.size())); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "secret");
  EXPECT_TRUE(message_mentions(*e, "must start with \"whsec_\""));
  EXPECT_TRUE(message_mentions(*e, "no known prefix"));
}

TEST(HmacKey, RefusesAnUpperCasePrefix) {
  EXPECT_THROW(hmac_key::parse("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
               invalid_key_error);
}

TEST(HmacKey, RefusesASecretThatIsNotBase64) {
  for (const std::string_view text : {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w",
                                      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
                                      "whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw",
                                      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w"}) {
    SCOPED_TRACE(text);
    const auto e = thrown_by<invalid_key_error>([&] { hmac_key::parse(text); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field(), "secret");
    EXPECT_TRUE(message_mentions(*e, "base64"));
  }
}

TEST(HmacKey, RefusesASecretOfTwentyThreeBytes) {
  const auto e = thrown_by<invalid_key_error>(
      [] { hmac_key::parse(prefixed_text(kSecretPrefix, kMinSecretBytes - 1)); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "secret");
  EXPECT_TRUE(message_mentions(*e, "24 to 64 bytes"));
  EXPECT_TRUE(message_mentions(*e, "23 bytes"));
}

TEST(HmacKey, RefusesASecretOfSixtyFiveBytes) {
  const auto e = thrown_by<invalid_key_error>(
      [] { hmac_key::parse(prefixed_text(kSecretPrefix, kMaxSecretBytes + 1)); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "secret");
  EXPECT_TRUE(message_mentions(*e, "65 bytes"));
}

TEST(HmacKey, RefusesAnEmptySecret) {
  EXPECT_THROW(hmac_key::parse("whsec_"), invalid_key_error);
  EXPECT_THROW(hmac_key::parse(""), invalid_key_error);
  EXPECT_THROW(hmac_key::from_bytes(""), invalid_key_error);
}

TEST(HmacKey, FromBytesRefusesTheSameLengthsAsParse) {
  for (const std::size_t count : {kMinSecretBytes - 1, kMaxSecretBytes + 1}) {
    SCOPED_TRACE(count);
    const auto e = thrown_by<invalid_key_error>(
        [&] { hmac_key::from_bytes(std::string(count, 'k')); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field(), "secret");
    EXPECT_TRUE(message_mentions(*e, std::to_string(count) + " bytes"));
  }
}

TEST(HmacKey, InvalidKeyErrorIsAValidationErrorAndAProtektError) {
  EXPECT_THROW(hmac_key::parse("nope"), validation_error);
  EXPECT_THROW(hmac_key::parse("nope"), error);
}

// ---- Ed25519 keys -------------------------------------------------------------------

TEST(Ed25519Key, DerivesTheRfc8032PublicKeysFromTheirSeeds) {
  for (const auto& [seed, expected] : {std::pair{kRfc8032Seed1, kRfc8032Public1},
                                       std::pair{kRfc8032Seed2, kRfc8032Public2}}) {
    SCOPED_TRACE(seed);
    const std::string seed_text =
        std::string(kPrivateKeyPrefix) + detail::base64_encode(from_hex(seed));
    const std::string expected_text =
        std::string(kPublicKeyPrefix) + detail::base64_encode(from_hex(expected));
    EXPECT_EQ(ed25519_private_key::parse(seed_text).public_key().to_string(),
              expected_text);
  }
}

TEST(Ed25519Key, APrivateKeyRoundTripsThroughItsText) {
  const auto key = ed25519_private_key::generate();
  const std::string text = key.to_string();
  EXPECT_TRUE(text.starts_with(kPrivateKeyPrefix)) << text;
  EXPECT_EQ(detail::base64_decode(text.substr(kPrivateKeyPrefix.size()))->size(),
            kEd25519KeyBytes);
  EXPECT_EQ(ed25519_private_key::parse(text).to_string(), text);
}

TEST(Ed25519Key, AParsedPrivateKeyHasTheSamePublicKey) {
  const auto key = ed25519_private_key::generate();
  const auto parsed = ed25519_private_key::parse(key.to_string());
  EXPECT_EQ(parsed.public_key().to_string(), key.public_key().to_string());
}

TEST(Ed25519Key, APublicKeyRoundTripsThroughItsText) {
  const std::string text = ed25519_private_key::generate().public_key().to_string();
  EXPECT_TRUE(text.starts_with(kPublicKeyPrefix)) << text;
  EXPECT_EQ(detail::base64_decode(text.substr(kPublicKeyPrefix.size()))->size(),
            kEd25519KeyBytes);
  EXPECT_EQ(ed25519_public_key::parse(text).to_string(), text);
}

TEST(Ed25519Key, GeneratedKeysDiffer) {
  EXPECT_NE(ed25519_private_key::generate().to_string(),
            ed25519_private_key::generate().to_string());
}

TEST(Ed25519Key, RefusesASecretGivenAsAPrivateKey) {
  const std::string secret = prefixed_text(kSecretPrefix, kEd25519KeyBytes);
  const auto e =
      thrown_by<invalid_key_error>([&] { ed25519_private_key::parse(secret); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "key");
  EXPECT_TRUE(message_mentions(*e, "whsk_"));
  EXPECT_TRUE(message_mentions(*e, "shared secret"));
}

TEST(Ed25519Key, RefusesAPublicKeyGivenAsAPrivateKeyAndTheReverse) {
  const auto key = ed25519_private_key::generate();
  EXPECT_THROW(ed25519_private_key::parse(key.public_key().to_string()),
               invalid_key_error);
  EXPECT_THROW(ed25519_public_key::parse(key.to_string()), invalid_key_error);
}

TEST(Ed25519Key, RefusesAPrivateKeyWhoseSeedIsNotThirtyTwoBytes) {
  for (const std::size_t count : {std::size_t{0}, std::size_t{31}, std::size_t{33}}) {
    SCOPED_TRACE(count);
    const auto e = thrown_by<invalid_key_error>(
        [&] { ed25519_private_key::parse(prefixed_text(kPrivateKeyPrefix, count)); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field(), "key");
    EXPECT_TRUE(message_mentions(*e, "32-byte seed"));
  }
}

TEST(Ed25519Key, RefusesAPublicKeyThatIsNotThirtyTwoBytes) {
  for (const std::size_t count : {std::size_t{31}, std::size_t{64}}) {
    SCOPED_TRACE(count);
    const auto e = thrown_by<invalid_key_error>(
        [&] { ed25519_public_key::parse(prefixed_text(kPublicKeyPrefix, count)); });
    ASSERT_TRUE(e);
    EXPECT_TRUE(message_mentions(*e, std::to_string(count) + " bytes"));
  }
}

TEST(Ed25519Key, RefusesKeysThatAreNotBase64) {
  EXPECT_THROW(ed25519_private_key::parse("whsk_not*base64"), invalid_key_error);
  EXPECT_THROW(ed25519_public_key::parse("whpk_not*base64"), invalid_key_error);
}

// ---- random_bytes -------------------------------------------------------------------

TEST(RandomBytes, ReturnsAsManyBytesAsAskedFor) {
  EXPECT_EQ(random_bytes(0), "");
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(1000).size(), 1000u);
}

TEST(RandomBytes, TwoDrawsDiffer) {
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

}  // namespace
}  // namespace protekt
