// The store's side of delivery: leases, outcomes, the attempt log, and how finished
// deliveries finish their event.
#include "protekt/store.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/outcome_writer.hpp"
#include "protekt/endpoint.hpp"
#include "storage/lmdb.hpp"
#include "temp_directory.hpp"

namespace protekt {
namespace {

constexpr std::int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kLease = 30'000;
constexpr std::size_t kEveryOne = 1000;
constexpr std::string_view kType = "user.registered";

class DeliveryQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_lmdb_store({dir_.string()});
    for (int i = 0; i < 2; ++i) {
      endpoint e;
      e.id = ids_.next(kT0);
      e.url = "https://hooks.example.com/" + std::to_string(i);
      e.events = {std::string(kType)};
      e.status = endpoint_status::active;
      endpoints_.push_back(
          store_->update_endpoint(e.id, [&](const auto&) { return e; }));
    }
  }

  // Appends one event with a delivery to each endpoint, due at due_ms.
  id128 emit(std::int64_t due_ms) {
    emit_request r;
    r.id = ids_.next(kT0);
    r.type = kType;
    r.created_ms = kT0;
    r.envelope = "{}";
    store_->append({&r, 1},
                   [&](const emit_request& req, std::span<const endpoint> active) {
                     fanout f;
                     for (const endpoint& e : active) {
                       delivery d;
                       d.event = req.id;
                       d.endpoint = e.id;
                       d.created_ms = req.created_ms;
                       d.due_ms = due_ms;
                       f.deliveries.push_back(d);
                     }
                     return f;
                   });
    return r.id;
  }

  // Leases due deliveries with room for every one of them at every endpoint.
  std::vector<delivery> lease(std::int64_t now_ms, std::size_t limit) {
    return store_->lease_by_endpoint(now_ms, kLease, limit,
                                     [](const id128&) { return kEveryOne; });
  }

  delivery finished(delivery d, delivery_status status, std::int64_t at) {
    d.status = status;
    d.attempts = static_cast<std::uint16_t>(d.attempts + 1);
    d.completed_ms = at;
    d.last_status = status == delivery_status::succeeded ? 200 : 500;
    return d;
  }

  attempt attempt_at(std::uint16_t number, std::int32_t status) {
    attempt a;
    a.number = number;
    a.started_ms = kT0 + number;
    a.duration_ms = 12;
    a.status = status;
    a.error_class = status == 0 ? "timeout" : "";
    a.error = status == 0 ? "no response within 15 s" : "";
    a.response_excerpt = std::string(3000, 'x');
    return a;
  }

  // The id of the last transaction committed in the LMDB environment at directory.
  static std::size_t last_transaction(const std::filesystem::path& directory) {
    const auto env = storage::open_environment({directory});
    MDB_envinfo info;
    mdb_env_info(env->native(), &info);
    return info.me_last_txnid;
  }

  // The lease environment of this boot of the machine (docs/storage.md).
  std::filesystem::path lease_directory() const {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string boot;
    in >> boot;
    return dir_.path() / ("leases-" + boot);
  }

  // How many leases the lease environment holds.
  std::size_t leases_written() const {
    const auto env = storage::open_environment({lease_directory()});
    storage::transaction txn(*env, false);
    MDB_dbi dbi = 0;
    mdb_dbi_open(txn.native(), "leases", 0, &dbi);
    MDB_stat stat;
    mdb_stat(txn.native(), dbi, &stat);
    return stat.ms_entries;
  }

  test::temp_directory dir_;
  std::unique_ptr<store> store_;
  id_generator ids_;
  std::vector<endpoint> endpoints_;
};

TEST_F(DeliveryQueue, LeasesOnlyWhatIsDueEarliestFirst) {
  const id128 later = emit(kT0 + 5000);
  const id128 sooner = emit(kT0 + 1000);

  const auto taken = lease(kT0 + 2000, 10);

  ASSERT_EQ(taken.size(), 2u);
  for (const delivery& d : taken) {
    EXPECT_EQ(d.event, sooner);
    EXPECT_EQ(d.status, delivery_status::in_flight);
    EXPECT_EQ(d.lease_until_ms, kT0 + 2000 + kLease);
  }
  EXPECT_EQ(lease(kT0 + 2000, 10).size(), 0u);
  EXPECT_EQ(lease(kT0 + 6000, 10).at(0).event, later);
}

TEST_F(DeliveryQueue, HandsALeaseOutAgainOnlyAfterItEnds) {
  emit(kT0);
  const auto first = lease(kT0, 10);
  ASSERT_EQ(first.size(), 2u);

  // A dispatcher that died never reports; its deliveries come back after the lease.
  EXPECT_TRUE(lease(kT0 + kLease - 1, 10).empty());
  const auto again = lease(kT0 + kLease, 10);
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ(store_->pending_count(), 2u);
}

TEST_F(DeliveryQueue, ALeaseTakenByAnotherStoreHoldsUntilItEnds) {
  emit(kT0);
  ASSERT_EQ(lease(kT0, 10).size(), 2u);

  // A second store on the directory, as a process that starts after the first one
  // died: it finds the leases in the lease environment and waits for their end.
  auto other = open_lmdb_store({dir_.string()});
  const auto all = [](const id128&) { return kEveryOne; };
  EXPECT_TRUE(other->lease_by_endpoint(kT0 + 1, kLease, 10, all).empty());
  EXPECT_TRUE(other->lease_by_endpoint(kT0 + kLease - 1, kLease, 10, all).empty());
  const auto again = other->lease_by_endpoint(kT0 + kLease, kLease, 10, all);
  ASSERT_EQ(again.size(), 2u);
  for (const delivery& d : again) {
    EXPECT_EQ(d.lease_until_ms, kT0 + 2 * kLease);
  }
  // The first store's lease has ended too, and the second one's has not.
  EXPECT_TRUE(lease(kT0 + kLease, 10).empty());
}

TEST_F(DeliveryQueue, ALeaseWritesNothingInTheDataEnvironment) {
  const id128 event = emit(kT0);
  const std::size_t before = last_transaction(dir_.path());

  const auto taken = lease(kT0, 10);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(last_transaction(dir_.path()), before);
  EXPECT_EQ(leases_written(), 2u);

  // The outcome is written in the data, and ends the lease.
  store_->record_outcome(finished(taken[0], delivery_status::succeeded, kT0 + 5),
                         attempt_at(1, 200));
  EXPECT_GT(last_transaction(dir_.path()), before);
  EXPECT_EQ(leases_written(), 1u);
  EXPECT_EQ(store_->find_delivery(event, taken[0].endpoint)->status,
            delivery_status::succeeded);
}

TEST_F(DeliveryQueue, ADeliveryReadsAsInFlightFromAnotherStoreUntilItsOutcome) {
  const id128 event = emit(kT0);
  const auto taken = lease(kT0, 1);
  ASSERT_EQ(taken.size(), 1u);

  // A second store on the directory knows of the lease only from the lease
  // environment, as another process would.
  auto other = open_lmdb_store({dir_.string()});
  const auto seen = other->find_delivery(event, taken[0].endpoint);
  EXPECT_EQ(seen->status, delivery_status::in_flight);
  EXPECT_EQ(seen->lease_until_ms, kT0 + kLease);
  std::size_t in_flight = 0;
  for (const delivery& d : other->deliveries_of(event)) {
    if (d.status == delivery_status::in_flight) ++in_flight;
  }
  EXPECT_EQ(in_flight, 1u);
  EXPECT_EQ(other->due(kT0 + 1, 10).size(), 1u);  // the delivery not leased

  delivery retry = taken[0];
  retry.status = delivery_status::pending;
  retry.attempts = 1;
  retry.due_ms = kT0 + 100;
  store_->record_outcome(retry, attempt_at(1, 500));
  EXPECT_EQ(other->find_delivery(event, taken[0].endpoint)->status,
            delivery_status::pending);
  // Due again at its new time, for either store.
  EXPECT_EQ(other->due(kT0 + 100, 10).size(), 2u);
  EXPECT_EQ(leases_written(), 0u);
}

TEST_F(DeliveryQueue, RemovesTheLeasesOfAnEarlierBootWhenOpened) {
  emit(kT0);
  ASSERT_EQ(lease(kT0, 10).size(), 2u);
  store_.reset();
  const std::filesystem::path earlier =
      dir_.path() / "leases-00000000-0000-4000-8000-000000000000";
  std::filesystem::create_directories(earlier);
  std::ofstream(earlier / "data.mdb") << "whatever an unsynced write left";

  store_ = open_lmdb_store({dir_.string()});
  EXPECT_FALSE(std::filesystem::exists(earlier));
  // This boot's leases stay: their process may still run.
  EXPECT_TRUE(std::filesystem::exists(lease_directory()));
  EXPECT_TRUE(lease(kT0 + kLease - 1, 10).empty());
}

TEST_F(DeliveryQueue, LeasedDeliveriesAreNotListedAsDueUntilTheLeaseEnds) {
  const id128 event = emit(kT0);
  const auto taken = lease(kT0, 1);
  ASSERT_EQ(taken.size(), 1u);

  const auto due = store_->due(kT0 + 1, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event, event);
  EXPECT_NE(due[0].endpoint, taken[0].endpoint);
  EXPECT_EQ(store_->due(kT0 + kLease, 10).size(), 2u);
  EXPECT_EQ(store_->pending_count(), 2u);  // leased ones count until they finish
}

TEST_F(DeliveryQueue, TheNextDueTimeOfAQueueThatIsAllLeasedIsTheFirstLeasesEnd) {
  emit(kT0);
  emit(kT0 + 10);
  ASSERT_EQ(lease(kT0 + 10, 10).size(), 4u);
  emit(kT0 + 2 * kLease);

  EXPECT_EQ(store_->next_due_ms(), kT0 + 10 + kLease);
  // Once one of them is finished, the others' lease still comes first.
  const delivery first = lease(kT0 + 10 + kLease, 1).at(0);
  ASSERT_TRUE(store_->record_outcome(
      finished(first, delivery_status::succeeded, kT0 + 11 + kLease),
      attempt_at(1, 200)));
  EXPECT_EQ(store_->next_due_ms(), kT0 + 10 + kLease);
  EXPECT_EQ(lease(kT0 + 10 + kLease, 10).size(), 3u);
  EXPECT_EQ(store_->next_due_ms(), kT0 + 2 * kLease);
}

TEST_F(DeliveryQueue, ReschedulesAFailedAttemptAndLogsIt) {
  emit(kT0);
  delivery d = lease(kT0, 1).at(0);

  d.status = delivery_status::pending;
  d.attempts = 1;
  d.due_ms = kT0 + 60'000;
  d.last_status = 503;
  ASSERT_TRUE(store_->record_outcome(d, attempt_at(1, 503)));

  EXPECT_TRUE(lease(kT0 + 59'999, 10).size() == 1);  // the other one
  const auto retried = lease(kT0 + 60'000, 10);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempts, 1);
  EXPECT_EQ(retried[0].last_status, 503);

  const auto log = store_->attempts_of(d.event, d.endpoint);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].number, 1);
  EXPECT_EQ(log[0].status, 503);
  EXPECT_EQ(log[0].duration_ms, 12);
  EXPECT_EQ(log[0].response_excerpt.size(), kMaxExcerpt);
}

TEST_F(DeliveryQueue, KeepsEveryAttemptInOrder) {
  emit(kT0);
  delivery d = lease(kT0, 1).at(0);
  for (std::uint16_t n = 1; n <= 3; ++n) {
    d.status = delivery_status::in_flight;
    d.attempts = n;
    d.due_ms = d.lease_until_ms;
    ASSERT_TRUE(store_->record_outcome(d, attempt_at(n, n == 2 ? 0 : 500)));
  }

  const auto log = store_->attempts_of(d.event, d.endpoint);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].number, 2);
  EXPECT_EQ(log[1].error_class, "timeout");
  EXPECT_EQ(log[1].error, "no response within 15 s");
  EXPECT_EQ(log[2].number, 3);
}

TEST_F(DeliveryQueue, FinishesTheEventWhenItsLastDeliveryFinishes) {
  const id128 event = emit(kT0);
  const auto taken = lease(kT0, 10);
  ASSERT_EQ(taken.size(), 2u);

  store_->record_outcome(finished(taken[0], delivery_status::succeeded, kT0 + 10), {});
  EXPECT_EQ(store_->find_event(event)->pending, 1u);
  EXPECT_EQ(store_->sweep({kT0 + 10'000, 0, 0}).events, 0u);

  store_->record_outcome(finished(taken[1], delivery_status::dead_lettered, kT0 + 20),
                         {});
  EXPECT_EQ(store_->find_event(event)->pending, 0u);
  EXPECT_EQ(store_->pending_count(), 0u);

  // Finished, the event now ages out with its deliveries and their attempt log.
  EXPECT_EQ(store_->sweep({kT0 + 10'000, 0, 0}).events, 1u);
  EXPECT_FALSE(store_->find_event(event).has_value());
  EXPECT_FALSE(store_->find_delivery(event, taken[0].endpoint).has_value());
}

TEST_F(DeliveryQueue, CountsAFinishedDeliveryOnlyOnce) {
  const id128 event = emit(kT0);
  const auto taken = lease(kT0, 10);
  const delivery done = finished(taken[0], delivery_status::succeeded, kT0 + 10);

  store_->record_outcome(done, {});
  store_->record_outcome(done, {});  // a duplicate report of the same outcome

  EXPECT_EQ(store_->find_event(event)->pending, 1u);
}

TEST_F(DeliveryQueue, ReportsAnOutcomeForADeliveryThatIsGone) {
  delivery ghost;
  ghost.event = ids_.next(kT0);
  ghost.endpoint = endpoints_[0].id;
  ghost.status = delivery_status::succeeded;

  EXPECT_FALSE(store_->record_outcome(ghost, attempt_at(1, 200)));
  EXPECT_TRUE(store_->attempts_of(ghost.event, ghost.endpoint).empty());
}

TEST_F(DeliveryQueue, KeepsLeasesAndOutcomesAcrossAReopen) {
  const id128 event = emit(kT0);
  const auto taken = lease(kT0, 10);
  store_->record_outcome(finished(taken[0], delivery_status::succeeded, kT0 + 5),
                         attempt_at(1, 200));

  store_.reset();
  store_ = open_lmdb_store({dir_.string()});

  EXPECT_EQ(store_->find_delivery(event, taken[0].endpoint)->status,
            delivery_status::succeeded);
  EXPECT_EQ(store_->find_delivery(event, taken[1].endpoint)->status,
            delivery_status::in_flight);
  EXPECT_EQ(store_->attempts_of(event, taken[0].endpoint).size(), 1u);
  EXPECT_EQ(lease(kT0 + kLease, 10).size(), 1u);
}

TEST_F(DeliveryQueue, StoresABatchOfOutcomesAsEachWouldBeStoredAlone) {
  const id128 event = emit(kT0);
  const auto taken = lease(kT0, 10);
  ASSERT_EQ(taken.size(), 2u);
  delivery ghost = taken[0];
  ghost.event = ids_.next(kT0);

  int notice_changes = 0;
  const std::vector<outcome_record> batch = {
      {finished(taken[0], delivery_status::succeeded, kT0 + 5), attempt_at(1, 200), {}},
      {finished(taken[1], delivery_status::failed, kT0 + 6), attempt_at(1, 500),
       [&](const std::optional<std::string>&) {
         ++notice_changes;
         return std::optional<std::string>("{\"failures\":1}");
       }},
      {finished(ghost, delivery_status::succeeded, kT0 + 7), attempt_at(1, 200), {}},
  };

  EXPECT_EQ(store_->record_outcomes(batch), (std::vector<bool>{true, true, false}));

  EXPECT_EQ(store_->find_delivery(event, taken[0].endpoint)->status,
            delivery_status::succeeded);
  EXPECT_EQ(store_->find_delivery(event, taken[1].endpoint)->status,
            delivery_status::failed);
  EXPECT_EQ(store_->find_event(event)->pending, 0u);
  EXPECT_EQ(store_->attempts_of(event, taken[1].endpoint).at(0).status, 500);
  EXPECT_EQ(notice_changes, 1);
  const auto notices = store_->notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].first, taken[1].endpoint);
  EXPECT_TRUE(store_->attempts_of(ghost.event, ghost.endpoint).empty());
}

TEST_F(DeliveryQueue, ABatchCountsEveryOutcomeOfOneEndpointInTurn) {
  emit(kT0);
  emit(kT0);
  emit(kT0);
  const id128 first = endpoints_[0].id;
  std::vector<delivery> mine;
  for (const delivery& d : lease(kT0, 10)) {
    if (d.endpoint == first) mine.push_back(d);
  }
  ASSERT_EQ(mine.size(), 3u);
  const endpoint_counters before = store_->counters_of(first);

  // A success, then two failed attempts: the endpoint is failing since the first of
  // them, and its last error is the second's.
  attempt timeout = attempt_at(1, 0);
  timeout.started_ms = kT0 + 30;
  delivery retry = mine[2];
  retry.status = delivery_status::pending;
  retry.attempts = 1;
  retry.due_ms = kT0 + 60'000;
  const std::vector<outcome_record> batch = {
      {finished(mine[0], delivery_status::succeeded, kT0 + 10), attempt_at(1, 200), {}},
      {finished(mine[1], delivery_status::failed, kT0 + 20), attempt_at(1, 500), {}},
      {retry, timeout, {}},
  };
  EXPECT_EQ(store_->record_outcomes(batch), (std::vector<bool>{true, true, true}));

  const endpoint_counters after = store_->counters_of(first);
  EXPECT_EQ(after.attempts - before.attempts, 3u);
  EXPECT_EQ(after.failed_attempts - before.failed_attempts, 2u);
  EXPECT_EQ(after.succeeded - before.succeeded, 1u);
  EXPECT_EQ(after.failed - before.failed, 1u);
  EXPECT_EQ(after.latency_sum_ms - before.latency_sum_ms, 24u);  // two answered

  const endpoint_health health = store_->health_of(first);
  EXPECT_EQ(health.last_success_ms, kT0 + 1);
  EXPECT_EQ(health.failing_since_ms, kT0 + 1);  // the 500's start
  EXPECT_EQ(health.last_failure_ms, kT0 + 30);
  EXPECT_EQ(health.last_error_class, "timeout");
  EXPECT_EQ(health.last_error_status, 0);

  // The other endpoint's records are untouched by this batch.
  EXPECT_EQ(store_->counters_of(endpoints_[1].id).attempts, 0u);
}

TEST_F(DeliveryQueue, TheOutcomeWriterStoresEverythingPushedBeforeItsFlush) {
  emit(kT0);
  emit(kT0);
  const auto taken = lease(kT0, 10);
  ASSERT_EQ(taken.size(), 4u);

  std::vector<bool> reported;
  std::mutex reported_mutex;
  {
    dispatch::outcome_writer writer(*store_);
    for (const delivery& d : taken) {
      writer.push(
          {finished(d, delivery_status::succeeded, kT0 + 9), attempt_at(1, 200), {}},
          [&](bool stored) {
            std::lock_guard lock(reported_mutex);
            reported.push_back(stored);
          });
    }
    writer.flush();
    EXPECT_EQ(reported, std::vector<bool>(4, true));

    // After a flush it still stores, on the caller's thread.
    delivery late = taken[0];
    late.event = ids_.next(kT0);
    writer.push({late, std::nullopt, {}}, [&](bool stored) {
      std::lock_guard lock(reported_mutex);
      reported.push_back(stored);
    });
    EXPECT_EQ(reported.size(), 5u);
    EXPECT_FALSE(reported.back());
  }

  EXPECT_EQ(store_->pending_count(), 0u);
  for (const delivery& d : taken) {
    EXPECT_EQ(store_->find_delivery(d.event, d.endpoint)->status,
              delivery_status::succeeded);
  }
}

TEST_F(DeliveryQueue, LeasesEachEndpointsDueDeliveriesUpToItsRoom) {
  const id128 first = emit(kT0 + 1);
  const id128 second = emit(kT0 + 2);
  emit(kT0 + 3);
  emit(kT0 + 60'000);  // not due yet
  const id128 full = endpoints_[0].id;
  const id128 roomy = endpoints_[1].id;

  const auto taken = store_->lease_by_endpoint(
      kT0 + 10, kLease, 100, [&](const id128& e) { return e == full ? 2u : 10u; });

  std::vector<id128> to_full, to_roomy;
  for (const delivery& d : taken) {
    EXPECT_EQ(d.status, delivery_status::in_flight);
    EXPECT_EQ(d.lease_until_ms, kT0 + 10 + kLease);
    ASSERT_TRUE(d.endpoint == full || d.endpoint == roomy);
    (d.endpoint == full ? to_full : to_roomy).push_back(d.event);
  }
  EXPECT_EQ(to_full, (std::vector<id128>{first, second}));  // earliest first
  EXPECT_EQ(to_roomy.size(), 3u);
  EXPECT_EQ(store_->pending_count(), 8u);  // leased ones count until they finish
}

TEST_F(DeliveryQueue, AFullEndpointsBacklogDoesNotHoldBackAnother) {
  for (int i = 0; i < 50; ++i) emit(kT0 + i);
  const id128 full = endpoints_[0].id;

  const auto taken = store_->lease_by_endpoint(
      kT0 + 100, kLease, 10, [&](const id128& e) { return e == full ? 0u : 10u; });

  ASSERT_EQ(taken.size(), 10u);
  for (const delivery& d : taken) EXPECT_EQ(d.endpoint, endpoints_[1].id);
  // What was left is still due, in order, for a later lease.
  const auto later = store_->lease_by_endpoint(kT0 + 100, kLease, 100,
                                               [](const id128&) { return 100u; });
  EXPECT_EQ(later.size(), 90u);
}

TEST_F(DeliveryQueue, LeasesStartingAfterAnEndpointServeEveryEndpointInTurn) {
  for (int i = 0; i < 6; ++i) emit(kT0 + i);
  // Endpoint ids grow with creation, so endpoints_ is in id order.
  const id128 lower = endpoints_[0].id;
  const id128 higher = endpoints_[1].id;
  const auto room = [](const id128&) { return 100u; };
  const auto endpoints_of = [](const std::vector<delivery>& taken) {
    std::vector<id128> ids;
    for (const delivery& d : taken) ids.push_back(d.endpoint);
    return ids;
  };

  // The limit binds at the first endpoint visited: without a start it is the lower.
  EXPECT_EQ(endpoints_of(store_->lease_by_endpoint(kT0 + 10, kLease, 2, room)),
            (std::vector<id128>{lower, lower}));
  // After the lower, the higher comes first, then the lower again.
  EXPECT_EQ(endpoints_of(
                store_->lease_by_endpoint(kT0 + 10, kLease, 8, room, nullptr, lower)),
            (std::vector<id128>{higher, higher, higher, higher, higher, higher, lower,
                                lower}));
  // After the higher, the walk comes round to the start and ends there.
  EXPECT_EQ(endpoints_of(
                store_->lease_by_endpoint(kT0 + 10, kLease, 8, room, nullptr, higher)),
            (std::vector<id128>{lower, lower}));
}

TEST_F(DeliveryQueue, AnOutcomeMovesADeliveryInBothDueIndexes) {
  emit(kT0);
  delivery d = lease(kT0, 1).at(0);
  d.status = delivery_status::pending;
  d.attempts = 1;
  d.due_ms = kT0 + 5000;
  ASSERT_TRUE(store_->record_outcome(d, attempt_at(1, 500)));

  const auto all = [](const id128&) { return std::size_t{10}; };
  EXPECT_EQ(store_->lease_by_endpoint(kT0 + 4999, kLease, 10, all).size(), 1u);
  const auto retried = store_->lease_by_endpoint(kT0 + 5000, kLease, 10, all);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempts, 1);
  // Once both leases ran out, the retried delivery and the one never answered are
  // due again.
  EXPECT_EQ(store_->lease_by_endpoint(kT0 + kLease * 2, kLease, 10, all).size(), 2u);
}

TEST_F(DeliveryQueue, RebuildsTheEndpointIndexOfADirectoryThatLacksIt) {
  emit(kT0);
  emit(kT0 + 1);
  store_.reset();

  // A directory written before the per-endpoint index existed: drop it by hand.
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir_.string().c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "endpoint_due", 0, &dbi), 0);
  ASSERT_EQ(mdb_drop(txn, dbi, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);

  store_ = open_lmdb_store({dir_.string()});

  const auto taken =
      store_->lease_by_endpoint(kT0 + 1, kLease, 10, [](const id128&) { return 10u; });
  EXPECT_EQ(taken.size(), 4u);
}

TEST_F(DeliveryQueue, ALeaseCanReadEachDeliverysBodyInItsTransaction) {
  emit(kT0);
  emit(kT0 + 1);

  std::vector<std::optional<std::string>> bodies;
  const auto taken = store_->lease_by_endpoint(
      kT0 + 1, kLease, 10, [](const id128&) { return 10u; }, &bodies);

  ASSERT_EQ(taken.size(), 4u);
  ASSERT_EQ(bodies.size(), taken.size());
  for (std::size_t i = 0; i < taken.size(); ++i) {
    EXPECT_EQ(bodies[i], store_->body_of(taken[i].event, taken[i].shape));
    EXPECT_EQ(bodies[i], std::optional<std::string>("{}"));
  }
}

}  // namespace
}  // namespace protekt
