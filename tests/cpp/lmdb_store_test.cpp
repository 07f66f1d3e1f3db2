#include "protekt/store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "protekt/endpoint.hpp"
#include "protekt/error.hpp"
#include "protekt/events.hpp"
#include "protekt/ids.hpp"
#include "storage/codec.hpp"
#include "storage/lmdb.hpp"
#include "temp_directory.hpp"
#include "test_support.hpp"

namespace protekt {
namespace {

using test::message_mentions;
using test::thrown_by;

constexpr std::string_view kLoginFailed = "user.login.failed";
constexpr std::string_view kRegistered = "user.registered";

// 2026-01-01T00:00:00Z; every time in these tests is counted from here.
constexpr std::int64_t kT0 = 1767225600000;
constexpr std::int64_t kMinute = 60 * 1000;
constexpr std::int64_t kHour = 60 * kMinute;

// The one-body planner the tests append with: every subscribed active endpoint gets a
// delivery of body 0, due delay_ms after the event was made. An event that no endpoint
// receives still gets its body, so that sweeping has something to remove with it.
struct test_planner {
  std::int64_t delay_ms = 0;
  int calls = 0;

  fanout operator()(const emit_request& request, std::span<const endpoint> active) {
    ++calls;
    fanout result;
    result.bodies.push_back("shaped:" + request.envelope);
    for (const endpoint& e : active) {
      if (!e.subscribed_to(request.type)) continue;
      delivery d;
      d.event = request.id;
      d.endpoint = e.id;
      d.shape = 0;
      d.created_ms = request.created_ms;
      d.due_ms = request.created_ms + delay_ms;
      result.deliveries.push_back(d);
    }
    return result;
  }
};

// A store in a fresh directory of its own, and helpers to fill it.
class LmdbStore : public ::testing::Test {
 protected:
  LmdbStore() {
    options_.directory = dir_.string();
    options_.idempotency_window_ms = kHour;
  }

  void SetUp() override { store_ = open_lmdb_store(options_); }

  // Closes the store and opens the directory again.
  void reopen() {
    store_.reset();
    store_ = open_lmdb_store(options_);
  }

  endpoint put_endpoint(endpoint_status status = endpoint_status::active,
                        std::vector<std::string> events = {std::string(kLoginFailed)}) {
    endpoint e;
    e.id = ids_.next(kT0);
    e.url = "https://hooks.example.com/" + e.id.to_string(kEndpointPrefix);
    e.events = std::move(events);
    e.status = status;
    return store_->update_endpoint(e.id, [&](const auto&) { return e; });
  }

  void set_status(const id128& id, endpoint_status status) {
    store_->update_endpoint(id, [&](const std::optional<endpoint>& current) {
      endpoint e = current.value();
      e.status = status;
      return e;
    });
  }

  emit_request request(std::int64_t created_ms, std::string idempotency_key = {},
                       std::string_view type = kLoginFailed) {
    emit_request r;
    r.id = ids_.next(created_ms);
    r.type = type;
    r.created_ms = created_ms;
    r.envelope = R"({"id":")" + r.id.to_string(kEventPrefix) + R"(","data":{}})";
    r.idempotency_key = std::move(idempotency_key);
    return r;
  }

  std::vector<emit_outcome> append(const std::vector<emit_request>& requests) {
    return store_->append(requests, std::ref(planner_));
  }

  emit_outcome append_one(const emit_request& r) { return append({r}).at(0); }

  test::temp_directory dir_;
  lmdb_store_options options_;
  std::unique_ptr<store> store_;
  id_generator ids_;
  test_planner planner_;
};

// ---- endpoints --------------------------------------------------------------------

TEST_F(LmdbStore, FindsAnEndpointItStored) {
  const endpoint stored = put_endpoint();
  const auto found = store_->find_endpoint(stored.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, stored.id);
  EXPECT_EQ(found->url, stored.url);
  EXPECT_EQ(found->events, stored.events);
  EXPECT_EQ(found->status, endpoint_status::active);
}

TEST_F(LmdbStore, FindsNoEndpointThatWasNeverStored) {
  EXPECT_FALSE(store_->find_endpoint(ids_.next(kT0)).has_value());
  EXPECT_TRUE(store_->list_endpoints().empty());
}

TEST_F(LmdbStore, ListsEveryEndpointInIdOrder) {
  const id128 first = put_endpoint().id;
  const id128 second = put_endpoint(endpoint_status::paused).id;
  const id128 third = put_endpoint(endpoint_status::created).id;
  const std::vector<endpoint> all = store_->list_endpoints();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, first);
  EXPECT_EQ(all[1].id, second);
  EXPECT_EQ(all[2].id, third);
}

TEST_F(LmdbStore, GivesAnUpdateTheStoredRecordOrNothingWhenNew) {
  const id128 id = ids_.next(kT0);
  bool saw_nothing = false;
  store_->update_endpoint(id, [&](const std::optional<endpoint>& current) {
    saw_nothing = !current.has_value();
    endpoint e;
    e.description = "first";
    return e;
  });
  EXPECT_TRUE(saw_nothing);

  std::string seen;
  const endpoint updated =
      store_->update_endpoint(id, [&](const std::optional<endpoint>& current) {
        seen = current.value().description;
        endpoint e = *current;
        e.description = "second";
        return e;
      });
  EXPECT_EQ(seen, "first");
  EXPECT_EQ(updated.id, id);
  EXPECT_EQ(store_->find_endpoint(id).value().description, "second");
}

TEST_F(LmdbStore, KeepsAnEndpointUnchangedWhenTheUpdateRefuses) {
  const endpoint stored = put_endpoint();
  EXPECT_THROW(store_->update_endpoint(stored.id,
                                       [](const std::optional<endpoint>&) -> endpoint {
                                         throw validation_error("url", "no");
                                       }),
               validation_error);
  EXPECT_EQ(store_->find_endpoint(stored.id).value().url, stored.url);
}

TEST_F(LmdbStore, ErasesAnEndpointOnce) {
  const id128 id = put_endpoint().id;
  EXPECT_TRUE(store_->erase_endpoint(id));
  EXPECT_FALSE(store_->find_endpoint(id).has_value());
  EXPECT_FALSE(store_->erase_endpoint(id));
  EXPECT_TRUE(store_->list_endpoints().empty());
}

// ---- append -----------------------------------------------------------------------

TEST_F(LmdbStore, StoresTheEventItsBodiesAndItsDeliveries) {
  const endpoint ep = put_endpoint();
  const emit_request r = request(kT0);
  const emit_outcome outcome = append_one(r);
  EXPECT_EQ(outcome.event, r.id);
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_EQ(outcome.deliveries, 1u);

  const auto event = store_->find_event(r.id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->type, kLoginFailed);
  EXPECT_EQ(event->created_ms, kT0);
  EXPECT_EQ(event->envelope, r.envelope);
  EXPECT_EQ(event->pending, 1u);

  const std::vector<delivery> deliveries = store_->deliveries_of(r.id);
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0].event, r.id);
  EXPECT_EQ(deliveries[0].endpoint, ep.id);
  EXPECT_EQ(deliveries[0].status, delivery_status::pending);
  EXPECT_EQ(deliveries[0].due_ms, kT0);
  EXPECT_EQ(store_->body_of(r.id, 0), "shaped:" + r.envelope);
  EXPECT_EQ(store_->body_of(r.id, kFullEnvelope), r.envelope);
  EXPECT_FALSE(store_->body_of(r.id, 1).has_value());
}

TEST_F(LmdbStore, GivesTheEventsOfABatchTheirOwnDeliveries) {
  put_endpoint();
  put_endpoint();
  const std::vector<emit_request> batch = {request(kT0), request(kT0),
                                           request(kT0, {}, kRegistered)};
  const std::vector<emit_outcome> outcomes = append(batch);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].deliveries, 2u);
  EXPECT_EQ(outcomes[1].deliveries, 2u);
  EXPECT_EQ(outcomes[2].deliveries, 0u);
  EXPECT_EQ(store_->deliveries_of(batch[0].id).size(), 2u);
  EXPECT_EQ(store_->deliveries_of(batch[1].id).size(), 2u);
  EXPECT_TRUE(store_->deliveries_of(batch[2].id).empty());
}

TEST_F(LmdbStore, StoresNothingOfABatchWhenThePlannerFailsPartWay) {
  put_endpoint();
  const std::vector<emit_request> batch = {request(kT0), request(kT0)};
  int calls = 0;
  const fanout_planner failing = [&](const emit_request& r,
                                     std::span<const endpoint> active) {
    if (++calls == 2) throw std::runtime_error("planner failed");
    return planner_(r, active);
  };
  EXPECT_THROW(store_->append(batch, failing), std::runtime_error);
  EXPECT_FALSE(store_->find_event(batch[0].id).has_value());
  EXPECT_TRUE(store_->deliveries_of(batch[0].id).empty());
  EXPECT_FALSE(store_->body_of(batch[0].id, 0).has_value());
  EXPECT_EQ(store_->pending_count(), 0u);
}

TEST_F(LmdbStore, DeliversToAnEndpointActivatedAfterItOpened) {
  const endpoint ep = put_endpoint(endpoint_status::verified);
  EXPECT_EQ(append_one(request(kT0)).deliveries, 0u);

  set_status(ep.id, endpoint_status::active);
  const emit_request r = request(kT0 + 1);
  EXPECT_EQ(append_one(r).deliveries, 1u);
  EXPECT_EQ(store_->deliveries_of(r.id).at(0).endpoint, ep.id);
}

TEST_F(LmdbStore, StopsDeliveringToAPausedEndpoint) {
  const endpoint ep = put_endpoint();
  EXPECT_EQ(append_one(request(kT0)).deliveries, 1u);
  set_status(ep.id, endpoint_status::paused);
  EXPECT_EQ(append_one(request(kT0 + 1)).deliveries, 0u);
}

TEST_F(LmdbStore, StopsDeliveringToAnErasedEndpoint) {
  const endpoint ep = put_endpoint();
  EXPECT_EQ(append_one(request(kT0)).deliveries, 1u);
  ASSERT_TRUE(store_->erase_endpoint(ep.id));
  EXPECT_EQ(append_one(request(kT0 + 1)).deliveries, 0u);
}

TEST_F(LmdbStore, SeesAnEndpointAddedThroughAnotherStoreOnTheSameDirectory) {
  append_one(request(kT0));
  const auto other = open_lmdb_store(options_);
  endpoint e;
  e.id = ids_.next(kT0);
  e.events = {std::string(kLoginFailed)};
  e.status = endpoint_status::active;
  other->update_endpoint(e.id, [&](const auto&) { return e; });
  EXPECT_EQ(append_one(request(kT0 + 1)).deliveries, 1u);
}

// ---- the queue ----------------------------------------------------------------------

TEST_F(LmdbStore, FindsDueDeliveriesEarliestFirst) {
  put_endpoint();
  const emit_request late = request(kT0 + 3000);
  const emit_request early = request(kT0 + 1000);
  const emit_request middle = request(kT0 + 2000);
  append({late, early, middle});

  const std::vector<delivery> due = store_->due(kT0 + 5000, 10);
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].event, early.id);
  EXPECT_EQ(due[1].event, middle.id);
  EXPECT_EQ(due[2].event, late.id);
}

TEST_F(LmdbStore, LeavesOutDeliveriesNotDueYet) {
  put_endpoint();
  const emit_request early = request(kT0 + 1000);
  const emit_request late = request(kT0 + 3000);
  append({late, early});

  const std::vector<delivery> due = store_->due(kT0 + 2999, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event, early.id);
  EXPECT_TRUE(store_->due(kT0 + 999, 10).empty());
  EXPECT_EQ(store_->due(kT0 + 3000, 10).size(), 2u);
}

TEST_F(LmdbStore, ReturnsNoMoreDueDeliveriesThanTheLimit) {
  put_endpoint();
  const emit_request first = request(kT0);
  append({first, request(kT0 + 1), request(kT0 + 2)});
  const std::vector<delivery> due = store_->due(kT0 + 10, 1);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event, first.id);
}

TEST_F(LmdbStore, DueTimesComeFromThePlan) {
  put_endpoint();
  planner_.delay_ms = kMinute;
  append_one(request(kT0));
  EXPECT_TRUE(store_->due(kT0 + kMinute - 1, 10).empty());
  EXPECT_EQ(store_->due(kT0 + kMinute, 10).size(), 1u);
}

TEST_F(LmdbStore, CountsPendingDeliveries) {
  EXPECT_EQ(store_->pending_count(), 0u);
  put_endpoint();
  put_endpoint();
  append({request(kT0), request(kT0 + 1), request(kT0 + 2, {}, kRegistered)});
  EXPECT_EQ(store_->pending_count(), 4u);
}

// ---- idempotency ------------------------------------------------------------------

TEST_F(LmdbStore, ReturnsTheFirstEventForAKeyRepeatedWithinTheWindow) {
  put_endpoint();
  const emit_request first = request(kT0, "order-1");
  append_one(first);
  const int planned = planner_.calls;

  const emit_request again = request(kT0 + kHour - 1, "order-1");
  const emit_outcome outcome = append_one(again);
  EXPECT_TRUE(outcome.duplicate);
  EXPECT_EQ(outcome.event, first.id);
  EXPECT_EQ(outcome.deliveries, 0u);
  EXPECT_EQ(planner_.calls, planned);
  EXPECT_FALSE(store_->find_event(again.id).has_value());
  EXPECT_EQ(store_->pending_count(), 1u);
}

TEST_F(LmdbStore, MakesANewEventForAKeyRepeatedAfterTheWindow) {
  put_endpoint();
  const emit_request first = request(kT0, "order-1");
  append_one(first);

  const emit_request again = request(kT0 + kHour, "order-1");
  const emit_outcome outcome = append_one(again);
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_EQ(outcome.event, again.id);
  EXPECT_EQ(outcome.deliveries, 1u);
  EXPECT_TRUE(store_->find_event(again.id).has_value());
}

TEST_F(LmdbStore, TreatsDifferentKeysAsDifferentEvents) {
  const emit_outcome first = append_one(request(kT0, "order-1"));
  const emit_outcome second = append_one(request(kT0, "order-2"));
  EXPECT_FALSE(second.duplicate);
  EXPECT_NE(second.event, first.event);
}

TEST_F(LmdbStore, StoresOnlyTheFirstOfTwoRequestsWithOneKeyInOneBatch) {
  put_endpoint();
  const emit_request first = request(kT0, "order-1");
  const emit_request second = request(kT0, "order-1");
  const std::vector<emit_outcome> outcomes = append({first, second});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].duplicate);
  EXPECT_TRUE(outcomes[1].duplicate);
  EXPECT_EQ(outcomes[1].event, first.id);
  EXPECT_FALSE(store_->find_event(second.id).has_value());
  EXPECT_EQ(store_->pending_count(), 1u);
}

// ---- sweeping ---------------------------------------------------------------------

TEST_F(LmdbStore, SweepsFinishedEventsOlderThanRetentionWithTheirBodies) {
  const emit_request old_event = request(kT0);
  const emit_request new_event = request(kT0 + 2 * kHour);
  append({old_event, new_event});

  const sweep_result result = store_->sweep({kT0 + 2 * kHour + 1, kHour, kHour, 10000});
  EXPECT_EQ(result.events, 1u);
  EXPECT_FALSE(result.more);
  EXPECT_FALSE(store_->find_event(old_event.id).has_value());
  EXPECT_FALSE(store_->body_of(old_event.id, 0).has_value());
  EXPECT_TRUE(store_->deliveries_of(old_event.id).empty());
  EXPECT_TRUE(store_->find_event(new_event.id).has_value());
  EXPECT_TRUE(store_->body_of(new_event.id, 0).has_value());
}

TEST_F(LmdbStore, KeepsAnEventExactlyAsOldAsTheRetention) {
  const emit_request r = request(kT0);
  append_one(r);
  EXPECT_EQ(store_->sweep({kT0 + kHour, kHour, kHour, 10000}).events, 0u);
  EXPECT_TRUE(store_->find_event(r.id).has_value());
}

TEST_F(LmdbStore, KeepsOldEventsWhoseDeliveriesAreStillPending) {
  put_endpoint();
  const emit_request r = request(kT0);
  append_one(r);
  EXPECT_EQ(store_->sweep({kT0 + 10 * kHour, kHour, kHour, 10000}).events, 0u);
  EXPECT_TRUE(store_->find_event(r.id).has_value());
  EXPECT_EQ(store_->deliveries_of(r.id).size(), 1u);
  EXPECT_EQ(store_->pending_count(), 1u);
}

TEST_F(LmdbStore, SweepsNoMoreThanMaxRemovalsAndSaysThereIsMore) {
  for (int i = 0; i < 5; ++i) append_one(request(kT0 + i));
  const sweep_rules rules{kT0 + 10 * kHour, kHour, kHour, 2};

  const sweep_result first = store_->sweep(rules);
  EXPECT_EQ(first.events, 2u);
  EXPECT_TRUE(first.more);
  const sweep_result second = store_->sweep(rules);
  EXPECT_EQ(second.events, 2u);
  EXPECT_TRUE(second.more);
  const sweep_result last = store_->sweep(rules);
  EXPECT_EQ(last.events, 1u);
  EXPECT_FALSE(last.more);
}

TEST_F(LmdbStore, ForgetsIdempotencyKeysOlderThanTheirWindow) {
  const emit_request first = request(kT0, "order-1");
  append_one(first);
  const sweep_result result = store_->sweep({kT0 + 2 * kHour, 100 * kHour, kHour});
  EXPECT_EQ(result.idempotency_keys, 1u);

  // Within the first use's window, but the key was forgotten: a new event.
  const emit_outcome outcome = append_one(request(kT0 + kMinute, "order-1"));
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_NE(outcome.event, first.id);
}

TEST_F(LmdbStore, KeepsAnIdempotencyKeyUsedAgainLater) {
  append_one(request(kT0, "order-1"));
  const emit_request reused = request(kT0 + 2 * kHour, "order-1");
  ASSERT_FALSE(append_one(reused).duplicate);

  const sweep_result result =
      store_->sweep({kT0 + 2 * kHour + kMinute, 100 * kHour, kHour});
  EXPECT_EQ(result.idempotency_keys, 1u);
  const emit_outcome outcome =
      append_one(request(kT0 + 2 * kHour + 2 * kMinute, "order-1"));
  EXPECT_TRUE(outcome.duplicate);
  EXPECT_EQ(outcome.event, reused.id);
}

// ---- the delivery log and counters ------------------------------------------------

// An attempt that took duration_ms and got status (0: no response).
attempt attempt_at(std::uint16_t number, std::int32_t status,
                   std::int32_t duration_ms) {
  attempt a;
  a.number = number;
  a.started_ms = kT0 + number;
  a.duration_ms = duration_ms;
  a.status = status;
  if (status == 0) {
    a.error_class = "refused";
    a.error = "the connection was refused";
  }
  return a;
}

delivery_filter of_endpoint(const id128& id) {
  delivery_filter filter;
  filter.endpoint = id;
  return filter;
}

delivery_filter created_within(std::int64_t since_ms, std::int64_t until_ms) {
  delivery_filter filter;
  filter.since_ms = since_ms;
  filter.until_ms = until_ms;
  return filter;
}

std::vector<id128> events_of(const delivery_log_page& page) {
  std::vector<id128> events;
  for (const delivery& d : page.deliveries) events.push_back(d.event);
  return events;
}

TEST_F(LmdbStore, ListsTheDeliveryLogNewestFirstForAllOrOneEndpoint) {
  const id128 first = put_endpoint().id;
  const id128 second = put_endpoint().id;
  const emit_request older = request(kT0);
  const emit_request newer = request(kT0 + 1);
  append({older, newer});

  const delivery_log_page all = store_->delivery_log({}, 10, "");
  EXPECT_EQ(events_of(all), (std::vector{newer.id, newer.id, older.id, older.id}));
  EXPECT_EQ(all.event_types, std::vector<std::string>(4, std::string(kLoginFailed)));
  EXPECT_TRUE(all.next.empty());

  const delivery_log_page mine = store_->delivery_log(of_endpoint(second), 10, "");
  EXPECT_EQ(events_of(mine), (std::vector{newer.id, older.id}));
  for (const delivery& d : mine.deliveries) EXPECT_EQ(d.endpoint, second);
  EXPECT_EQ(store_->delivery_log(of_endpoint(first), 10, "").deliveries.size(), 2u);
}

TEST_F(LmdbStore, ListsTheDeliveryLogWithinATimeRange) {
  put_endpoint();
  const emit_request early = request(kT0);
  const emit_request middle = request(kT0 + kMinute);
  const emit_request late = request(kT0 + 2 * kMinute);
  append({early, middle, late});

  const delivery_filter window = created_within(kT0 + kMinute, kT0 + 2 * kMinute);
  EXPECT_EQ(events_of(store_->delivery_log(window, 10, "")), std::vector{middle.id});
  EXPECT_EQ(events_of(store_->delivery_log(created_within(kT0 + 1, 0), 10, "")),
            (std::vector{late.id, middle.id}));
}

TEST_F(LmdbStore, StopsAPageAtTheScanLimitAndTheNextPageGoesOn) {
  const id128 id = put_endpoint(endpoint_status::active,
                                {std::string(kLoginFailed), std::string(kRegistered)})
                       .id;
  const emit_request rare = request(kT0, {}, kRegistered);
  std::vector<emit_request> requests = {rare};
  for (std::size_t i = 0; i < store::kMaxLogScan + 5; ++i) {
    requests.push_back(request(kT0 + 1 + static_cast<std::int64_t>(i)));
  }
  append(requests);
  delivery_filter filter = of_endpoint(id);
  filter.event_type = kRegistered;

  const delivery_log_page first = store_->delivery_log(filter, 10, "");
  EXPECT_TRUE(first.deliveries.empty());
  ASSERT_FALSE(first.next.empty());
  const delivery_log_page second = store_->delivery_log(filter, 10, first.next);
  EXPECT_EQ(events_of(second), std::vector{rare.id});
  EXPECT_TRUE(second.next.empty());
}

TEST_F(LmdbStore, CountsDeliveriesAttemptsOutcomesAndLatencyPerEndpoint) {
  const id128 id = put_endpoint().id;
  const emit_request one = request(kT0);
  const emit_request two = request(kT0 + 1);
  append({one, two});
  delivery first = store_->find_delivery(one.id, id).value();
  delivery second = store_->find_delivery(two.id, id).value();

  first.status = delivery_status::succeeded;
  store_->record_outcome(first, attempt_at(1, 200, 7));
  second.status = delivery_status::pending;
  store_->record_outcome(second, attempt_at(1, 0, 3000));
  second.status = delivery_status::dead_lettered;
  store_->record_outcome(second, attempt_at(2, 503, 20000));

  const endpoint_counters c = store_->counters_of(id);
  EXPECT_EQ(c.deliveries, 2u);
  EXPECT_EQ(c.succeeded, 1u);
  EXPECT_EQ(c.dead_lettered, 1u);
  EXPECT_EQ(c.failed, 0u);
  EXPECT_EQ(c.attempts, 3u);
  EXPECT_EQ(c.failed_attempts, 2u);
  EXPECT_EQ(c.retries, 1u);
  EXPECT_EQ(c.latency_sum_ms, 20007u);  // the refused attempt has no latency
  EXPECT_EQ(c.latency[1], 1u);          // 7 ms: within 10 ms
  EXPECT_EQ(c.latency.back(), 1u);      // 20 s: past the last bound
  EXPECT_EQ(store_->events_emitted(), 2u);
  EXPECT_EQ(store_->recent_attempts(id, 10).size(), 3u);
  EXPECT_EQ(store_->recent_attempts(id, 2).size(), 2u);
}

TEST_F(LmdbStore, KeepsTheLastFailedAttemptsErrorInTheHealthRecord) {
  const id128 id = put_endpoint().id;
  const emit_request r = request(kT0);
  append_one(r);
  delivery d = store_->find_delivery(r.id, id).value();

  store_->record_outcome(d, attempt_at(1, 0, 5));
  store_->record_outcome(d, attempt_at(2, 200, 5));

  const endpoint_health health = store_->health_of(id);
  EXPECT_EQ(health.failing_since_ms, 0);
  EXPECT_EQ(health.last_failure_ms, kT0 + 1);
  EXPECT_EQ(health.last_error_status, 0);
  EXPECT_EQ(health.last_error_class, "refused");
  EXPECT_EQ(health.last_error, "the connection was refused");
}

TEST_F(LmdbStore, CountsEventsOnceAndForgetsTheCountersOfADeletedEndpoint) {
  const id128 id = put_endpoint().id;
  append_one(request(kT0, "order-1"));
  append_one(request(kT0 + 1, "order-1"));        // a repeat
  append_one(request(kT0 + 2, {}, kRegistered));  // to nobody
  EXPECT_EQ(store_->events_emitted(), 2u);
  ASSERT_EQ(store_->counters().size(), 1u);

  store_->erase_endpoint(id);
  EXPECT_TRUE(store_->counters().empty());
  EXPECT_EQ(store_->counters_of(id).deliveries, 0u);
}

TEST_F(LmdbStore, SweepTakesAnEventsDeliveriesOutOfTheLog) {
  const id128 id = put_endpoint().id;
  const emit_request r = request(kT0);
  append_one(r);
  delivery d = store_->find_delivery(r.id, id).value();
  d.status = delivery_status::succeeded;
  d.completed_ms = kT0 + 1;
  store_->record_outcome(d, attempt_at(1, 200, 5));

  ASSERT_EQ(store_->sweep({kT0 + 10 * kHour, kHour, kHour}).events, 1u);
  EXPECT_TRUE(store_->delivery_log(of_endpoint(id), 10, "").deliveries.empty());
  EXPECT_TRUE(store_->delivery_log({}, 10, "").deliveries.empty());
}

// ---- the map and the files
// -------------------------------------------------------------

TEST_F(LmdbStore, GrowsItsMapWhenAppendsFillIt) {
  options_.directory = (dir_.path() / "small").string();
  options_.initial_map_size = std::size_t{64} << 10;
  reopen();
  const auto env = storage::open_environment({options_.directory});
  ASSERT_EQ(env->map_size(), options_.initial_map_size);
  put_endpoint();

  // Sixty-four batches of sixteen 4 KiB events: four MiB in all.
  std::vector<id128> appended;
  for (int batch = 0; batch < 64; ++batch) {
    std::vector<emit_request> requests;
    for (int i = 0; i < 16; ++i) {
      emit_request r = request(kT0 + batch);
      r.envelope.append(4096, 'x');
      appended.push_back(r.id);
      requests.push_back(std::move(r));
    }
    ASSERT_NO_THROW(append(requests)) << "batch " << batch;
  }

  EXPECT_GT(env->map_size(), std::size_t{4} << 20);
  for (const id128& id : appended) ASSERT_TRUE(store_->find_event(id).has_value());
  EXPECT_EQ(store_->pending_count(), appended.size());
}

TEST_F(LmdbStore, RefusesToGrowPastTheMaximumMapSizeAndKeepsWhatItHad) {
  options_.directory = (dir_.path() / "small").string();
  options_.initial_map_size = std::size_t{64} << 10;
  options_.max_map_size = std::size_t{256} << 10;
  reopen();
  const emit_request kept = request(kT0);
  append_one(kept);

  std::optional<storage_error> error;
  for (int i = 0; i < 100 && !error; ++i) {
    emit_request r = request(kT0 + 1);
    r.envelope.append(16 << 10, 'x');
    try {
      append_one(r);
    } catch (const storage_error& e) {
      error = e;
    }
  }
  ASSERT_TRUE(error.has_value()) << "100 appends of 16 KiB fit in 256 KiB";
  EXPECT_EQ(error->code(), MDB_MAP_FULL);
  EXPECT_TRUE(message_mentions(*error, "max_map_size"));
  EXPECT_EQ(store_->find_event(kept.id).value().envelope, kept.envelope);
}

TEST_F(LmdbStore, KeepsEverythingWhenTheDirectoryIsOpenedAgain) {
  const endpoint ep = put_endpoint();
  const emit_request r = request(kT0, "order-1");
  append_one(r);
  reopen();

  EXPECT_EQ(store_->find_endpoint(ep.id).value().url, ep.url);
  EXPECT_EQ(store_->find_event(r.id).value().envelope, r.envelope);
  EXPECT_EQ(store_->deliveries_of(r.id).size(), 1u);
  EXPECT_EQ(store_->body_of(r.id, 0), "shaped:" + r.envelope);
  EXPECT_EQ(store_->due(kT0, 10).size(), 1u);
  EXPECT_EQ(store_->pending_count(), 1u);
  const emit_outcome again = append_one(request(kT0 + 1, "order-1"));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.event, r.id);
}

TEST_F(LmdbStore, CreatesAMissingDirectoryOnlyItsOwnerMayEnter) {
  store_.reset();
  options_.directory = (dir_.path() / "a" / "b").string();
  store_ = open_lmdb_store(options_);
  struct stat info {};
  ASSERT_EQ(::stat(options_.directory.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

// ---- faults and damage ------------------------------------------------------------

// The fixture, with no store open: these tests prepare the directory first.
class LmdbStoreFault : public LmdbStore {
 protected:
  void SetUp() override {}

  void write_file(const std::string& name, const std::string& bytes) {
    std::ofstream out(dir_.path() / name, std::ios::binary);
    out << bytes;
  }

  // Writes key = value into the named database, as a damaged or foreign file might
  // hold it.
  void write_raw(const char* database, std::string_view key, std::string_view value) {
    const auto env = storage::open_environment({options_.directory});
    env->run_write([&](storage::transaction& txn) {
      txn.put(env->open_database(txn, database), key, value);
    });
  }

  void erase_raw(const char* database, std::string_view key) {
    const auto env = storage::open_environment({options_.directory});
    env->run_write([&](storage::transaction& txn) {
      txn.erase(env->open_database(txn, database), key);
    });
  }

  // One event appended for one endpoint and its delivery leased, in a store that is
  // then closed, so that the test can change the directory before reopening it.
  struct leased {
    endpoint to;
    emit_request event;
    delivery taken;
  };
  leased lease_one_and_close() {
    store_ = open_lmdb_store(options_);
    leased result{put_endpoint(), request(kT0), {}};
    append_one(result.event);
    const auto taken =
        store_->lease_by_endpoint(kT0, kHour, 10, [](const id128&) { return 10; });
    EXPECT_EQ(taken.size(), 1u);
    if (!taken.empty()) result.taken = taken[0];
    store_.reset();
    return result;
  }

  std::optional<std::string> read_raw(const char* database, std::string_view key) {
    const auto env = storage::open_environment({options_.directory});
    std::optional<std::string> value;
    env->run_write([&](storage::transaction& txn) {
      const auto found = txn.get(env->open_database(txn, database), key);
      if (found) value = std::string(*found);
    });
    return value;
  }
};

TEST_F(LmdbStoreFault, RefusesADataFileThatIsNotLmdb) {
  write_file("data.mdb", std::string(16 << 10, '\x5a'));
  const auto e = thrown_by<storage_error>([&] { open_lmdb_store(options_); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), MDB_INVALID);
  EXPECT_TRUE(message_mentions(*e, "not an LMDB file"));
}

TEST_F(LmdbStoreFault, RefusesADirectoryItCannotWrite) {
  if (::geteuid() == 0) GTEST_SKIP() << "root is not bound by permissions";
  std::filesystem::permissions(dir_.path(), std::filesystem::perms::owner_read |
                                                std::filesystem::perms::owner_exec);
  const auto e = thrown_by<storage_error>([&] { open_lmdb_store(options_); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), EACCES);
  EXPECT_TRUE(message_mentions(*e, "writable"));
}

TEST_F(LmdbStoreFault, RefusesADirectoryItCannotCreate) {
  if (::geteuid() == 0) GTEST_SKIP() << "root is not bound by permissions";
  std::filesystem::permissions(dir_.path(), std::filesystem::perms::owner_read |
                                                std::filesystem::perms::owner_exec);
  options_.directory = (dir_.path() / "data").string();
  const auto e = thrown_by<storage_error>([&] { open_lmdb_store(options_); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, options_.directory));
}

TEST_F(LmdbStoreFault, RefusesADirectoryOfAnotherStorageFormat) {
  std::string version;
  storage::put_u32(version, 3);
  write_raw("meta", "format", version);
  const auto e = thrown_by<storage_error>([&] { open_lmdb_store(options_); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "format 3"));
}

TEST_F(LmdbStoreFault, ReportsADamagedEndpointRecordAsAStorageError) {
  const id128 id = ids_.next(kT0);
  write_raw("endpoints", id.raw(), "{not json");
  store_ = open_lmdb_store(options_);
  EXPECT_THROW(store_->find_endpoint(id), storage_error);
  EXPECT_THROW(store_->list_endpoints(), storage_error);
}

TEST_F(LmdbStoreFault, ReportsATruncatedEventRecordAsAStorageError) {
  const id128 id = ids_.next(kT0);
  write_raw("events", id.raw(), std::string_view("\x01", 1));
  store_ = open_lmdb_store(options_);
  const auto e = thrown_by<storage_error>([&] { store_->find_event(id); });
  ASSERT_TRUE(e);
  EXPECT_TRUE(message_mentions(*e, "damaged"));
}

TEST_F(LmdbStoreFault, ADeliveryOfAnEventWithDamagedCountsFinishesWithAStorageError) {
  const auto [e, r, taken] = lease_one_and_close();

  // 3 bytes where the pending count and the finished time take 12.
  write_raw("event_counts", r.id.raw(), std::string_view("\x00\x00\x01", 3));
  store_ = open_lmdb_store(options_);
  delivery done = taken;
  done.status = delivery_status::succeeded;
  done.completed_ms = kT0 + 1;
  const auto error =
      thrown_by<storage_error>([&] { store_->record_outcome(done, {}); });
  ASSERT_TRUE(error);
  EXPECT_TRUE(message_mentions(*error, "damaged"));
  // Nothing of the failed transaction stayed.
  EXPECT_EQ(store_->find_delivery(r.id, e.id)->status, delivery_status::in_flight);
}

TEST_F(LmdbStoreFault, AFormat1DirectoryKeepsItsEventCountsWhenOpened) {
  const auto [e, r, taken] = lease_one_and_close();

  // As format 1 wrote it: the counts in a version 2 event record (one delivery
  // pending, not finished), no event_counts entry.
  std::string old_record;
  old_record.push_back('\x02');
  old_record.push_back(static_cast<char>(r.type.size()));
  old_record += r.type;
  storage::put_u64(old_record, static_cast<std::uint64_t>(r.created_ms));
  storage::put_u32(old_record, 1);
  storage::put_u64(old_record, 0);
  old_record += r.envelope;
  write_raw("events", r.id.raw(), old_record);
  erase_raw("event_counts", r.id.raw());
  std::string format_1;
  storage::put_u32(format_1, 1);
  write_raw("meta", "format", format_1);

  store_ = open_lmdb_store(options_);
  const auto before = store_->find_event(r.id);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->pending, 1u);
  EXPECT_EQ(before->envelope, r.envelope);
  EXPECT_EQ(before->type, r.type);

  // Its last delivery finishes it, counted in the new place.
  delivery done = taken;
  done.status = delivery_status::succeeded;
  done.completed_ms = kT0 + 5;
  EXPECT_TRUE(store_->record_outcome(done, {}));
  const auto after = store_->find_event(r.id);
  EXPECT_EQ(after->pending, 0u);
  EXPECT_EQ(after->finished_ms, kT0 + 5);
  store_.reset();

  const auto format = read_raw("meta", "format");
  ASSERT_TRUE(format);
  EXPECT_EQ(storage::reader(*format).u32(), 2u);
}

// What the child process of the full-disk test found; 0 is success.
enum disk_full_result : int {
  kDiskFullPassed = 0,
  kNeverFilled = 10,
  kWrongException = 11,
  kLostAnEvent = 12,
  kCannotAppendAfterwards = 13,
  kCannotReopen = 14,
};

// Runs in a child process: limits the size of files it may write, appends until an
// append fails, then lifts the limit, reopens the directory and checks that every
// event appended before the failure is intact.
int fill_the_disk(const lmdb_store_options& options) {
  ::signal(SIGXFSZ, SIG_IGN);
  id_generator ids;
  std::vector<emit_request> appended;
  rlimit original{};
  ::getrlimit(RLIMIT_FSIZE, &original);
  {
    auto store = open_lmdb_store(options);
    const auto size = std::filesystem::file_size(
        std::filesystem::path(options.directory) / "data.mdb");
    rlimit limited = original;
    limited.rlim_cur = size + (256 << 10);
    ::setrlimit(RLIMIT_FSIZE, &limited);

    bool failed = false;
    for (int i = 0; i < 200 && !failed; ++i) {
      emit_request r;
      r.id = ids.next(kT0 + i);
      r.type = kLoginFailed;
      r.created_ms = kT0 + i;
      r.envelope = r.id.to_string(kEventPrefix) + std::string(8 << 10, 'x');
      const std::vector<emit_request> one = {r};
      try {
        store->append(one, test_planner{});
        appended.push_back(std::move(r));
      } catch (const storage_error&) {
        failed = true;
      } catch (...) {
        return kWrongException;
      }
    }
    if (!failed) return kNeverFilled;
  }

  ::setrlimit(RLIMIT_FSIZE, &original);
  try {
    auto store = open_lmdb_store(options);
    for (const emit_request& r : appended) {
      const auto event = store->find_event(r.id);
      if (!event || event->envelope != r.envelope) return kLostAnEvent;
    }
    emit_request after;
    after.id = ids.next(kT0 + 1000);
    after.type = kLoginFailed;
    after.created_ms = kT0 + 1000;
    const std::vector<emit_request> one = {after};
    store->append(one, test_planner{});
    if (!store->find_event(after.id)) return kCannotAppendAfterwards;
  } catch (...) {
    return kCannotReopen;
  }
  return kDiskFullPassed;
}

TEST_F(LmdbStoreFault, AFullDiskFailsAnAppendAndLosesNothingCommittedBefore) {
  options_.initial_map_size = std::size_t{16} << 20;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0) << "fork: " << std::strerror(errno);
  if (child == 0) ::_exit(fill_the_disk(options_));

  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), kDiskFullPassed)
      << "10: never filled, 11: not a storage_error, 12: lost an event, "
         "13: cannot append afterwards, 14: cannot reopen";
}

}  // namespace
}  // namespace protekt
