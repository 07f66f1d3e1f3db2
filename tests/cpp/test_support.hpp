// Small helpers shared by the protekt_core tests.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace protekt::test {

// Runs action and returns the Error it throws, or nullopt (and a test failure) when it
// throws nothing. An exception of another type propagates, and GoogleTest reports it.
template <typename Error, typename Action>
std::optional<Error> thrown_by(Action&& action) {
  try {
    std::forward<Action>(action)();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an exception, but none was thrown";
  return std::nullopt;
}

// Whether needle occurs in the message of an exception, with both in the failure text.
inline ::testing::AssertionResult message_mentions(const std::exception& e,
                                                   std::string_view needle) {
  const std::string_view message = e.what();
  if (message.find(needle) != std::string_view::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "the message \"" << message << "\" does not mention \"" << needle << "\"";
}

}  // namespace protekt::test
