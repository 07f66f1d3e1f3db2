#include "common/base64.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

namespace protekt::detail {
namespace {

// RFC 4648, section 10: the encodings of the prefixes of "foobar".
struct rfc4648_vector {
  std::string_view bytes;
  std::string_view padded;
  std::string_view unpadded;
};

constexpr std::array<rfc4648_vector, 7> kRfc4648Vectors = {{
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
}};

// Every byte value once, so that both alphabets are used in full.
std::string all_byte_values() {
  std::string bytes(256, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i);
  return bytes;
}

TEST(Base64, EncodesTheRfc4648VectorsWithPadding) {
  for (const auto& v : kRfc4648Vectors) {
    SCOPED_TRACE(v.bytes);
    EXPECT_EQ(base64_encode(v.bytes), v.padded);
  }
}

TEST(Base64, DecodesTheRfc4648VectorsWithPadding) {
  for (const auto& v : kRfc4648Vectors) {
    SCOPED_TRACE(v.padded);
    EXPECT_EQ(base64_decode(v.padded), std::string(v.bytes));
  }
}

TEST(Base64, DecodesTheRfc4648VectorsWithoutPadding) {
  for (const auto& v : kRfc4648Vectors) {
    SCOPED_TRACE(v.unpadded);
    EXPECT_EQ(base64_decode(v.unpadded), std::string(v.bytes));
  }
}

TEST(Base64, EncodeIntoAppendsToWhatIsAlreadyThere) {
  std::string out = "v1,";
  base64_encode_into(out, "fooba");
  EXPECT_EQ(out, "v1,Zm9vYmE=");
}

TEST(Base64, RoundTripsEveryByteValueAtEveryLength) {
  const std::string bytes = all_byte_values();
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    const std::string_view input(bytes.data(), length);
    const std::string encoded = base64_encode(input);
    SCOPED_TRACE(encoded);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(base64_decode(encoded), std::string(input));
  }
}

TEST(Base64, UsesPlusAndSlashForTheLastTwoDigits) {
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("+/8="), std::string("\xfb\xff"));
}

TEST(Base64, RefusesCharactersOutsideTheStandardAlphabet) {
  using namespace std::string_view_literals;
  for (const std::string_view text :
       {"Zm9!"sv, "Zm9v Yg="sv, "Zm\n9"sv, "-_8="sv, "Zm\0v"sv, "Zm9v\xc3\xa9"sv}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(base64_decode(text), std::nullopt);
  }
}

TEST(Base64, RefusesALengthOfOneMoreThanAMultipleOfFour) {
  for (const std::string_view text : {"Z", "Zm9vY", "Zm9vYmFyZ", "Zm9vY="}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(base64_decode(text), std::nullopt);
  }
}

TEST(Base64, RefusesPaddingThatDoesNotCompleteAGroup) {
  for (const std::string_view text :
       {"=", "==", "====", "Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v==", "Zg==Zg=="}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(base64_decode(text), std::nullopt);
  }
}

TEST(Base64, RefusesNonZeroBitsAfterTheLastByte) {
  // "Zg" and "Zm8" are canonical; one more bit set in the final digit is not.
  for (const std::string_view text : {"Zh==", "Zh", "Zv==", "Zm9=", "Zm9", "Zm/="}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(base64_decode(text), std::nullopt);
  }
}

TEST(Base64DecodeInto, WritesTheBytesAndReturnsHowMany) {
  for (const auto& v : kRfc4648Vectors) {
    SCOPED_TRACE(v.padded);
    std::array<char, 6> buffer{};
    const auto size = base64_decode_into(v.padded, buffer.data(), v.bytes.size());
    ASSERT_EQ(size, v.bytes.size());
    EXPECT_EQ(std::string_view(buffer.data(), *size), v.bytes);
  }
}

TEST(Base64DecodeInto, RefusesABufferOneByteTooSmall) {
  std::array<char, 6> buffer{};
  EXPECT_EQ(base64_decode_into("Zm9vYmFy", buffer.data(), 5), std::nullopt);
  EXPECT_EQ(base64_decode_into("Zm9vYmE=", buffer.data(), 4), std::nullopt);
  EXPECT_EQ(base64_decode_into("Zg", buffer.data(), 0), std::nullopt);
}

TEST(Base64DecodeInto, RefusesWhatBase64DecodeRefuses) {
  std::array<char, 8> buffer{};
  for (const std::string_view text : {"Zm9!", "Zm9vY", "Zg=", "Zh=="}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(base64_decode_into(text, buffer.data(), buffer.size()), std::nullopt);
  }
}

TEST(Base64Url, EncodesTheRfc4648VectorsWithoutPadding) {
  for (const auto& v : kRfc4648Vectors) {
    SCOPED_TRACE(v.bytes);
    EXPECT_EQ(base64url_encode(v.bytes), v.unpadded);
  }
}

TEST(Base64Url, UsesMinusAndUnderscoreForTheLastTwoDigits) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("\xfb\xef\xbe"), "----");
  EXPECT_EQ(base64url_encode("\xff\xff\xff"), "____");
}

TEST(Base64Url, DiffersFromTheStandardAlphabetOnlyInThoseTwoDigitsAndPadding) {
  const std::string bytes = all_byte_values();
  std::string expected = base64_encode(bytes);
  while (!expected.empty() && expected.back() == '=') expected.pop_back();
  for (char& c : expected) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  EXPECT_EQ(base64url_encode(bytes), expected);
}

}  // namespace
}  // namespace protekt::detail
