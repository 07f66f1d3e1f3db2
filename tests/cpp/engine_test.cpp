#include "protekt/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "protekt/error.hpp"
#include "protekt/events.hpp"
#include "protekt/keys.hpp"
#include "temp_directory.hpp"
#include "test_support.hpp"

namespace protekt {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using test::message_mentions;
using test::thrown_by;

constexpr std::string_view kLoginFailed = "user.login.failed";

// The data of a failed login: user and ip metadata and a member of none.
event_data login_data() {
  return {{{"user", R"({"id":"u_1","email":"ada@example.com"})"},
           {"ip", R"("203.0.113.9")"},
           {"reason", R"("wrong password")"}}};
}

const std::vector<endpoint_secret>& secrets_of(const endpoint& e) {
  return std::get<shared_secret_auth>(e.auth).secrets;
}

// An engine on a fresh directory, and helpers for endpoints and events.
class Engine : public ::testing::Test {
 protected:
  Engine() { options_.directory = dir_.string(); }

  void SetUp() override { engine_ = std::make_unique<engine>(options_); }

  // A valid spec for an endpoint subscribed to failed logins.
  static json spec(std::string path = "hooks") {
    return {{"url", "https://hooks.example.com/" + path},
            {"events", {std::string(kLoginFailed)}}};
  }

  endpoint create(const json& s = spec()) { return engine_->create_endpoint(s); }

  endpoint create_active(const json& s = spec()) {
    const endpoint e = create(s);
    return engine_->change_status(e.id, endpoint_action::save, true);
  }

  emit_outcome emit_and_wait(event_data data = login_data()) {
    return engine_->emit(std::string(kLoginFailed), std::move(data))->wait();
  }

  // The field named by the validation_error that action throws.
  template <typename Action>
  static std::string refused_field(Action&& action) {
    const auto e = thrown_by<validation_error>(std::forward<Action>(action));
    return e ? e->field() : "";
  }

  test::temp_directory dir_;
  engine_options options_;
  std::unique_ptr<engine> engine_;
};

// ---- endpoints --------------------------------------------------------------------

TEST_F(Engine, CreatesAnEndpointWithAnIdAGeneratedSecretAndStatusCreated) {
  const std::int64_t before = unix_now_ms();
  const endpoint e = create();
  EXPECT_NE(e.id, id128{});
  EXPECT_GE(e.id.timestamp_ms(), before);
  EXPECT_EQ(e.status, endpoint_status::created);
  EXPECT_EQ(e.created_ms, e.id.timestamp_ms());
  ASSERT_EQ(secrets_of(e).size(), 1u);
  EXPECT_TRUE(secrets_of(e)[0].secret.starts_with(kSecretPrefix));
  EXPECT_NO_THROW(hmac_key::parse(secrets_of(e)[0].secret));
  EXPECT_FALSE(secrets_of(e)[0].expires_ms.has_value());

  const auto found = engine_->find_endpoint(e.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(secrets_of(*found)[0].secret, secrets_of(e)[0].secret);
}

TEST_F(Engine, GivesEachEndpointItsOwnSecret) {
  EXPECT_NE(secrets_of(create())[0].secret, secrets_of(create())[0].secret);
}

TEST_F(Engine, KeepsASecretTheSpecGives) {
  const std::string secret = hmac_key::generate().to_string();
  json s = spec();
  s["auth"] = {{"secrets", {{{"secret", secret}}}}};
  EXPECT_EQ(secrets_of(create(s))[0].secret, secret);
}

TEST_F(Engine, RefusesAnInvalidEndpointAndStoresNothing) {
  json s = spec();
  s["url"] = "http://hooks.example.com/";
  EXPECT_EQ(refused_field([&] { create(s); }), "url");
  EXPECT_TRUE(engine_->list_endpoints().empty());
}

TEST_F(Engine, AcceptsPlainHttpWhenOpenedWithAllowHttp) {
  engine_.reset();
  options_.allow_http = true;
  engine_ = std::make_unique<engine>(options_);
  json s = spec();
  s["url"] = "http://localhost:8000/hooks";
  EXPECT_EQ(create(s).url, "http://localhost:8000/hooks");
}

TEST_F(Engine, RefusesACreateSpecThatSetsTheStatusOrId) {
  json s = spec();
  s["status"] = "active";
  EXPECT_EQ(refused_field([&] { create(s); }), "status");
  s = spec();
  s["id"] = "ep_01JGA3V8D7W6F4X2Q5N9KZBYHC";
  EXPECT_EQ(refused_field([&] { create(s); }), "id");
}

TEST_F(Engine, RefusesToSaveAnEndpointNotYetVerified) {
  const endpoint e = create();
  const auto error = thrown_by<validation_error>(
      [&] { engine_->change_status(e.id, endpoint_action::save); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->field(), "status");
  EXPECT_TRUE(message_mentions(*error, "Verify"));
  EXPECT_EQ(engine_->find_endpoint(e.id).value().status, endpoint_status::created);
}

TEST_F(Engine, SavesAnUnverifiedEndpointWhenToldToSkipVerification) {
  const endpoint e = create();
  EXPECT_EQ(engine_->change_status(e.id, endpoint_action::save, true).status,
            endpoint_status::active);
}

TEST_F(Engine, SavesAnEndpointOnceItIsVerified) {
  const endpoint e = create();
  EXPECT_EQ(engine_->change_status(e.id, endpoint_action::mark_verified).status,
            endpoint_status::verified);
  EXPECT_EQ(engine_->change_status(e.id, endpoint_action::save).status,
            endpoint_status::active);
  EXPECT_EQ(engine_->find_endpoint(e.id).value().status, endpoint_status::active);
}

TEST_F(Engine, PausesAndResumesAnActiveEndpoint) {
  const endpoint e = create_active();
  EXPECT_EQ(engine_->change_status(e.id, endpoint_action::pause).status,
            endpoint_status::paused);
  EXPECT_EQ(engine_->change_status(e.id, endpoint_action::resume).status,
            endpoint_status::active);
}

TEST_F(Engine, RefusesToPauseOrResumeAnEndpointNeverSaved) {
  const endpoint e = create();
  EXPECT_EQ(
      refused_field([&] { engine_->change_status(e.id, endpoint_action::pause); }),
      "status");
  EXPECT_EQ(
      refused_field([&] { engine_->change_status(e.id, endpoint_action::resume); }),
      "status");
  EXPECT_EQ(engine_->find_endpoint(e.id).value().status, endpoint_status::created);
}

TEST_F(Engine, RefusesToResumeADisabledEndpointButSavesItOnceVerifiedAgain) {
  const endpoint e = create_active();
  EXPECT_EQ(engine_->change_status(e.id, endpoint_action::disable).status,
            endpoint_status::disabled);
  EXPECT_EQ(
      refused_field([&] { engine_->change_status(e.id, endpoint_action::resume); }),
      "status");
  EXPECT_EQ(refused_field([&] { engine_->change_status(e.id, endpoint_action::save); }),
            "status");
  engine_->change_status(e.id, endpoint_action::mark_verified);
  EXPECT_EQ(engine_->change_status(e.id, endpoint_action::save).status,
            endpoint_status::active);
}

TEST_F(Engine, RefusesStatusChangesOfAMissingEndpoint) {
  const id128 missing = id_generator().next(unix_now_ms());
  EXPECT_THROW(engine_->change_status(missing, endpoint_action::pause),
               not_found_error);
  EXPECT_THROW(engine_->update_endpoint(missing, {{"description", "x"}}),
               not_found_error);
  EXPECT_THROW(engine_->rotate_secret(missing, "", std::nullopt), not_found_error);
}

TEST_F(Engine, SendsAnEndpointWithANewUrlBackToCreated) {
  const endpoint e = create_active();
  const endpoint moved =
      engine_->update_endpoint(e.id, {{"url", "https://elsewhere.example.com/"}});
  EXPECT_EQ(moved.url, "https://elsewhere.example.com/");
  EXPECT_EQ(moved.status, endpoint_status::created);
}

TEST_F(Engine, KeepsAnEndpointActiveWhenOtherFieldsChange) {
  const endpoint e = create_active();
  const endpoint changed = engine_->update_endpoint(
      e.id, {{"description", "audit"}, {"retry", {{"max_attempts", 7}}}});
  EXPECT_EQ(changed.status, endpoint_status::active);
  EXPECT_EQ(changed.description, "audit");
  EXPECT_EQ(changed.retry.max_attempts, 7);
  EXPECT_EQ(changed.retry.interval, 60s);
  EXPECT_EQ(secrets_of(changed)[0].secret, secrets_of(e)[0].secret);
}

TEST_F(Engine, RefusesAnUpdateOfTheStatusOrId) {
  const endpoint e = create();
  EXPECT_EQ(refused_field([&] {
              engine_->update_endpoint(e.id, {{"status", "active"}});
            }),
            "status");
  EXPECT_EQ(refused_field([&] {
              engine_->update_endpoint(e.id, {{"id", "ep_01JGA3V8D7W6F4X2Q5N9KZBYHC"}});
            }),
            "id");
  EXPECT_EQ(engine_->find_endpoint(e.id).value().status, endpoint_status::created);
}

TEST_F(Engine, RefusesAnInvalidUpdateAndKeepsTheEndpoint) {
  const endpoint e = create();
  EXPECT_EQ(refused_field([&] {
              engine_->update_endpoint(e.id, {{"events", json::array()}});
            }),
            "events");
  EXPECT_EQ(engine_->find_endpoint(e.id).value().events, e.events);
}

TEST_F(Engine, RotatesTheSecretAndKeepsTheOldOneUntilTheGraceEnds) {
  const endpoint e = create();
  const std::string old_secret = secrets_of(e)[0].secret;
  const std::int64_t before = unix_now_ms();
  const endpoint rotated = engine_->rotate_secret(e.id, "", 1h);
  const std::int64_t after = unix_now_ms();

  ASSERT_EQ(secrets_of(rotated).size(), 2u);
  EXPECT_NE(secrets_of(rotated)[0].secret, old_secret);
  EXPECT_TRUE(secrets_of(rotated)[0].secret.starts_with(kSecretPrefix));
  EXPECT_FALSE(secrets_of(rotated)[0].expires_ms.has_value());
  EXPECT_EQ(secrets_of(rotated)[1].secret, old_secret);
  const std::int64_t expires = secrets_of(rotated)[1].expires_ms.value();
  EXPECT_GE(expires, before + 3600000);
  EXPECT_LE(expires, after + 3600000);
  EXPECT_EQ(secrets_of(engine_->find_endpoint(e.id).value()).size(), 2u);
}

TEST_F(Engine, RotatesToTheSecretItIsGiven) {
  const endpoint e = create();
  const std::string next = hmac_key::generate().to_string();
  EXPECT_EQ(secrets_of(engine_->rotate_secret(e.id, next, std::nullopt))[0].secret,
            next);
}

TEST_F(Engine, DropsTheOldSecretAtOnceWithNoGrace) {
  const endpoint e = create();
  EXPECT_EQ(secrets_of(engine_->rotate_secret(e.id, "", 0ms)).size(), 1u);
}

TEST_F(Engine, RefusesToRotateASecretThatDoesNotParse) {
  const endpoint e = create();
  EXPECT_THROW(engine_->rotate_secret(e.id, "whsec_short", std::nullopt),
               invalid_key_error);
}

TEST_F(Engine, RefusesToRotateTheSecretOfAnApiTokenEndpoint) {
  json s = spec();
  s["auth"] = {{"type", "api_token"}, {"header", "x-api-token"}, {"value", "prt_x"}};
  const endpoint e = create(s);
  EXPECT_EQ(refused_field([&] { engine_->rotate_secret(e.id, "", std::nullopt); }),
            "auth");
  EXPECT_TRUE(std::holds_alternative<api_token_auth>(
      engine_->find_endpoint(e.id).value().auth));
}

TEST_F(Engine, DeletesAnEndpointOnce) {
  const endpoint e = create();
  EXPECT_TRUE(engine_->delete_endpoint(e.id));
  EXPECT_FALSE(engine_->find_endpoint(e.id).has_value());
  EXPECT_FALSE(engine_->delete_endpoint(e.id));
}

// ---- events -----------------------------------------------------------------------

TEST_F(Engine, RefusesAnUnknownEventTypeAndListsTheCatalogue) {
  const auto e =
      thrown_by<validation_error>([&] { engine_->emit("user.logged_in", {}); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field(), "type");
  EXPECT_TRUE(message_mentions(*e, catalogue_list()));
}

TEST_F(Engine, RefusesToEmitAnEventTheEngineSendsItself) {
  for (const std::string_view type : kEngineEvents) {
    EXPECT_EQ(refused_field([&] { engine_->emit(std::string(type), {}); }), "type")
        << type;
  }
}

TEST_F(Engine, RefusesDataOverTheEventSizeLimit) {
  engine_.reset();
  options_.max_event_bytes = 1024;
  engine_ = std::make_unique<engine>(options_);
  event_data big{{{"reason", "\"" + std::string(1024, 'x') + "\""}}};
  EXPECT_EQ(refused_field([&] { engine_->emit(std::string(kLoginFailed), big); }),
            "data");
  event_data small{{{"reason", R"("x")"}}};
  EXPECT_NO_THROW(engine_->emit(std::string(kLoginFailed), small)->wait());
}

TEST_F(Engine, RefusesAnIdempotencyKeyLongerThan255Bytes) {
  EXPECT_EQ(refused_field([&] {
              engine_->emit(std::string(kLoginFailed), {}, std::string(256, 'k'));
            }),
            "idempotency_key");
}

TEST_F(Engine, StoresAnEmittedEventWithItsEnvelope) {
  const auto ticket = engine_->emit(std::string(kLoginFailed), login_data());
  const emit_outcome outcome = ticket->wait();
  EXPECT_TRUE(ticket->ready());
  EXPECT_EQ(outcome.event, ticket->id());
  const auto event = engine_->find_event(ticket->id());
  ASSERT_TRUE(event.has_value());
  const json envelope = json::parse(event->envelope);
  EXPECT_EQ(envelope.at("id"), ticket->id().to_string(kEventPrefix));
  EXPECT_EQ(envelope.at("type"), kLoginFailed);
  EXPECT_EQ(envelope.at("data").at("ip"), "203.0.113.9");
}

TEST_F(Engine, ReturnsTheFirstEventForARepeatedIdempotencyKey) {
  create_active();
  const emit_outcome first =
      engine_->emit(std::string(kLoginFailed), login_data(), "login-42")->wait();
  const emit_outcome again =
      engine_->emit(std::string(kLoginFailed), login_data(), "login-42")->wait();
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.event, first.event);
  EXPECT_EQ(engine_->pending_count(), 1u);
}

TEST_F(Engine, RunsATicketCallbackOnceTheEventIsDurable) {
  const auto ticket = engine_->emit(std::string(kLoginFailed), login_data());
  std::promise<bool> ran;
  ticket->on_ready([&] { ran.set_value(ticket->ready()); });
  std::future<bool> ready_when_run = ran.get_future();
  ASSERT_EQ(ready_when_run.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(ready_when_run.get());
  EXPECT_TRUE(engine_->find_event(ticket->id()).has_value());
}

TEST_F(Engine, RunsACallbackAtOnceOnATicketAlreadyReady) {
  const auto ticket = engine_->emit(std::string(kLoginFailed), login_data());
  ticket->wait();
  bool ran = false;
  ticket->on_ready([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST_F(Engine, DeliversEachEventOnceToEverySubscribedActiveEndpoint) {
  const id128 first = create_active(spec("first")).id;
  const id128 second = create_active(spec("second")).id;
  const id128 paused = create_active(spec("paused")).id;
  engine_->change_status(paused, endpoint_action::pause);
  create(spec("never-saved"));
  json other = spec("other");
  other["events"] = {"user.registered"};
  create_active(other);

  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::vector<std::shared_ptr<emit_ticket>>> tickets(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          tickets[t].push_back(engine_->emit(std::string(kLoginFailed), login_data()));
        }
      });
    }
  }

  std::set<id128> events;
  for (const auto& per_thread : tickets) {
    for (const auto& ticket : per_thread) {
      ASSERT_TRUE(ticket->wait_for(10s));
      const emit_outcome outcome = ticket->wait();
      ASSERT_EQ(outcome.deliveries, 2u);
      events.insert(outcome.event);
    }
  }
  ASSERT_EQ(events.size(), std::size_t{kThreads * kPerThread});

  const std::set<id128> receivers = {first, second};
  for (const id128& id : events) {
    ASSERT_TRUE(engine_->find_event(id).has_value());
    std::set<id128> got;
    for (const delivery& d : engine_->deliveries_of(id)) got.insert(d.endpoint);
    ASSERT_EQ(got, receivers);
  }
  EXPECT_EQ(engine_->pending_count(), 2u * kThreads * kPerThread);
}

TEST_F(Engine, StoresEachPayloadShapeOnce) {
  json user_only = spec("a");
  user_only["payload"] = {{"include", {"user"}}};
  const id128 a = create_active(user_only).id;
  user_only["url"] = "https://hooks.example.com/b";
  const id128 b = create_active(user_only).id;
  json everything = spec("c");
  everything["payload"] = {{"include", {"user", "ip", "device", "location"}}};
  const id128 c = create_active(everything).id;
  everything["url"] = "https://hooks.example.com/d";
  everything["payload"]["format"] = "form";
  const id128 d = create_active(everything).id;

  const emit_outcome outcome = emit_and_wait();
  std::map<id128, std::uint8_t> shape;
  for (const delivery& dl : engine_->deliveries_of(outcome.event)) {
    shape[dl.endpoint] = dl.shape;
  }
  ASSERT_EQ(shape.size(), 4u);
  EXPECT_EQ(shape[a], shape[b]);
  EXPECT_NE(shape[a], kFullEnvelope);
  EXPECT_EQ(shape[c], kFullEnvelope);
  EXPECT_NE(shape[d], kFullEnvelope);
  EXPECT_NE(shape[d], shape[a]);

  const json user_body = json::parse(engine_->body_of(outcome.event, shape[a]).value());
  EXPECT_TRUE(user_body.at("data").contains("user"));
  EXPECT_FALSE(user_body.at("data").contains("ip"));
  EXPECT_TRUE(user_body.at("data").contains("reason"));
  EXPECT_TRUE(
      engine_->body_of(outcome.event, shape[d]).value().starts_with("payload="));
  EXPECT_EQ(engine_->body_of(outcome.event, kFullEnvelope),
            engine_->find_event(outcome.event).value().envelope);
  EXPECT_FALSE(engine_->body_of(outcome.event, 2).has_value());
}

TEST_F(Engine, SendsTheFullEnvelopeWhenTheDataHasNoMetadataLeftOut) {
  const id128 e = create_active().id;  // asks for user metadata only
  const emit_outcome outcome = emit_and_wait({{{"reason", R"("x")"}}});
  const auto deliveries = engine_->deliveries_of(outcome.event);
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0].endpoint, e);
  EXPECT_EQ(deliveries[0].shape, kFullEnvelope);
  EXPECT_FALSE(engine_->body_of(outcome.event, 0).has_value());
}

TEST_F(Engine, MakesDeliveriesDueAtOnce) {
  create_active();
  const emit_outcome outcome = emit_and_wait();
  const auto due = engine_->due(unix_now_ms(), 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event, outcome.event);
}

TEST_F(Engine, SweepsFinishedEventsPastTheirRetention) {
  engine_.reset();
  options_.retention = 0ms;
  engine_ = std::make_unique<engine>(options_);
  const emit_outcome outcome = emit_and_wait();  // no endpoints: finished at once
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(engine_->sweep().events, 1u);
  EXPECT_FALSE(engine_->find_event(outcome.event).has_value());
}

TEST_F(Engine, KeepsEverythingAcrossAClose) {
  const id128 ep = create_active().id;
  std::vector<std::shared_ptr<emit_ticket>> tickets;
  for (int i = 0; i < 50; ++i) {
    tickets.push_back(engine_->emit(std::string(kLoginFailed), login_data()));
  }
  engine_->close();  // commits what is queued
  for (const auto& ticket : tickets) ASSERT_TRUE(ticket->ready());

  engine_ = std::make_unique<engine>(options_);
  EXPECT_EQ(engine_->find_endpoint(ep).value().status, endpoint_status::active);
  for (const auto& ticket : tickets) {
    EXPECT_TRUE(engine_->find_event(ticket->id()).has_value());
  }
  EXPECT_EQ(engine_->pending_count(), tickets.size());
}

TEST_F(Engine, FailsTheTicketOfAnEventThatCannotBeStoredAndCarriesOn) {
  engine_.reset();
  options_.initial_map_size = std::size_t{64} << 10;
  options_.max_map_size = std::size_t{128} << 10;
  engine_ = std::make_unique<engine>(options_);

  const emit_outcome before = emit_and_wait();
  event_data huge{{{"reason", "\"" + std::string(200 << 10, 'x') + "\""}}};
  const auto ticket = engine_->emit(std::string(kLoginFailed), std::move(huge));
  const auto error = thrown_by<storage_error>([&] { ticket->wait(); });
  ASSERT_TRUE(error);
  EXPECT_TRUE(message_mentions(*error, "max_map_size"));
  EXPECT_FALSE(engine_->find_event(ticket->id()).has_value());

  EXPECT_TRUE(engine_->find_event(before.event).has_value());
  const emit_outcome after = emit_and_wait();
  EXPECT_TRUE(engine_->find_event(after.event).has_value());
}

// ---- lifecycle --------------------------------------------------------------------

TEST_F(Engine, ClosesIdempotently) {
  engine_->close();
  EXPECT_NO_THROW(engine_->close());
}

TEST_F(Engine, RefusesEveryCallAfterClose) {
  const endpoint e = create();
  engine_->close();
  EXPECT_THROW(engine_->emit(std::string(kLoginFailed), login_data()), closed_error);
  EXPECT_THROW(engine_->create_endpoint(spec()), closed_error);
  EXPECT_THROW(engine_->find_endpoint(e.id), closed_error);
  EXPECT_THROW(engine_->list_endpoints(), closed_error);
  EXPECT_THROW(engine_->pending_count(), closed_error);
  EXPECT_THROW(engine_->sweep(), closed_error);
  EXPECT_THROW(engine_->try_lock_dispatcher(), closed_error);
}

TEST_F(Engine, RefusesABatchSizeOfZero) {
  options_.max_batch = 0;
  EXPECT_EQ(refused_field([&] { engine other(options_); }), "max_batch");
}

// ---- the dispatcher lock ----------------------------------------------------------

TEST_F(Engine, LetsOneEngineOfADirectoryHoldTheDispatcherLock) {
  engine second(options_);
  EXPECT_TRUE(engine_->try_lock_dispatcher());
  EXPECT_TRUE(engine_->try_lock_dispatcher());  // already held
  EXPECT_FALSE(second.try_lock_dispatcher());

  engine_->unlock_dispatcher();
  EXPECT_TRUE(second.try_lock_dispatcher());
  EXPECT_FALSE(engine_->try_lock_dispatcher());
}

TEST_F(Engine, ReleasesTheDispatcherLockOnClose) {
  engine second(options_);
  ASSERT_TRUE(engine_->try_lock_dispatcher());
  ASSERT_FALSE(second.try_lock_dispatcher());
  engine_->close();
  EXPECT_TRUE(second.try_lock_dispatcher());
}

TEST_F(Engine, SharesTheDirectoryWithASecondEngineInTheProcess) {
  engine second(options_);
  const endpoint e = create_active();
  EXPECT_EQ(second.find_endpoint(e.id).value().url, e.url);
  const emit_outcome outcome =
      second.emit(std::string(kLoginFailed), login_data())->wait();
  EXPECT_EQ(outcome.deliveries, 1u);
  engine_->close();
  EXPECT_TRUE(second.find_event(outcome.event).has_value());
}

}  // namespace
}  // namespace protekt
