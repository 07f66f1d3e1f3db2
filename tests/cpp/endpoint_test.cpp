#include "protekt/endpoint.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "protekt/error.hpp"
#include "protekt/events.hpp"
#include "protekt/keys.hpp"
#include "test_support.hpp"

namespace protekt {
namespace {

using json = nlohmann::json;
using test::message_mentions;
using test::thrown_by;

// An endpoint that passes validation; each test breaks one field of it.
class EndpointValidation : public ::testing::Test {
 protected:
  EndpointValidation() {
    endpoint_.url = "https://hooks.example.com/protekt";
    endpoint_.auth = shared_secret_auth{{{hmac_key::generate().to_string(), {}}}};
    endpoint_.events = {"user.login.failed", "user.login.succeeded"};
  }

  // The field named by the validation_error that validate() throws, or "" (and a
  // failure) when it accepts the endpoint.
  std::string refused_field() {
    const auto e = thrown_by<validation_error>([&] { validate(endpoint_, rules_); });
    return e ? e->field() : "";
  }

  endpoint endpoint_;
  validation_rules rules_;
};

TEST_F(EndpointValidation, AcceptsAnHttpsEndpointWithASecret) {
  EXPECT_NO_THROW(validate(endpoint_, rules_));
}

TEST_F(EndpointValidation, RefusesAPlainHttpUrl) {
  endpoint_.url = "http://hooks.example.com/protekt";
  const auto e = thrown_by<validation_error>([&] { validate(endpoint_, rules_); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "url");
  EXPECT_TRUE(message_mentions(*e, "allow_http"));
}

TEST_F(EndpointValidation, AcceptsAPlainHttpUrlWhenHttpIsAllowed) {
  endpoint_.url = "http://localhost:8000/hooks";
  rules_.allow_http = true;
  EXPECT_NO_THROW(validate(endpoint_, rules_));
}

TEST_F(EndpointValidation, RefusesASchemeOtherThanHttps) {
  endpoint_.url = "ftp://hooks.example.com/protekt";
  rules_.allow_http = true;
  const auto e = thrown_by<validation_error>([&] { validate(endpoint_, rules_); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "url");
  EXPECT_TRUE(message_mentions(*e, "ftp"));
}

TEST_F(EndpointValidation, RefusesAUserNameInTheUrl) {
  endpoint_.url = "https://alice:hunter2@hooks.example.com/protekt";
  EXPECT_EQ(refused_field(), "url");
}

TEST_F(EndpointValidation, RefusesAFragmentInTheUrl) {
  endpoint_.url = "https://hooks.example.com/protekt#section";
  EXPECT_EQ(refused_field(), "url");
}

TEST_F(EndpointValidation, RefusesAUrlWithoutAHost) {
  endpoint_.url = "https:///protekt";
  EXPECT_EQ(refused_field(), "url");
}

TEST_F(EndpointValidation, RefusesARelativeUrl) {
  endpoint_.url = "/protekt";
  EXPECT_EQ(refused_field(), "url");
}

TEST_F(EndpointValidation, RefusesAUrlLongerThanTwoThousandFortyEightCharacters) {
  const std::string base = "https://hooks.example.com/";
  endpoint_.url = base + std::string(2048 - base.size(), 'a');
  EXPECT_NO_THROW(validate(endpoint_, rules_));
  endpoint_.url += "a";
  EXPECT_EQ(refused_field(), "url");
}

TEST_F(EndpointValidation, RefusesAnEndpointWithoutEvents) {
  endpoint_.events.clear();
  EXPECT_EQ(refused_field(), "events");
}

TEST_F(EndpointValidation, RefusesAnUnknownEventAndListsTheCatalogue) {
  endpoint_.events = {"user.logged_in"};
  const auto e = thrown_by<validation_error>([&] { validate(endpoint_, rules_); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "events");
  EXPECT_TRUE(message_mentions(*e, "user.logged_in"));
  EXPECT_TRUE(message_mentions(*e, catalogue_list()));
}

TEST_F(EndpointValidation, AcceptsZeroToFiftyRetries) {
  for (const int attempts : {0, 50}) {
    endpoint_.retry.max_attempts = attempts;
    EXPECT_NO_THROW(validate(endpoint_, rules_)) << attempts;
  }
}

TEST_F(EndpointValidation, RefusesANegativeRetryCount) {
  endpoint_.retry.max_attempts = -1;
  EXPECT_EQ(refused_field(), "retry.max_attempts");
}

TEST_F(EndpointValidation, RefusesMoreThanFiftyRetries) {
  endpoint_.retry.max_attempts = 51;
  EXPECT_EQ(refused_field(), "retry.max_attempts");
}

TEST_F(EndpointValidation, RefusesARetryIntervalOfZero) {
  endpoint_.retry.interval = std::chrono::seconds(0);
  EXPECT_EQ(refused_field(), "retry.interval");
}

TEST_F(EndpointValidation, RefusesAMaximumIntervalBelowTheInterval) {
  endpoint_.retry.interval = std::chrono::seconds(120);
  endpoint_.retry.max_interval = std::chrono::seconds(60);
  EXPECT_EQ(refused_field(), "retry.max_interval");
}

TEST_F(EndpointValidation, RefusesATimeoutBelowOneTenthOfASecond) {
  endpoint_.timeout = std::chrono::milliseconds(99);
  EXPECT_EQ(refused_field(), "timeout");
}

TEST_F(EndpointValidation, RefusesATimeoutAboveFiveMinutes) {
  endpoint_.timeout = std::chrono::minutes(5) + std::chrono::milliseconds(1);
  EXPECT_EQ(refused_field(), "timeout");
}

TEST_F(EndpointValidation, AcceptsTheTimeoutLimitsThemselves) {
  for (const auto timeout : {std::chrono::milliseconds(100),
                             std::chrono::milliseconds(std::chrono::minutes(5))}) {
    endpoint_.timeout = timeout;
    EXPECT_NO_THROW(validate(endpoint_, rules_)) << timeout.count();
  }
}

TEST_F(EndpointValidation, RefusesAFailureNotificationThatIsNotAnEmailAddress) {
  endpoint_.notification = {notification_kind::email, "ops at example dot com"};
  EXPECT_EQ(refused_field(), "failure_notification");
}

TEST_F(EndpointValidation, RefusesAPlainHttpFailureNotificationUrl) {
  endpoint_.notification = {notification_kind::webhook, "http://ops.example.com/"};
  EXPECT_EQ(refused_field(), "failure_notification");
}

TEST_F(EndpointValidation, AcceptsAnEmailOrHttpsFailureNotification) {
  endpoint_.notification = {notification_kind::email, "ops@example.com"};
  EXPECT_NO_THROW(validate(endpoint_, rules_));
  endpoint_.notification = {notification_kind::webhook, "https://ops.example.com/"};
  EXPECT_NO_THROW(validate(endpoint_, rules_));
}

TEST_F(EndpointValidation, RefusesASecretThatDoesNotParse) {
  endpoint_.auth = shared_secret_auth{{{"whsec_not base64!", {}}}};
  EXPECT_EQ(refused_field(), "auth.secret");
}

TEST_F(EndpointValidation, RefusesSharedSecretAuthWithoutASecret) {
  endpoint_.auth = shared_secret_auth{};
  EXPECT_EQ(refused_field(), "auth");
}

TEST_F(EndpointValidation, RefusesAnApiTokenWithABadHeaderName) {
  endpoint_.auth = api_token_auth{"x api token", "prt_token"};
  EXPECT_EQ(refused_field(), "auth.header");
}

TEST_F(EndpointValidation, AcceptsAnApiTokenWithAGoodHeaderName) {
  endpoint_.auth = api_token_auth{"x-api-token", "prt_token"};
  EXPECT_NO_THROW(validate(endpoint_, rules_));
}

// ---- JSON -------------------------------------------------------------------------

// Every member of two endpoints, compared one by one so a failure names the member.
void expect_same(const endpoint& got, const endpoint& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.url, want.url);
  EXPECT_EQ(got.description, want.description);
  ASSERT_EQ(got.auth.index(), want.auth.index());
  if (const auto* secrets = std::get_if<shared_secret_auth>(&want.auth)) {
    const auto& got_secrets = std::get<shared_secret_auth>(got.auth).secrets;
    ASSERT_EQ(got_secrets.size(), secrets->secrets.size());
    for (std::size_t i = 0; i < got_secrets.size(); ++i) {
      EXPECT_EQ(got_secrets[i].secret, secrets->secrets[i].secret) << i;
      EXPECT_EQ(got_secrets[i].expires_ms, secrets->secrets[i].expires_ms) << i;
    }
  } else {
    const auto& token = std::get<api_token_auth>(want.auth);
    EXPECT_EQ(std::get<api_token_auth>(got.auth).header, token.header);
    EXPECT_EQ(std::get<api_token_auth>(got.auth).value, token.value);
  }
  EXPECT_EQ(got.events, want.events);
  EXPECT_EQ(got.payload, want.payload);
  EXPECT_EQ(got.retry.max_attempts, want.retry.max_attempts);
  EXPECT_EQ(got.retry.interval, want.retry.interval);
  EXPECT_EQ(got.retry.backoff, want.retry.backoff);
  EXPECT_EQ(got.retry.max_interval, want.retry.max_interval);
  EXPECT_EQ(got.retry.jitter, want.retry.jitter);
  EXPECT_EQ(got.dead_letter_queue, want.dead_letter_queue);
  EXPECT_EQ(got.notification.kind, want.notification.kind);
  EXPECT_EQ(got.notification.target, want.notification.target);
  EXPECT_EQ(got.timeout, want.timeout);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.created_ms, want.created_ms);
  EXPECT_EQ(got.updated_ms, want.updated_ms);
}

// An endpoint with no member left at its default.
class EndpointJson : public ::testing::Test {
 protected:
  EndpointJson() {
    endpoint_.id = id_generator().next(1767225600000);
    endpoint_.url = "https://hooks.example.com/protekt";
    endpoint_.description = "the \"audit\" service";
    endpoint_.auth = shared_secret_auth{{
        {hmac_key::generate().to_string(), std::nullopt},
        {hmac_key::generate().to_string(), 1767229200000},
    }};
    endpoint_.events = {"user.login.failed", "user.registered"};
    endpoint_.payload = {payload_format::form, metadata_ip | metadata_device};
    endpoint_.retry = {10, std::chrono::seconds(30), backoff_kind::exponential,
                       std::chrono::seconds(600), false};
    endpoint_.dead_letter_queue = true;
    endpoint_.notification = {notification_kind::email, "ops@example.com"};
    endpoint_.timeout = std::chrono::milliseconds(5000);
    endpoint_.status = endpoint_status::paused;
    endpoint_.created_ms = 1767225600000;
    endpoint_.updated_ms = 1767225600123;
  }

  endpoint round_trip() const { return endpoint_from_json(json(endpoint_)); }

  // The field named by the validation_error that endpoint_from_json throws for j.
  static std::string refused_field(const json& j) {
    const auto e = thrown_by<validation_error>([&] { endpoint_from_json(j); });
    return e ? e->field() : "";
  }

  endpoint endpoint_;
};

TEST_F(EndpointJson, RoundTripKeepsEveryField) {
  expect_same(round_trip(), endpoint_);
}

TEST_F(EndpointJson, RoundTripKeepsAnApiTokenAndAWebhookNotification) {
  endpoint_.auth = api_token_auth{"x-api-token", "prt_secret-token"};
  endpoint_.notification = {notification_kind::webhook, "https://ops.example.com/hook"};
  endpoint_.payload = {payload_format::json, kAllMetadata};
  endpoint_.status = endpoint_status::active;
  expect_same(round_trip(), endpoint_);
}

TEST_F(EndpointJson, RoundTripKeepsNoMetadataAndNoNotification) {
  endpoint_.payload.include = 0;
  endpoint_.notification = {};
  expect_same(round_trip(), endpoint_);
}

TEST_F(EndpointJson, WritesTheIdWithTheEndpointPrefix) {
  const json j = endpoint_;
  EXPECT_EQ(j.at("id"), endpoint_.id.to_string(kEndpointPrefix));
}

TEST_F(EndpointJson, AppliesTheDefaultsToAbsentFields) {
  const endpoint e = endpoint_from_json(json{{"url", "https://hooks.example.com/"}});
  EXPECT_EQ(e.retry.max_attempts, 3);
  EXPECT_EQ(e.retry.interval, std::chrono::seconds(60));
  EXPECT_EQ(e.retry.backoff, backoff_kind::fixed);
  EXPECT_EQ(e.payload.format, payload_format::json);
  EXPECT_EQ(e.payload.include, unsigned{metadata_user});
  EXPECT_EQ(e.timeout, std::chrono::milliseconds(15000));
  EXPECT_EQ(e.status, endpoint_status::created);
  EXPECT_FALSE(e.dead_letter_queue);
  EXPECT_EQ(e.notification.kind, notification_kind::none);
  EXPECT_TRUE(std::holds_alternative<shared_secret_auth>(e.auth));
}

TEST_F(EndpointJson, TreatsNullAsAbsent) {
  const endpoint e = endpoint_from_json(json{{"timeout_ms", nullptr}});
  EXPECT_EQ(e.timeout, std::chrono::milliseconds(15000));
}

TEST_F(EndpointJson, SortsEventsAndDropsRepeats) {
  const endpoint e = endpoint_from_json(
      json{{"events", {"user.registered", "user.login.failed", "user.registered"}}});
  EXPECT_EQ(e.events,
            (std::vector<std::string>{"user.login.failed", "user.registered"}));
}

TEST_F(EndpointJson, LowerCasesTheApiTokenHeader) {
  const endpoint e = endpoint_from_json(json{
      {"auth", {{"type", "api_token"}, {"header", "X-Api-Token"}, {"value", "v"}}}});
  EXPECT_EQ(std::get<api_token_auth>(e.auth).header, "x-api-token");
}

TEST_F(EndpointJson, RefusesWrongTypesByFieldName) {
  EXPECT_EQ(refused_field({{"url", 42}}), "url");
  EXPECT_EQ(refused_field({{"description", false}}), "description");
  EXPECT_EQ(refused_field({{"events", "user.registered"}}), "events");
  EXPECT_EQ(refused_field({{"events", {"user.registered", 7}}}), "events");
  EXPECT_EQ(refused_field({{"retry", {{"max_attempts", "three"}}}}),
            "retry.max_attempts");
  EXPECT_EQ(refused_field({{"retry", {{"interval", "1m"}}}}), "retry.interval");
  EXPECT_EQ(refused_field({{"retry", {{"jitter", "yes"}}}}), "retry.jitter");
  EXPECT_EQ(refused_field({{"dead_letter_queue", "yes"}}), "dead_letter_queue");
  EXPECT_EQ(refused_field({{"timeout_ms", "15s"}}), "timeout");
  EXPECT_EQ(refused_field({{"status", 2}}), "status");
  EXPECT_EQ(refused_field({{"payload", {{"include", "user"}}}}), "payload.include");
  EXPECT_EQ(refused_field({{"auth", {{"secrets", {{{"secret", 1}}}}}}}), "auth.secret");
}

TEST_F(EndpointJson, RefusesWrongValuesByFieldName) {
  EXPECT_EQ(refused_field({{"id", "evt_01JGA3V8D7W6F4X2Q5N9KZBYHC"}}), "id");
  EXPECT_EQ(refused_field({{"status", "asleep"}}), "status");
  EXPECT_EQ(refused_field({{"payload", {{"format", "xml"}}}}), "payload.format");
  EXPECT_EQ(refused_field({{"payload", {{"include", {"shoe_size"}}}}}),
            "payload.include");
  EXPECT_EQ(refused_field({{"retry", {{"backoff", "linear"}}}}), "retry.backoff");
  EXPECT_EQ(refused_field({{"auth", {{"type", "oauth"}}}}), "auth.type");
}

TEST_F(EndpointJson, RefusesSomethingOtherThanAnObject) {
  EXPECT_EQ(refused_field(json::array()), "endpoint");
}

TEST_F(EndpointJson, RefusesNestedSettingsThatAreNotObjects) {
  // The header promises a refusal for any field of the wrong type; a setting group
  // given as a scalar must not silently fall back to its defaults.
  EXPECT_EQ(refused_field({{"retry", 5}}), "retry");
  EXPECT_EQ(refused_field({{"payload", "form"}}), "payload");
  EXPECT_EQ(refused_field({{"auth", "whsec_abc"}}), "auth");
}

}  // namespace
}  // namespace protekt
