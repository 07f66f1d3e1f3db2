#include "protekt/log.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace protekt {
namespace {

// Installs a sink that keeps every line, and removes it (and resets the level) after.
class Log : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_level(log_level::info);
    set_log_sink([this](log_level level, std::string message) {
      lines_.emplace_back(level, std::move(message));
    });
  }
  void TearDown() override {
    set_log_sink({});
    set_log_level(log_level::info);
  }

  std::vector<std::pair<log_level, std::string>> lines_;
};

TEST_F(Log, PassesLinesAtOrAboveTheLevelToTheSink) {
  set_log_level(log_level::warning);

  log(log_level::info, [] { return std::string("quiet"); });
  log(log_level::warning, [] { return std::string("loud"); });
  log(log_level::error, [] { return std::string("louder"); });

  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(lines_[0], std::make_pair(log_level::warning, std::string("loud")));
  EXPECT_EQ(lines_[1].first, log_level::error);
}

TEST_F(Log, BuildsNoMessageBelowTheLevel) {
  set_log_level(log_level::error);
  int built = 0;

  log(log_level::info, [&] {
    ++built;
    return std::string("never");
  });

  EXPECT_EQ(built, 0);
  EXPECT_TRUE(lines_.empty());
}

TEST_F(Log, IsOffWithoutASink) {
  set_log_sink({});
  int built = 0;

  log(log_level::error, [&] {
    ++built;
    return std::string("nobody listens");
  });

  EXPECT_FALSE(log_enabled(log_level::error));
  EXPECT_EQ(built, 0);
}

TEST_F(Log, ASinkThatThrowsLosesTheLineAndNothingElse) {
  set_log_sink([](log_level, std::string) { throw std::runtime_error("full"); });

  EXPECT_NO_THROW(log(log_level::error, [] { return std::string("lost"); }));
}

}  // namespace
}  // namespace protekt
