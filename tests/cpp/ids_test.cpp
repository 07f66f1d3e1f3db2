#include "protekt/ids.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

namespace protekt {
namespace {

// 2026-01-01T00:00:00Z, a time well inside the 48 bits of an id.
constexpr std::int64_t kNewYear2026Ms = 1767225600000;

constexpr std::size_t kTextChars = 26;

// Generates ids, each from a fresh generator so that its random part is new.
class Ids : public ::testing::Test {
 protected:
  id128 make(std::int64_t now_ms = kNewYear2026Ms) {
    return id_generator().next(now_ms);
  }
};

TEST_F(Ids, RoundTripThroughTheirText) {
  const id128 id = make();
  const auto parsed = id128::parse(id.to_string(kEventPrefix), kEventPrefix);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, id);
}

TEST_F(Ids, WriteTheirBitsInCrockfordBase32MostSignificantFirst) {
  id128 counting;
  id128 full;
  for (unsigned char i = 0; i < 16; ++i) {
    counting.bytes[i] = i;
    full.bytes[i] = 0xff;
  }
  EXPECT_EQ(counting.to_string(kEventPrefix), "evt_00041061050R3GG28A1C60T3GF");
  EXPECT_EQ(full.to_string(""), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  EXPECT_EQ(id128{}.to_string(""), std::string(26, '0'));
}

TEST_F(Ids, WriteThePrefixAndTwentySixCharacters) {
  const std::string text = make().to_string(kEndpointPrefix);
  ASSERT_TRUE(text.starts_with(kEndpointPrefix)) << text;
  EXPECT_EQ(text.size(), kEndpointPrefix.size() + kTextChars) << text;
}

TEST_F(Ids, AreNotParsedUnderAnotherPrefix) {
  const std::string text = make().to_string(kEventPrefix);
  EXPECT_FALSE(id128::parse(text, kEndpointPrefix).has_value()) << text;
}

TEST_F(Ids, AcceptLowercaseText) {
  const id128 id = make();
  std::string text = id.to_string(kEventPrefix);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  const auto parsed = id128::parse(text, kEventPrefix);
  ASSERT_TRUE(parsed.has_value()) << text;
  EXPECT_EQ(*parsed, id);
}

TEST_F(Ids, RefuseCharactersOutsideCrockfordBase32) {
  const std::string text = make().to_string(kEventPrefix);
  for (const char bad : {'I', 'L', 'O', 'U', '-', '!', ' '}) {
    std::string changed = text;
    changed.back() = bad;
    EXPECT_FALSE(id128::parse(changed, kEventPrefix).has_value()) << changed;
  }
}

TEST_F(Ids, RefuseTextOfTheWrongLength) {
  const std::string text = make().to_string(kEventPrefix);
  EXPECT_FALSE(id128::parse(text.substr(0, text.size() - 1), kEventPrefix));
  EXPECT_FALSE(id128::parse(text + "0", kEventPrefix));
  EXPECT_FALSE(id128::parse(kEventPrefix, kEventPrefix));
}

TEST_F(Ids, RefuseAFirstCharacterThatWouldOverflowOneHundredTwentyEightBits) {
  // The first character carries the top three bits, so 7 is its largest value.
  const std::string rest(kTextChars - 1, 'Z');
  const auto largest = id128::parse("evt_7" + rest, kEventPrefix);
  ASSERT_TRUE(largest.has_value());
  for (const unsigned char byte : largest->bytes) EXPECT_EQ(byte, 0xff);
  EXPECT_FALSE(id128::parse("evt_8" + rest, kEventPrefix).has_value());
  EXPECT_FALSE(id128::parse("evt_Z" + rest, kEventPrefix).has_value());
}

TEST_F(Ids, KeepTheMillisecondsTheyWereMadeAt) {
  EXPECT_EQ(make(kNewYear2026Ms).timestamp_ms(), kNewYear2026Ms);
  EXPECT_EQ(make(0).timestamp_ms(), 0);
  const std::int64_t largest = (std::int64_t{1} << 48) - 1;
  EXPECT_EQ(make(largest).timestamp_ms(), largest);
}

TEST_F(Ids, SortByTheirTimeInBytesAndInText) {
  const id128 earlier = make(kNewYear2026Ms);
  const id128 later = make(kNewYear2026Ms + 1);
  EXPECT_LT(earlier, later);
  EXPECT_LT(earlier.to_string(kEventPrefix), later.to_string(kEventPrefix));
}

TEST_F(Ids, SurviveTheirRawBytes) {
  const id128 id = make();
  EXPECT_EQ(id128::from_raw(id.raw()), id);
  EXPECT_EQ(id.raw().size(), 16u);
}

// ---- id_generator ---------------------------------------------------------------

TEST(IdGenerator, MakesStrictlyIncreasingIdsWithinOneMillisecond) {
  id_generator ids;
  id128 previous = ids.next(kNewYear2026Ms);
  for (int i = 0; i < 1000; ++i) {
    const id128 next = ids.next(kNewYear2026Ms);
    ASSERT_LT(previous, next) << "at id " << i;
    ASSERT_LT(previous.to_string(kEventPrefix), next.to_string(kEventPrefix));
    previous = next;
  }
}

TEST(IdGenerator, KeepsIncreasingWhenTheClockStepsBack) {
  id_generator ids;
  const id128 before = ids.next(kNewYear2026Ms);
  const id128 after_step_back = ids.next(kNewYear2026Ms - 5000);
  const id128 later_still = ids.next(kNewYear2026Ms - 4000);
  EXPECT_LT(before, after_step_back);
  EXPECT_LT(after_step_back, later_still);
}

TEST(IdGenerator, StartsFromTheNewTimeWhenTheClockMovesOn) {
  id_generator ids;
  ids.next(kNewYear2026Ms);
  const id128 id = ids.next(kNewYear2026Ms + 7);
  EXPECT_EQ(id.timestamp_ms(), kNewYear2026Ms + 7);
}

TEST(IdGenerator, GivesTwoGeneratorsDifferentRandomParts) {
  std::vector<id128> ids;
  for (int i = 0; i < 16; ++i) ids.push_back(id_generator().next(kNewYear2026Ms));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
}

TEST(UnixNow, ReadsTheSystemClockInMilliseconds) {
  constexpr std::int64_t kNewYear2020Ms = 1577836800000;
  EXPECT_GT(unix_now_ms(), kNewYear2020Ms);
}

}  // namespace
}  // namespace protekt
