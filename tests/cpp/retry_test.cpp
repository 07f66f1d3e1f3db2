#include "protekt/retry.hpp"

#include <gtest/gtest.h>

#include "common/civil_time.hpp"

namespace protekt {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 1994-11-06 08:49:37 UTC, the date in RFC 9110's examples.
constexpr std::int64_t kRfcExampleMs = 784111777000;

retry_policy exponential(bool jitter) {
  retry_policy p;
  p.backoff = backoff_kind::exponential;
  p.interval = seconds(10);
  p.max_interval = seconds(100);
  p.jitter = jitter;
  return p;
}

TEST(RetriesLeft, AllowsTheFirstAttemptPlusMaxAttemptsRetries) {
  retry_policy p;  // max_attempts 3: four attempts in all
  EXPECT_TRUE(retries_left(p, 1));
  EXPECT_TRUE(retries_left(p, 3));
  EXPECT_FALSE(retries_left(p, 4));
  p.max_attempts = 0;
  EXPECT_FALSE(retries_left(p, 1));
}

TEST(RetryDelay, IsTheIntervalForAFixedPolicy) {
  const retry_policy p;  // fixed, 60 s
  EXPECT_EQ(retry_delay(p, 1, 0.7), seconds(60));
  EXPECT_EQ(retry_delay(p, 3, 0.1), seconds(60));
}

TEST(RetryDelay, DoublesUpToTheCapWithoutJitter) {
  const retry_policy p = exponential(false);
  EXPECT_EQ(retry_delay(p, 1, 0.5), seconds(10));
  EXPECT_EQ(retry_delay(p, 2, 0.5), seconds(20));
  EXPECT_EQ(retry_delay(p, 4, 0.5), seconds(80));
  EXPECT_EQ(retry_delay(p, 5, 0.5), seconds(100));
  EXPECT_EQ(retry_delay(p, 60, 0.5), seconds(100));
}

TEST(RetryDelay, JitterStaysInTheUpperHalfOfTheWait) {
  const retry_policy p = exponential(true);
  EXPECT_EQ(retry_delay(p, 3, 0.0), seconds(20));
  EXPECT_EQ(retry_delay(p, 3, 0.5), seconds(30));
  EXPECT_LT(retry_delay(p, 3, 0.999), seconds(40));
  EXPECT_EQ(retry_delay(p, 30, 0.0), seconds(50));
}

TEST(ParseRetryAfter, ReadsDelaySeconds) {
  EXPECT_EQ(parse_retry_after("120", 0), seconds(120));
  EXPECT_EQ(parse_retry_after(" 5 ", 0), seconds(5));
}

TEST(ParseRetryAfter, ClampsToTheSaneRange) {
  EXPECT_EQ(parse_retry_after("0", 0), kMinRetryAfter);
  EXPECT_EQ(parse_retry_after("999999999", 0), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("99999999999999999999999", 0), kMaxRetryAfter);
}

TEST(ParseRetryAfter, ReadsEachHttpDateForm) {
  const std::int64_t now = kRfcExampleMs - 90'000;
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), seconds(90));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), seconds(90));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), seconds(90));
}

TEST(ParseRetryAfter, TreatsADateInThePastAsTheShortestWait) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kRfcExampleMs + 5000),
            kMinRetryAfter);
}

TEST(ParseRetryAfter, RefusesAnythingElse) {
  for (const char* bad :
       {"", "-5", "soon", "12abc", "Sun, 06 Nov 1994 08:49:37",
        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT"}) {
    EXPECT_FALSE(parse_retry_after(bad, 0).has_value()) << bad;
  }
}

TEST(CivilTime, ConvertsDatesAndDayCountsBothWays) {
  EXPECT_EQ(detail::days_from_civil({1970, 1, 1}), 0);
  EXPECT_EQ(detail::days_from_civil({2000, 3, 1}), 11017);
  EXPECT_EQ(detail::days_from_civil({1994, 11, 6}) * 86'400'000 + 31'777'000,
            kRfcExampleMs);
  for (std::int64_t days = -800'000; days <= 800'000; days += 997) {
    EXPECT_EQ(detail::days_from_civil(detail::civil_from_days(days)), days);
  }
  const detail::civil_date leap = detail::civil_from_days(11016);  // 2000-02-29
  EXPECT_EQ(leap.year, 2000);
  EXPECT_EQ(leap.month, 2);
  EXPECT_EQ(leap.day, 29);
}

}  // namespace
}  // namespace protekt
