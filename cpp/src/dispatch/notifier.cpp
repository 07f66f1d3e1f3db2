#include "dispatch/notifier.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json_text.hpp"
#include "common/threads.hpp"
#include "dispatch/dispatcher.hpp"
#include "dispatch/smtp.hpp"
#include "protekt/error.hpp"
#include "protekt/log.hpp"

namespace protekt::dispatch {
namespace {

using nlohmann::json;

// A notice keeps the newest failures; older ones are only counted.
constexpr std::size_t kKeptFailures = 20;
constexpr std::int64_t kIdleWaitMs = 60 * 1000;
constexpr std::int64_t kFirstBackoffMs = 60 * 1000;
constexpr std::int64_t kMaxBackoffMs = 3600 * 1000;

json parse_notice(const std::optional<std::string>& text) {
  json n = json::object();
  if (text) {
    json stored = json::parse(*text, nullptr, false);
    if (stored.is_object()) n = std::move(stored);
  }
  for (const char* key : {"failed", "due_ms", "tries", "last_sent_ms"}) {
    if (!n.contains(key)) n[key] = 0;
  }
  if (!n.contains("failures")) n["failures"] = json::array();
  if (!n.contains("disabled")) n["disabled"] = nullptr;
  if (!n.contains("last_error")) n["last_error"] = "";
  return n;
}

bool news(const json& n) {
  return n["failed"].get<std::int64_t>() > 0 || !n["disabled"].is_null();
}

// What went wrong in the last attempt, for people.
std::string describe(const json& failure) {
  const std::string error = failure.value("error", "");
  if (!error.empty()) return error;
  return "the endpoint answered " + std::to_string(failure.value("status", 0));
}

json failure_data(const json& f) {
  const int status = f.value("status", 0);
  std::string error_class = f.value("error_class", "");
  if (error_class.empty()) error_class = "status";
  return {
      {"event", {{"id", f["event"]}, {"type", f["type"]}}},
      {"attempts", f["attempts"]},
      {"last_error",
       {{"status", status == 0 ? json(nullptr) : json(status)},
        {"class", error_class},
        {"message", describe(f)}}},
      {"dead_lettered", f["dead_lettered"]},
      {"at", detail::rfc3339_ms(f["at_ms"].get<std::int64_t>())},
  };
}

std::string envelope(const id128& id, std::string_view type, std::int64_t now_ms,
                     json data) {
  return json{{"id", id.to_string(kEventPrefix)},
              {"type", type},
              {"timestamp", detail::rfc3339_ms(now_ms)},
              {"data", std::move(data)}}
      .dump();
}

json endpoint_data(const endpoint& config) {
  return {{"id", config.id.to_string(kEndpointPrefix)}, {"url", config.url}};
}

// webhook.delivery.failed: the newest failure in front, the others after it.
std::string failed_body(const id128& id, const endpoint& config, const json& n,
                        std::int64_t now_ms) {
  const json& failures = n["failures"];
  json data = json::object();
  data["endpoint"] = endpoint_data(config);
  if (!failures.empty()) {
    const json last = failure_data(failures.back());
    data["event"] = last["event"];
    data["attempts"] = last["attempts"];
    data["last_error"] = last["last_error"];
    data["dead_lettered"] = last["dead_lettered"];
  }
  data["failed_deliveries"] = n["failed"];
  data["failures"] = json::array();
  for (const json& f : failures) data["failures"].push_back(failure_data(f));
  return envelope(id, "webhook.delivery.failed", now_ms, std::move(data));
}

std::string disabled_body(const id128& id, const endpoint& config, const json& n,
                          std::int64_t now_ms) {
  json data = {{"endpoint", endpoint_data(config)},
               {"reason", n["disabled"]["reason"]},
               {"disabled_at", detail::rfc3339_ms(n["disabled"]["at_ms"])}};
  return envelope(id, "webhook.endpoint.disabled", now_ms, std::move(data));
}

email failure_email(const endpoint& config, const json& n) {
  email m;
  m.to = config.notification.target;
  const std::string where = config.url;
  const std::int64_t failed = n["failed"].get<std::int64_t>();
  if (!n["disabled"].is_null()) {
    m.subject = "Protekt: the webhook endpoint " + where + " was disabled";
  } else {
    m.subject = "Protekt: " + std::to_string(failed) +
                (failed == 1 ? " delivery" : " deliveries") + " to " + where +
                " failed";
  }
  std::string& t = m.text;
  t += "Endpoint " + config.id.to_string(kEndpointPrefix) + " (" + where + ")\n\n";
  if (!n["disabled"].is_null()) {
    t += "It was disabled at " + detail::rfc3339_ms(n["disabled"]["at_ms"]) + ": " +
         n["disabled"]["reason"].get<std::string>() +
         ".\nIt receives nothing until it is verified and saved again.\n\n";
  }
  if (failed > 0) {
    t += std::to_string(failed) + (failed == 1 ? " delivery" : " deliveries") +
         " failed for good";
    const std::size_t shown = n["failures"].size();
    if (static_cast<std::int64_t>(shown) < failed) {
      t += "; the latest " + std::to_string(shown) + " are";
    }
    t += ":\n\n";
    for (const json& f : n["failures"]) {
      t += "- " + f["event"].get<std::string>() + " " + f["type"].get<std::string>() +
           ", " + std::to_string(f["attempts"].get<int>()) + " attempts, " +
           (f["dead_lettered"].get<bool>() ? "in the dead-letter queue" : "dropped") +
           ", at " + detail::rfc3339_ms(f["at_ms"].get<std::int64_t>()) +
           "\n  last error: " + describe(f) + "\n";
    }
    t += "\nDeliveries in the dead-letter queue can be replayed once the endpoint "
         "works again.\n";
  }
  return m;
}

// The notice after a send of what `sent` held: that part is out (sent, or given
// up), and whatever arrived meanwhile stays for the next one.
json without_sent(json n, const json& sent) {
  n["failed"] = std::max<std::int64_t>(
      0, n["failed"].get<std::int64_t>() - sent["failed"].get<std::int64_t>());
  json kept = json::array();
  for (const json& f : n["failures"]) {
    if (std::find(sent["failures"].begin(), sent["failures"].end(), f) ==
        sent["failures"].end()) {
      kept.push_back(f);
    }
  }
  n["failures"] = std::move(kept);
  if (n["disabled"] == sent["disabled"]) n["disabled"] = nullptr;
  return n;
}

}  // namespace

std::string add_failure(const std::optional<std::string>& notice,
                        const failure_report& r, std::int64_t now_ms,
                        const notification_options& options) {
  json n = parse_notice(notice);
  if (!news(n)) {
    n["due_ms"] = std::max(
        now_ms, n["last_sent_ms"].get<std::int64_t>() + options.interval.count());
    n["tries"] = 0;
  }
  n["failed"] = n["failed"].get<std::int64_t>() + 1;
  json& failures = n["failures"];
  failures.push_back({{"event", r.event.to_string(kEventPrefix)},
                      {"type", r.event_type},
                      {"attempts", r.attempts},
                      {"status", r.status},
                      {"error_class", r.error_class},
                      {"error", r.error},
                      {"dead_lettered", r.dead_lettered},
                      {"at_ms", r.at_ms}});
  if (failures.size() > kKeptFailures) failures.erase(failures.begin());
  return n.dump();
}

std::string add_disabled(const std::optional<std::string>& notice,
                         const std::string& reason, std::int64_t now_ms) {
  json n = parse_notice(notice);
  if (!n["disabled"].is_null()) return n.dump();
  if (!news(n)) n["tries"] = 0;
  // Being disabled is news at once, whatever the interval.
  n["due_ms"] = now_ms;
  n["disabled"] = {{"at_ms", now_ms}, {"reason", reason}};
  return n.dump();
}

bool has_news(const std::string& notice) {
  return news(parse_notice(notice));
}

notifier::notifier(store& s, notification_options options, client_options client)
    : store_(s), options_(std::move(options)), client_(std::move(client)) {
  thread_ = std::thread([this] {
    detail::mark_this_thread_batch();
    detail::name_this_thread("protekt-notify");
    run();
  });
}

notifier::~notifier() {
  stop();
}

void notifier::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  changed_.notify_all();
}

void notifier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void notifier::run() {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    std::int64_t now = unix_now_ms();
    std::int64_t next = now + kIdleWaitMs;
    try {
      for (const auto& [endpoint, text] : store_.notices()) {
        const json n = parse_notice(text);
        if (!news(n)) continue;
        const auto due = n["due_ms"].get<std::int64_t>();
        if (due > now) {
          next = std::min(next, due);
          continue;
        }
        send(endpoint, text, now);
        {
          std::lock_guard lock(mutex_);
          if (stopping_) return;
        }
        now = unix_now_ms();
        next = std::min(next, now + 1);  // look again: it may be due once more
      }
    } catch (const error&) {
      // The store failed; try again later.
    }
    std::unique_lock lock(mutex_);
    changed_.wait_for(
        lock,
        std::chrono::milliseconds(std::max<std::int64_t>(next - unix_now_ms(), 0)),
        [this] { return stopping_ || woken_; });
  }
}

void notifier::send(const id128& endpoint_id, const std::string& text,
                    std::int64_t now_ms) {
  const json sent = parse_notice(text);
  const std::optional<endpoint> config = store_.find_endpoint(endpoint_id);

  // Nobody to tell: the endpoint is gone, or asks for no notifications.
  if (!config || config->notification.kind == notification_kind::none) {
    store_.change_notice(endpoint_id, [](const std::optional<std::string>&) {
      return std::optional<std::string>();
    });
    return;
  }

  std::string problem;
  if (config->notification.kind == notification_kind::email) {
    problem = send_email(options_.smtp, failure_email(*config, sent));
  } else {
    // A signed event to the alternate URL, as the endpoint's own deliveries are.
    endpoint channel = *config;
    channel.url = config->notification.target;
    channel.payload.format = payload_format::json;
    channel.ca_bundle.clear();  // it trusts the endpoint's host, not this one
    std::vector<std::string> bodies;
    if (sent["failed"].get<std::int64_t>() > 0) {
      bodies.push_back(failed_body(ids_.next(now_ms), *config, sent, now_ms));
    }
    if (!sent["disabled"].is_null()) {
      bodies.push_back(disabled_body(ids_.next(now_ms), *config, sent, now_ms));
    }
    for (std::string& body : bodies) {
      const std::string id = json::parse(body)["id"];
      const http_response r = post_now(
          client_, delivery_request(
                       channel, id,
                       std::make_shared<const std::string>(std::move(body)), now_ms));
      if (!r.answered()) {
        problem = r.error;
      } else if (r.status < 200 || r.status >= 300) {
        problem = "the notification URL answered " + std::to_string(r.status);
      }
      if (!problem.empty()) break;
    }
  }

  log(problem.empty() ? log_level::info : log_level::warning, [&] {
    const std::string about = "the failure notification of endpoint " +
                              endpoint_id.to_string(kEndpointPrefix);
    return problem.empty() ? about + " was sent" : about + " failed: " + problem;
  });
  store_.change_notice(endpoint_id, [&](const std::optional<std::string>& stored) {
    json n = parse_notice(stored);
    const std::int64_t now = unix_now_ms();
    if (problem.empty()) {
      n = without_sent(std::move(n), sent);
      n["last_sent_ms"] = now;
      n["last_error"] = "";
      n["tries"] = 0;
      n["due_ms"] = now + options_.interval.count();
      return std::optional<std::string>(n.dump());
    }
    const int tries = n["tries"].get<int>() + 1;
    if (tries >= options_.max_tries) {
      n = without_sent(std::move(n), sent);
      n["tries"] = 0;
      n["last_error"] =
          "given up after " + std::to_string(tries) + " tries: " + problem;
      n["due_ms"] = now;
    } else {
      n["tries"] = tries;
      n["last_error"] = problem;
      n["due_ms"] =
          now + std::min(kMaxBackoffMs, kFirstBackoffMs << std::min(tries - 1, 16));
    }
    return std::optional<std::string>(n.dump());
  });
}

}  // namespace protekt::dispatch
