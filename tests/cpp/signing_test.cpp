#include "protekt/signing.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/base64.hpp"
#include "protekt/error.hpp"
#include "protekt/keys.hpp"
#include "test_support.hpp"

namespace protekt {
namespace {

using namespace std::chrono_literals;
using test::message_mentions;
using test::thrown_by;

// The receiver's clock in every test that does not read the real one.
constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::string_view kId = "msg_2Lh9K4Y1s8QpWm0eVq7TnBbXcZa";
constexpr std::string_view kBody = R"({"type":"invoice.paid","data":{"amount":1200}})";

template <typename... Keys>
signer signer_of(const Keys&... keys) {
  return signer(std::vector<signing_key>{keys...});
}

template <typename... Keys>
verifier verifier_of(const Keys&... keys) {
  return verifier(std::vector<verification_key>{keys...});
}

// The entries of a webhook-signature value, split on single spaces.
std::vector<std::string> entries_of(std::string_view header) {
  std::vector<std::string> entries;
  std::size_t start = 0;
  while (start <= header.size()) {
    const std::size_t space = std::min(header.find(' ', start), header.size());
    entries.emplace_back(header.substr(start, space - start));
    start = space + 1;
  }
  return entries;
}

// The bytes of the signature after "version,".
std::optional<std::string> decoded_signature(std::string_view entry) {
  return detail::base64_decode(entry.substr(entry.find(',') + 1));
}

// ---- Standard Webhooks test vectors -------------------------------------------------

struct spec_vector {
  std::string_view name;
  std::string_view secret;
  std::string_view id;
  std::int64_t timestamp;
  std::string_view body;
  std::string_view signature;
};

class SpecVector : public ::testing::TestWithParam<spec_vector> {
 protected:
  const spec_vector& v_ = GetParam();
  const hmac_key secret_ = hmac_key::parse(v_.secret);
  const std::string timestamp_ = std::to_string(v_.timestamp);

  webhook_headers headers(std::string_view signature) const {
    return {v_.id, timestamp_, signature};
  }
};

TEST_P(SpecVector, SignerProducesTheSpecSignature) {
  EXPECT_EQ(signer_of(secret_).sign(v_.id, v_.timestamp, v_.body), v_.signature);
}

TEST_P(SpecVector, SignerProducesItAgainFromAReusedContext) {
  const signer s = signer_of(secret_);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.sign(v_.id, v_.timestamp, v_.body), v_.signature);
  }
}

TEST_P(SpecVector, SignIntoAppendsTheSpecSignature) {
  std::string out = "webhook-signature: ";
  signer_of(secret_).sign_into(out, v_.id, v_.timestamp, v_.body);
  EXPECT_EQ(out, "webhook-signature: " + std::string(v_.signature));
}

TEST_P(SpecVector, VerifierAcceptsTheSpecHeaders) {
  EXPECT_NO_THROW(
      verifier_of(secret_).verify(headers(v_.signature), v_.body, v_.timestamp));
}

TEST_P(SpecVector, VerifierRefusesTheSpecSignatureForAnotherBody) {
  EXPECT_THROW(verifier_of(secret_).verify(headers(v_.signature),
                                           std::string(v_.body) + " ", v_.timestamp),
               signature_mismatch_error);
}

TEST_P(SpecVector, VerifierRefusesTheSpecHeadersLongAfterwards) {
  EXPECT_THROW(verifier_of(secret_).verify(headers(v_.signature), v_.body, kNow),
               timestamp_error);
}

INSTANTIATE_TEST_SUITE_P(
    StandardWebhooks, SpecVector,
    ::testing::Values(spec_vector{"first", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                  "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                  R"({"test": 2432232314})",
                                  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
                      spec_vector{
                          "second", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                          "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553,
                          R"({"email":"test@example.com","username":"test_user"})",
                          "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- HMAC signing and tampering -----------------------------------------------------

// A sender and a receiver sharing a fresh secret; the message was signed at kNow.
class HmacWebhook : public ::testing::Test {
 protected:
  const hmac_key secret_ = hmac_key::generate();
  const signer signer_ = signer_of(secret_);
  const verifier verifier_ = verifier_of(secret_);
  const std::string timestamp_ = std::to_string(kNow);
  const std::string signature_ = signer_.sign(kId, kNow, kBody);

  void verify(std::string_view id, std::string_view timestamp,
              std::string_view signature, std::string_view body) const {
    verifier_.verify({id, timestamp, signature}, body, kNow);
  }
  void verify_signature(std::string_view signature) const {
    verify(kId, timestamp_, signature, kBody);
  }
  void verify_body(std::string_view body) const {
    verify(kId, timestamp_, signature_, body);
  }
};

TEST_F(HmacWebhook, SignatureIsV1AndTheBase64OfThirtyTwoBytes) {
  ASSERT_TRUE(signature_.starts_with("v1,")) << signature_;
  const auto mac = decoded_signature(signature_);
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->size(), 32u);
  EXPECT_EQ(signature_.find(' '), std::string::npos);
}

TEST_F(HmacWebhook, SigningTheSameMessageTwiceGivesTheSameSignature) {
  EXPECT_EQ(signer_.sign(kId, kNow, kBody), signature_);
}

TEST_F(HmacWebhook, AnotherSecretGivesAnotherSignature) {
  EXPECT_NE(signer_of(hmac_key::generate()).sign(kId, kNow, kBody), signature_);
}

TEST_F(HmacWebhook, VerifierAcceptsWhatTheSignerProduced) {
  EXPECT_NO_THROW(verify_body(kBody));
}

TEST_F(HmacWebhook, AnEmptyBodyAndABinaryBodyRoundTrip) {
  using namespace std::string_view_literals;
  for (const std::string_view body : {""sv, "\0\xff\r\n."sv}) {
    const std::string signature = signer_.sign(kId, kNow, body);
    EXPECT_NO_THROW(verify(kId, timestamp_, signature, body));
  }
}

TEST_F(HmacWebhook, ABodyWithOneByteChangedIsRefused) {
  for (const std::size_t at : {std::size_t{0}, kBody.size() / 2, kBody.size() - 1}) {
    std::string body(kBody);
    body[at] = static_cast<char>(body[at] ^ 0x01);
    SCOPED_TRACE(body);
    EXPECT_THROW(verify_body(body), signature_mismatch_error);
  }
}

TEST_F(HmacWebhook, ABodyWithWhitespaceAppendedIsRefused) {
  for (const std::string_view suffix : {" ", "\n", "\r\n", "\t"}) {
    EXPECT_THROW(verify_body(std::string(kBody) + std::string(suffix)),
                 signature_mismatch_error);
  }
}

TEST_F(HmacWebhook, AnEmptyBodyIsRefused) {
  EXPECT_THROW(verify_body(""), signature_mismatch_error);
}

TEST_F(HmacWebhook, AChangedIdIsRefused) {
  EXPECT_THROW(verify("msg_2Lh9K4Y1s8QpWm0eVq7TnBbXcZb", timestamp_, signature_, kBody),
               signature_mismatch_error);
  EXPECT_THROW(verify(std::string(kId) + ".", timestamp_, signature_, kBody),
               signature_mismatch_error);
}

TEST_F(HmacWebhook, AChangedTimestampIsRefused) {
  for (const std::int64_t moved : {kNow - 1, kNow + 1}) {
    EXPECT_THROW(verify(kId, std::to_string(moved), signature_, kBody),
                 signature_mismatch_error);
  }
}

TEST_F(HmacWebhook, ASignatureForOneTimestampIsNotValidForAnother) {
  const std::string later_timestamp = std::to_string(kNow + 60);
  const std::string later = signer_.sign(kId, kNow + 60, kBody);
  EXPECT_NE(later, signature_);
  EXPECT_NO_THROW(verify(kId, later_timestamp, later, kBody));
  EXPECT_THROW(verify(kId, timestamp_, later, kBody), signature_mismatch_error);
  EXPECT_THROW(verify(kId, later_timestamp, signature_, kBody),
               signature_mismatch_error);
}

TEST_F(HmacWebhook, IdAndTimestampSwappedAreRefused) {
  // A numeric id makes the swapped headers well-formed, so only the signature can
  // tell the order apart: "{id}.{timestamp}" is signed, not "{timestamp}.{id}".
  const std::string numeric_id = std::to_string(kNow + 1);
  const std::string signature = signer_.sign(numeric_id, kNow, kBody);
  EXPECT_NO_THROW(verify(numeric_id, timestamp_, signature, kBody));
  EXPECT_THROW(verify(timestamp_, numeric_id, signature, kBody),
               signature_mismatch_error);
}

TEST_F(HmacWebhook, IdAndTimestampHeadersSwappedAreMalformed) {
  EXPECT_THROW(verify(timestamp_, kId, signature_, kBody), malformed_header_error);
}

TEST_F(HmacWebhook, ExtraSpacesBetweenEntriesAreAllowed) {
  const std::string other = signer_of(hmac_key::generate()).sign(kId, kNow, kBody);
  for (const std::string& header :
       {other + "  " + signature_, " " + signature_, signature_ + " ",
        "   " + other + "   " + signature_ + "   "}) {
    SCOPED_TRACE(header);
    EXPECT_NO_THROW(verify_signature(header));
  }
}

TEST_F(HmacWebhook, AValidSignatureIsFoundInAnyPosition) {
  const std::string a = signer_of(hmac_key::generate()).sign(kId, kNow, kBody);
  const std::string b = signer_of(hmac_key::generate()).sign(kId, kNow, kBody);
  for (const std::string& header :
       {signature_ + " " + a + " " + b, a + " " + signature_ + " " + b,
        a + " " + b + " " + signature_}) {
    SCOPED_TRACE(header);
    EXPECT_NO_THROW(verify_signature(header));
  }
}

TEST_F(HmacWebhook, ASignatureThatIsNotBase64IsRefused) {
  std::string broken = signature_;
  broken[5] = '*';
  for (const std::string& header :
       {broken, std::string("v1,not base64!"), std::string("v1,====")}) {
    SCOPED_TRACE(header);
    EXPECT_THROW(verify_signature(header), signature_mismatch_error);
  }
}

TEST_F(HmacWebhook, ABadEntryDoesNotHideAValidOne) {
  EXPECT_NO_THROW(verify_signature("v1,*** " + signature_));
  EXPECT_NO_THROW(verify_signature("v1, " + signature_));
  EXPECT_NO_THROW(verify_signature("garbage " + signature_));
}

TEST_F(HmacWebhook, ATruncatedSignatureIsRefused) {
  // Dropping only the '=' would leave the same bytes, as padding is optional; two
  // characters fewer is bad base64, four fewer is 30 well-encoded bytes.
  for (const std::size_t dropped : {2, 4, 8}) {
    const std::string truncated = signature_.substr(0, signature_.size() - dropped);
    SCOPED_TRACE(truncated);
    EXPECT_THROW(verify_signature(truncated), signature_mismatch_error);
  }
  EXPECT_THROW(verify_signature("v1,"), signature_mismatch_error);
}

TEST_F(HmacWebhook, ASignatureWithExtraBytesIsRefused) {
  const std::string mac = *decoded_signature(signature_);
  EXPECT_THROW(verify_signature("v1," + detail::base64_encode(mac + '\0')),
               signature_mismatch_error);
}

TEST_F(HmacWebhook, ASignatureWithOneBitFlippedIsRefused) {
  std::string mac = *decoded_signature(signature_);
  mac.back() = static_cast<char>(mac.back() ^ 0x01);
  EXPECT_THROW(verify_signature("v1," + detail::base64_encode(mac)),
               signature_mismatch_error);
}

TEST_F(HmacWebhook, AnUnknownVersionAloneIsAMismatch) {
  const std::string v2 = "v2," + signature_.substr(3);
  const auto e = thrown_by<signature_mismatch_error>([&] { verify_signature(v2); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "v1"));
}

TEST_F(HmacWebhook, AnUnknownVersionBesideAValidV1IsIgnored) {
  const std::string v2 = "v2," + signature_.substr(3);
  EXPECT_NO_THROW(verify_signature(v2 + " " + signature_));
  EXPECT_NO_THROW(verify_signature(signature_ + " " + v2));
  EXPECT_NO_THROW(verify_signature("v1b,xyz " + signature_));
}

TEST_F(HmacWebhook, TheVersionIsMatchedExactly) {
  for (const std::string_view version : {"V1,", "v10,", "v1a,", "v,", "1,"}) {
    SCOPED_TRACE(version);
    EXPECT_THROW(verify_signature(std::string(version) + signature_.substr(3)),
                 signature_mismatch_error);
  }
}

TEST_F(HmacWebhook, AHeaderWithoutAnyVersionCommaEntryIsMalformed) {
  for (const std::string& header :
       {signature_.substr(3), std::string("v1"), std::string(""), std::string("   "),
        "v1;" + signature_.substr(3), "," + signature_.substr(3)}) {
    SCOPED_TRACE(header);
    const auto e = thrown_by<malformed_header_error>([&] { verify_signature(header); });
    ASSERT_TRUE(e);
    EXPECT_TRUE(message_mentions(*e, "webhook-signature"));
  }
}

TEST_F(HmacWebhook, AnEmptyIdIsMalformed) {
  const std::string signature = signer_.sign("", kNow, kBody);
  const auto e = thrown_by<malformed_header_error>(
      [&] { verify("", timestamp_, signature, kBody); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "webhook-id"));
}

TEST_F(HmacWebhook, AMismatchIsAVerificationErrorAndAProtektError) {
  EXPECT_THROW(verify_body("{}"), verification_error);
  EXPECT_THROW(verify_body("{}"), error);
}

// ---- Missing headers ----------------------------------------------------------------

TEST_F(HmacWebhook, AMissingIdHeaderIsNamed) {
  const auto e = thrown_by<missing_header_error>([&] {
    verifier_.verify({std::nullopt, timestamp_, signature_}, kBody, kNow);
  });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "webhook-id"));
}

TEST_F(HmacWebhook, AMissingTimestampHeaderIsNamed) {
  const auto e = thrown_by<missing_header_error>([&] {
    verifier_.verify({kId, std::nullopt, signature_}, kBody, kNow);
  });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "webhook-timestamp"));
}

TEST_F(HmacWebhook, AMissingSignatureHeaderIsNamed) {
  const auto e = thrown_by<missing_header_error>([&] {
    verifier_.verify({kId, timestamp_, std::nullopt}, kBody, kNow);
  });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "webhook-signature"));
}

TEST_F(HmacWebhook, NoHeadersAtAllIsAMissingHeader) {
  EXPECT_THROW(verifier_.verify({}, kBody, kNow), missing_header_error);
}

TEST_F(HmacWebhook, AMissingHeaderIsReportedBeforeAMalformedOne) {
  EXPECT_THROW(verifier_.verify({kId, "not a number", std::nullopt}, kBody, kNow),
               missing_header_error);
  EXPECT_THROW(verifier_.verify({"", timestamp_, std::nullopt}, kBody, kNow),
               missing_header_error);
}

// ---- Timestamp tolerance ------------------------------------------------------------

// A receiver whose clock reads kNow, and messages signed at any time.
class TimestampTolerance : public ::testing::Test {
 protected:
  const hmac_key secret_ = hmac_key::generate();
  const signer signer_ = signer_of(secret_);

  // Verifies a correctly signed message sent at timestamp.
  void verify_sent_at(std::int64_t timestamp, const verifier& v) const {
    const std::string text = std::to_string(timestamp);
    const std::string signature = signer_.sign(kId, timestamp, kBody);
    v.verify({kId, text, signature}, kBody, kNow);
  }
  void verify_sent_at(std::int64_t timestamp) const {
    verify_sent_at(timestamp, verifier_of(secret_));
  }
  void verify_timestamp_text(std::string_view text) const {
    const std::string signature = signer_.sign(kId, kNow, kBody);
    verifier_of(secret_).verify({kId, text, signature}, kBody, kNow);
  }
};

TEST_F(TimestampTolerance, TheDefaultIsFiveMinutes) {
  EXPECT_EQ(verifier_of(secret_).tolerance(), 300s);
  EXPECT_EQ(kDefaultTolerance, 300s);
}

TEST_F(TimestampTolerance, AMessageExactlyToleranceOldIsAccepted) {
  EXPECT_NO_THROW(verify_sent_at(kNow - 300));
}

TEST_F(TimestampTolerance, AMessageExactlyToleranceAheadIsAccepted) {
  EXPECT_NO_THROW(verify_sent_at(kNow + 300));
}

TEST_F(TimestampTolerance, AMessageOneSecondTooOldIsATimestampError) {
  const auto e = thrown_by<timestamp_error>([&] { verify_sent_at(kNow - 301); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "301 s in the past"));
}

TEST_F(TimestampTolerance, AMessageOneSecondTooFarAheadIsATimestampError) {
  const auto e = thrown_by<timestamp_error>([&] { verify_sent_at(kNow + 301); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "301 s in the future"));
}

TEST_F(TimestampTolerance, AVeryOldOrVeryDistantMessageIsATimestampError) {
  for (const std::int64_t timestamp : {std::int64_t{0}, kNow - 86400, kNow + 86400,
                                       std::numeric_limits<std::int64_t>::max()}) {
    SCOPED_TRACE(timestamp);
    EXPECT_THROW(verify_timestamp_text(std::to_string(timestamp)), timestamp_error);
  }
}

TEST_F(TimestampTolerance, ACustomToleranceMovesBothEdges) {
  const verifier v(std::vector<verification_key>{secret_}, 10s);
  EXPECT_EQ(v.tolerance(), 10s);
  EXPECT_NO_THROW(verify_sent_at(kNow - 10, v));
  EXPECT_NO_THROW(verify_sent_at(kNow + 10, v));
  EXPECT_THROW(verify_sent_at(kNow - 11, v), timestamp_error);
  EXPECT_THROW(verify_sent_at(kNow + 11, v), timestamp_error);
}

TEST_F(TimestampTolerance, AWiderToleranceAcceptsWhatTheDefaultRefuses) {
  const verifier v(std::vector<verification_key>{secret_}, 1h);
  EXPECT_NO_THROW(verify_sent_at(kNow - 3600, v));
  EXPECT_NO_THROW(verify_sent_at(kNow + 3600, v));
  EXPECT_THROW(verify_sent_at(kNow - 3601, v), timestamp_error);
}

TEST_F(TimestampTolerance, AZeroToleranceAcceptsOnlyTheCurrentSecond) {
  const verifier v(std::vector<verification_key>{secret_}, 0s);
  EXPECT_NO_THROW(verify_sent_at(kNow, v));
  EXPECT_THROW(verify_sent_at(kNow - 1, v), timestamp_error);
  EXPECT_THROW(verify_sent_at(kNow + 1, v), timestamp_error);
}

TEST_F(TimestampTolerance, TheLargestToleranceAcceptsAnyTimestamp) {
  // Any non-negative tolerance is allowed, so the largest one must work too: the edge
  // computations may not overflow.
  const verifier v(std::vector<verification_key>{secret_}, std::chrono::seconds::max());
  EXPECT_NO_THROW(verify_sent_at(kNow, v));
  EXPECT_NO_THROW(verify_sent_at(0, v));
  EXPECT_NO_THROW(verify_sent_at(std::numeric_limits<std::int64_t>::max(), v));
}

TEST_F(TimestampTolerance, ANegativeToleranceIsRefused) {
  const auto e = thrown_by<validation_error>(
      [&] { verifier(std::vector<verification_key>{secret_}, -1s); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "tolerance");
  EXPECT_TRUE(message_mentions(*e, "negative"));
}

TEST_F(TimestampTolerance, AClockBeforeTheEpochIsRefused) {
  const std::string signature = signer_.sign(kId, 0, kBody);
  const auto e = thrown_by<validation_error>([&] {
    verifier_of(secret_).verify({kId, "0", signature}, kBody, -1);
  });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "now");
}

TEST_F(TimestampTolerance, TheTimestampIsCheckedBeforeTheSignature) {
  const std::string stale = std::to_string(kNow - 3600);
  EXPECT_THROW(verifier_of(secret_).verify({kId, stale, "v1,AAAA"}, kBody, kNow),
               timestamp_error);
}

TEST_F(TimestampTolerance, TheTwoArgumentVerifyReadsTheClock) {
  const verifier v = verifier_of(secret_);
  const std::int64_t now = unix_now();
  const std::string fresh = std::to_string(now);
  const std::string stale = std::to_string(now - 3600);
  EXPECT_NO_THROW(v.verify({kId, fresh, signer_.sign(kId, now, kBody)}, kBody));
  EXPECT_THROW(v.verify({kId, stale, signer_.sign(kId, now - 3600, kBody)}, kBody),
               timestamp_error);
}

TEST(UnixNow, ReadsTheSystemClockInSeconds) {
  const auto before = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const std::int64_t now = unix_now();
  const auto after = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  EXPECT_LE(before.count(), now);
  EXPECT_LE(now, after.count());
}

// A webhook-timestamp that is not plain decimal seconds since the epoch.
struct malformed_timestamp {
  std::string_view name;
  std::string_view text;
};

class MalformedTimestamp : public TimestampTolerance,
                           public ::testing::WithParamInterface<malformed_timestamp> {};

TEST_P(MalformedTimestamp, IsAMalformedHeaderError) {
  const std::string_view text = GetParam().text;
  const auto e =
      thrown_by<malformed_header_error>([&] { verify_timestamp_text(text); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "webhook-timestamp"));
}

INSTANTIATE_TEST_SUITE_P(
    Verifier, MalformedTimestamp,
    ::testing::Values(malformed_timestamp{"empty", ""},
                      malformed_timestamp{"letters", "yesterday"},
                      malformed_timestamp{"trailing_letters", "1700000000s"},
                      malformed_timestamp{"fraction", "1700000000.5"},
                      malformed_timestamp{"exponent", "1.7e9"},
                      malformed_timestamp{"hexadecimal", "0x6553f100"},
                      malformed_timestamp{"negative", "-1700000000"},
                      malformed_timestamp{"minus_zero", "-0"},
                      malformed_timestamp{"plus_sign", "+1700000000"},
                      malformed_timestamp{"leading_space", " 1700000000"},
                      malformed_timestamp{"trailing_space", "1700000000 "},
                      malformed_timestamp{"inner_space", "1700 000000"},
                      malformed_timestamp{"one_past_int64", "9223372036854775808"},
                      malformed_timestamp{"twenty_five_digits",
                                          "1000000000000000000000000"},
                      malformed_timestamp{"huge_exponent", "1e400"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Ed25519 ------------------------------------------------------------------------

// A sender holding an Ed25519 private key and a receiver holding its public key.
class Ed25519Webhook : public ::testing::Test {
 protected:
  const ed25519_private_key key_ = ed25519_private_key::generate();
  const signer signer_ = signer_of(key_);
  const verifier verifier_ = verifier_of(key_.public_key());
  const std::string timestamp_ = std::to_string(kNow);
  const std::string signature_ = signer_.sign(kId, kNow, kBody);

  void verify(std::string_view signature, std::string_view body) const {
    verifier_.verify({kId, timestamp_, signature}, body, kNow);
  }
};

TEST_F(Ed25519Webhook, SignatureIsV1aAndTheBase64OfSixtyFourBytes) {
  ASSERT_TRUE(signature_.starts_with("v1a,")) << signature_;
  const auto signature = decoded_signature(signature_);
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->size(), 64u);
}

TEST_F(Ed25519Webhook, SignsIdDotTimestampDotBody) {
  // Ed25519 is deterministic, so OpenSSL signing the spec's content directly must give
  // the same bytes as the signer.
  const std::string content =
      std::string(kId) + "." + timestamp_ + "." + std::string(kBody);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_NE(ctx, nullptr);
  std::string expected(64, '\0');
  std::size_t size = expected.size();
  const bool signed_ok =
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_.native()) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(expected.data()), &size,
                     reinterpret_cast<const unsigned char*>(content.data()),
                     content.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ASSERT_TRUE(signed_ok);
  EXPECT_EQ(signature_, "v1a," + detail::base64_encode(expected));
}

TEST_F(Ed25519Webhook, AVerifierHoldingOnlyThePublicKeyAccepts) {
  EXPECT_NO_THROW(verify(signature_, kBody));
}

TEST_F(Ed25519Webhook, APublicKeyReadFromItsTextAccepts) {
  const auto public_key = ed25519_public_key::parse(key_.public_key().to_string());
  EXPECT_NO_THROW(
      verifier_of(public_key).verify({kId, timestamp_, signature_}, kBody, kNow));
}

TEST_F(Ed25519Webhook, APrivateKeyReadFromItsTextSignsTheSame) {
  const auto parsed = ed25519_private_key::parse(key_.to_string());
  EXPECT_EQ(signer_of(parsed).sign(kId, kNow, kBody), signature_);
}

TEST_F(Ed25519Webhook, AnotherKeysPublicKeyRefuses) {
  const auto other = ed25519_private_key::generate().public_key();
  EXPECT_THROW(verifier_of(other).verify({kId, timestamp_, signature_}, kBody, kNow),
               signature_mismatch_error);
}

TEST_F(Ed25519Webhook, AChangedBodyIdOrTimestampIsRefused) {
  EXPECT_THROW(verify(signature_, std::string(kBody) + " "), signature_mismatch_error);
  EXPECT_THROW(verifier_.verify({"msg_other", timestamp_, signature_}, kBody, kNow),
               signature_mismatch_error);
  EXPECT_THROW(
      verifier_.verify({kId, std::to_string(kNow + 1), signature_}, kBody, kNow),
      signature_mismatch_error);
}

TEST_F(Ed25519Webhook, ASignatureWithOneBitFlippedIsRefused) {
  for (const std::size_t at : {std::size_t{0}, std::size_t{31}, std::size_t{63}}) {
    std::string bytes = *decoded_signature(signature_);
    bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
    EXPECT_THROW(verify("v1a," + detail::base64_encode(bytes), kBody),
                 signature_mismatch_error);
  }
}

TEST_F(Ed25519Webhook, ATruncatedOrBadlyEncodedSignatureIsRefused) {
  const std::string bytes = *decoded_signature(signature_);
  EXPECT_THROW(verify("v1a," + detail::base64_encode(bytes.substr(0, 63)), kBody),
               signature_mismatch_error);
  EXPECT_THROW(verify("v1a," + detail::base64_encode(bytes + bytes), kBody),
               signature_mismatch_error);
  EXPECT_THROW(verify(signature_.substr(0, signature_.size() - 1), kBody),
               signature_mismatch_error);
  EXPECT_THROW(verify("v1a,!!", kBody), signature_mismatch_error);
}

TEST_F(Ed25519Webhook, TheSignatureUnderTheV1VersionIsRefused) {
  EXPECT_THROW(verify("v1," + signature_.substr(4), kBody), signature_mismatch_error);
}

TEST_F(Ed25519Webhook, AnHmacVerifierRefusesAnEd25519Signature) {
  EXPECT_THROW(verifier_of(hmac_key::generate())
                   .verify({kId, timestamp_, signature_}, kBody, kNow),
               signature_mismatch_error);
}

// ---- Key rotation -------------------------------------------------------------------

// A secret being replaced: the sender signs with both, the newest first.
class SecretRotation : public ::testing::Test {
 protected:
  const hmac_key old_secret_ = hmac_key::generate();
  const hmac_key new_secret_ = hmac_key::generate();
  const std::string timestamp_ = std::to_string(kNow);
  const std::string header_ =
      signer_of(new_secret_, old_secret_).sign(kId, kNow, kBody);

  void verify_with(const verifier& v, std::string_view header) const {
    v.verify({kId, timestamp_, header}, kBody, kNow);
  }
};

TEST_F(SecretRotation, TheSignerWritesOneV1EntryPerSecretNewestFirst) {
  const std::vector<std::string> entries = entries_of(header_);
  ASSERT_EQ(entries.size(), 2u) << header_;
  EXPECT_EQ(entries[0], signer_of(new_secret_).sign(kId, kNow, kBody));
  EXPECT_EQ(entries[1], signer_of(old_secret_).sign(kId, kNow, kBody));
}

TEST_F(SecretRotation, AReceiverHoldingOnlyTheOldSecretAccepts) {
  EXPECT_NO_THROW(verify_with(verifier_of(old_secret_), header_));
}

TEST_F(SecretRotation, AReceiverHoldingOnlyTheNewSecretAccepts) {
  EXPECT_NO_THROW(verify_with(verifier_of(new_secret_), header_));
}

TEST_F(SecretRotation, AReceiverHoldingBothSecretsAcceptsEitherAlone) {
  const verifier both = verifier_of(old_secret_, new_secret_);
  for (const std::string& entry : entries_of(header_)) {
    EXPECT_NO_THROW(verify_with(both, entry));
  }
}

TEST_F(SecretRotation, AReceiverHoldingAnUnrelatedSecretRefuses) {
  EXPECT_THROW(verify_with(verifier_of(hmac_key::generate()), header_),
               signature_mismatch_error);
}

TEST_F(SecretRotation, ReorderedEntriesStillPass) {
  const std::vector<std::string> entries = entries_of(header_);
  ASSERT_EQ(entries.size(), 2u);
  const std::string reordered = entries[1] + " " + entries[0];
  EXPECT_NO_THROW(verify_with(verifier_of(old_secret_), reordered));
  EXPECT_NO_THROW(verify_with(verifier_of(new_secret_), reordered));
}

TEST_F(SecretRotation, OneTamperedEntryDoesNotHideTheOther) {
  std::vector<std::string> entries = entries_of(header_);
  ASSERT_EQ(entries.size(), 2u);
  entries[0][4] = entries[0][4] == 'A' ? 'B' : 'A';
  const std::string header = entries[0] + " " + entries[1];
  EXPECT_NO_THROW(verify_with(verifier_of(old_secret_), header));
  EXPECT_THROW(verify_with(verifier_of(new_secret_), header), signature_mismatch_error);
}

TEST(MixedKeys, ASignerWithASecretAndAnEd25519KeyWritesV1ThenV1a) {
  const hmac_key secret = hmac_key::generate();
  const ed25519_private_key key = ed25519_private_key::generate();
  const std::string header = signer_of(secret, key).sign(kId, kNow, kBody);
  const std::vector<std::string> entries = entries_of(header);
  ASSERT_EQ(entries.size(), 2u) << header;
  EXPECT_EQ(entries[0], signer_of(secret).sign(kId, kNow, kBody));
  EXPECT_EQ(entries[1], signer_of(key).sign(kId, kNow, kBody));

  const std::string timestamp = std::to_string(kNow);
  const webhook_headers headers{kId, timestamp, header};
  EXPECT_NO_THROW(verifier_of(secret).verify(headers, kBody, kNow));
  EXPECT_NO_THROW(verifier_of(key.public_key()).verify(headers, kBody, kNow));
  EXPECT_NO_THROW(verifier_of(key.public_key(), secret).verify(headers, kBody, kNow));
  EXPECT_THROW(verifier_of(secret).verify(headers, "{}", kNow),
               signature_mismatch_error);
}

TEST(MixedKeys, TheKeyOrderIsTheEntryOrder) {
  const hmac_key secret = hmac_key::generate();
  const ed25519_private_key key = ed25519_private_key::generate();
  const std::string header = signer_of(key, secret).sign(kId, kNow, kBody);
  const std::vector<std::string> entries = entries_of(header);
  ASSERT_EQ(entries.size(), 2u) << header;
  EXPECT_TRUE(entries[0].starts_with("v1a,")) << header;
  EXPECT_TRUE(entries[1].starts_with("v1,")) << header;
}

TEST(SignerAndVerifier, RefuseAnEmptyKeyList) {
  const auto s =
      thrown_by<validation_error>([] { signer(std::vector<signing_key>{}); });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->field(), "keys");
  const auto v =
      thrown_by<validation_error>([] { verifier(std::vector<verification_key>{}); });
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field(), "keys");
}

TEST(SignerAndVerifier, KeepWorkingAfterBeingMoved) {
  const hmac_key secret = hmac_key::generate();
  signer s = signer_of(secret);
  verifier v = verifier_of(secret);
  const signer moved_signer = std::move(s);
  const verifier moved_verifier = std::move(v);
  const std::string timestamp = std::to_string(kNow);
  const std::string signature = moved_signer.sign(kId, kNow, kBody);
  EXPECT_NO_THROW(moved_verifier.verify({kId, timestamp, signature}, kBody, kNow));
}

// ---- Threads ------------------------------------------------------------------------

// Several threads share one signer and one verifier, as a server's workers do.
class ConcurrentUse : public ::testing::Test {
 protected:
  static constexpr int kThreads = 4;

  // Runs body(thread, iteration) on kThreads threads and counts the iterations that
  // returned false or threw.
  template <typename Body>
  static int failures_of(int iterations, const Body& body) {
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < iterations; ++i) {
          bool ok = false;
          try {
            ok = body(t, i);
          } catch (const std::exception&) {
            ok = false;
          }
          if (!ok) failures.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return failures.load();
  }

  // Distinct messages, and their signatures computed on this thread beforehand.
  static std::vector<std::string> bodies() {
    std::vector<std::string> out;
    for (int i = 0; i < 16; ++i) out.push_back(R"({"n":)" + std::to_string(i) + "}");
    return out;
  }

  const std::string timestamp_ = std::to_string(kNow);
  const std::vector<std::string> bodies_ = bodies();

  // Whether verifying body against signature succeeds; any error other than a
  // mismatch propagates.
  bool accepts(const verifier& v, std::string_view signature,
               std::string_view body) const {
    try {
      v.verify({kId, timestamp_, signature}, body, kNow);
      return true;
    } catch (const signature_mismatch_error&) {
      return false;
    }
  }
};

TEST_F(ConcurrentUse, ThreadsSigningAndVerifyingWithOneSecretAllAgree) {
  const hmac_key secret = hmac_key::generate();
  const signer s = signer_of(secret);
  const verifier v = verifier_of(secret);
  std::vector<std::string> expected;
  for (const std::string& body : bodies_) expected.push_back(s.sign(kId, kNow, body));

  const int failures = failures_of(2000, [&](int t, int i) {
    const std::size_t n = static_cast<std::size_t>(t + i) % bodies_.size();
    const std::size_t other = (n + 1) % bodies_.size();
    const std::string signature = s.sign(kId, kNow, bodies_[n]);
    return signature == expected[n] && accepts(v, signature, bodies_[n]) &&
           !accepts(v, signature, bodies_[other]);
  });
  EXPECT_EQ(failures, 0);
}

TEST_F(ConcurrentUse, ThreadsSigningAndVerifyingWithRotatedSecretsAllAgree) {
  const hmac_key old_secret = hmac_key::generate();
  const hmac_key new_secret = hmac_key::generate();
  const signer s = signer_of(new_secret, old_secret);
  const verifier old_only = verifier_of(old_secret);
  std::vector<std::string> expected;
  for (const std::string& body : bodies_) expected.push_back(s.sign(kId, kNow, body));

  const int failures = failures_of(1000, [&](int t, int i) {
    const std::size_t n = static_cast<std::size_t>(t * 7 + i) % bodies_.size();
    const std::string signature = s.sign(kId, kNow, bodies_[n]);
    return signature == expected[n] && accepts(old_only, signature, bodies_[n]);
  });
  EXPECT_EQ(failures, 0);
}

TEST_F(ConcurrentUse, ThreadsSigningAndVerifyingWithOneEd25519KeyAllAgree) {
  const ed25519_private_key key = ed25519_private_key::generate();
  const signer s = signer_of(key);
  const verifier v = verifier_of(key.public_key());
  std::vector<std::string> expected;
  for (const std::string& body : bodies_) expected.push_back(s.sign(kId, kNow, body));

  const int failures = failures_of(250, [&](int t, int i) {
    const std::size_t n = static_cast<std::size_t>(t + i) % bodies_.size();
    const std::string signature = s.sign(kId, kNow, bodies_[n]);
    return signature == expected[n] && accepts(v, signature, bodies_[n]) &&
           !accepts(v, signature, bodies_[(n + 1) % bodies_.size()]);
  });
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace protekt
