#include "protekt/api_token.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "protekt/error.hpp"
#include "test_support.hpp"

namespace protekt {
namespace {

using test::message_mentions;
using test::thrown_by;

// 32 random bytes in unpadded base64url.
constexpr std::size_t kTokenChars = 43;

bool is_base64url(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
  });
}

// A bearer token with a generated value, and that value.
class BearerToken : public ::testing::Test {
 protected:
  const api_token token_ = api_token::bearer();
  const std::string& value_ = token_.value();
};

TEST(ApiTokenGeneration, GivesThePrefixAndFortyThreeUrlSafeCharacters) {
  const std::string token = api_token::generate_token();
  ASSERT_TRUE(token.starts_with(kTokenPrefix)) << token;
  const std::string_view random = std::string_view(token).substr(kTokenPrefix.size());
  EXPECT_EQ(random.size(), kTokenChars);
  EXPECT_TRUE(is_base64url(random)) << token;
}

TEST(ApiTokenGeneration, NeverGivesTheSameTokenTwice) {
  EXPECT_NE(api_token::generate_token(), api_token::generate_token());
}

TEST_F(BearerToken, IsSentInTheAuthorizationHeader) {
  EXPECT_EQ(token_.header(), "authorization");
  EXPECT_EQ(token_.header(), kDefaultTokenHeader);
}

TEST_F(BearerToken, IsTheBearerSchemeAndAGeneratedToken) {
  const std::string_view scheme = "Bearer prt_";
  ASSERT_TRUE(value_.starts_with(scheme)) << value_;
  const std::string_view random = std::string_view(value_).substr(scheme.size());
  EXPECT_EQ(random.size(), kTokenChars);
  EXPECT_TRUE(is_base64url(random)) << value_;
}

TEST_F(BearerToken, MatchesItsOwnValue) {
  EXPECT_TRUE(token_.matches(value_));
  EXPECT_TRUE(token_.matches(std::string(value_)));
}

TEST_F(BearerToken, RefusesAValueOfTheSameLengthThatDiffersInOneCharacter) {
  for (const std::size_t at : {std::size_t{0}, value_.size() / 2, value_.size() - 1}) {
    std::string presented = value_;
    presented[at] = presented[at] == 'x' ? 'y' : 'x';
    SCOPED_TRACE(presented);
    EXPECT_FALSE(token_.matches(presented));
  }
}

TEST_F(BearerToken, RefusesAShorterOrLongerValue) {
  EXPECT_FALSE(token_.matches(std::string_view(value_).substr(0, value_.size() - 1)));
  EXPECT_FALSE(token_.matches(value_ + "x"));
  EXPECT_FALSE(token_.matches(value_ + " "));
  EXPECT_FALSE(token_.matches(""));
}

TEST_F(BearerToken, RefusesTheTokenWithoutItsScheme) {
  EXPECT_FALSE(token_.matches(std::string_view(value_).substr(7)));
}

TEST_F(BearerToken, ComparesTheSchemeCaseSensitively) {
  EXPECT_FALSE(token_.matches("bearer " + value_.substr(7)));
}

TEST_F(BearerToken, RefusesAnotherGeneratedToken) {
  EXPECT_FALSE(token_.matches(api_token::bearer().value()));
}

TEST(ApiToken, BearerWrapsAGivenToken) {
  const api_token token = api_token::bearer("prt_given");
  EXPECT_EQ(token.header(), "authorization");
  EXPECT_EQ(token.value(), "Bearer prt_given");
  EXPECT_TRUE(token.matches("Bearer prt_given"));
  EXPECT_FALSE(token.matches("prt_given"));
}

TEST(ApiToken, BearerRefusesAGivenTokenWithALineBreak) {
  EXPECT_THROW(api_token::bearer("prt_a\r\nx-injected: 1"), validation_error);
}

TEST(ApiToken, KeepsACustomHeaderAndValue) {
  const api_token token("x-api-key", "s3cr3t value");
  EXPECT_EQ(token.header(), "x-api-key");
  EXPECT_EQ(token.value(), "s3cr3t value");
  EXPECT_TRUE(token.matches("s3cr3t value"));
}

TEST(ApiToken, LowerCasesTheHeaderName) {
  EXPECT_EQ(api_token("X-Api-KEY", "v").header(), "x-api-key");
  EXPECT_EQ(api_token("Authorization", "v").header(), "authorization");
}

TEST(ApiToken, AcceptsEveryTokenCharacterInAHeaderName) {
  const std::string_view name = "aZ09!#$%&'*+-.^_`|~";
  EXPECT_EQ(api_token(name, "v").header(), "az09!#$%&'*+-.^_`|~");
}

TEST(ApiToken, RefusesHeaderNamesThatAreNotHttpTokens) {
  for (const std::string_view name :
       {"", "x api key", "x-api-key:", ":authority", "x-api-key\r\n", "x\tkey",
        "x(key)", "x\"key\"", "x/key", "kl\xc3\xa9"}) {
    SCOPED_TRACE(name);
    const auto e = thrown_by<validation_error>([&] { api_token(name, "value"); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field(), "header");
    EXPECT_TRUE(message_mentions(*e, "header name"));
  }
}

TEST(ApiToken, RefusesValuesWithControlCharacters) {
  using namespace std::string_view_literals;
  for (const std::string_view value :
       {"a\rb"sv, "a\nb"sv, "token\r\n"sv, "\r\nx-injected: 1"sv, "a\0b"sv, "a\x7f"sv,
        "a\x1b"sv}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(value)));
    const auto e = thrown_by<validation_error>([&] { api_token("x-api-key", value); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field(), "token");
    EXPECT_TRUE(message_mentions(*e, "control characters"));
  }
}

TEST(ApiToken, RefusesAnEmptyValue) {
  const auto e = thrown_by<validation_error>([] { api_token("x-api-key", ""); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "token");
  EXPECT_TRUE(message_mentions(*e, "non-empty"));
}

}  // namespace
}  // namespace protekt
