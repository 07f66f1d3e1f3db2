// Bindings of the engine. Endpoints cross as JSON text (their stored form, parsed by
// python/protekt/_engine.py); events and deliveries as tuples, which are cheap to make.
#include <pybind11/chrono.h>
#include <pybind11/stl.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bindings.hpp"
#include "common/threads.hpp"
#include "protekt/engine.hpp"
#include "protekt/error.hpp"
#include "protekt/ssrf.hpp"

namespace protekt::python {
namespace {

using json = nlohmann::json;

id128 parse_id(const std::string& text, std::string_view prefix, const char* field) {
  const auto id = id128::parse(text, prefix);
  if (!id) {
    throw validation_error(
        field, std::string(field) + ": \"" + text + "\" is not " +
                   (prefix == kEventPrefix ? "an event" : "an endpoint") + " id");
  }
  return *id;
}

json parse_json(const std::string& text, const char* field) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    throw validation_error(field, std::string(field) + ": not JSON");
  return j;
}

std::string endpoint_text(const endpoint& e) {
  return json(e).dump();
}

py::tuple delivery_tuple(const delivery& d) {
  return py::make_tuple(d.event.to_string(kEventPrefix),
                        d.endpoint.to_string(kEndpointPrefix), to_string(d.status),
                        d.shape, d.attempts, d.created_ms, d.due_ms, d.completed_ms,
                        d.last_status);
}

// Runs Python callbacks for completed tickets on a thread of its own, so that the
// engine's writer never waits for the GIL. Started on first use; stopped at exit.
class notifier {
 public:
  static notifier& instance() {
    static auto* n = new notifier();  // outlives interpreter teardown on purpose
    return *n;
  }

  void post(py::object callback) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        // The interpreter is exiting; without the GIL the object cannot be
        // released, so it is left for the process's end.
        callback.release();
        return;
      }
      if (!thread_.joinable()) {
        thread_ = std::thread([this] {
          detail::name_this_thread("protekt-tickets");
          run();
        });
      }
      pending_.push_back(std::move(callback));
    }
    ready_.notify_one();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) {
      py::gil_scoped_release release;
      thread_.join();
    }
  }

 private:
  void run() {
    while (true) {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopped_ || !pending_.empty(); });
      if (stopped_) return;
      std::deque<py::object> batch;
      batch.swap(pending_);
      lock.unlock();

      py::gil_scoped_acquire gil;
      for (py::object& callback : batch) {
        try {
          callback();
        } catch (py::error_already_set& e) {
          e.discard_as_unraisable("protekt emit callback");
        }
        callback = py::object();  // released with the GIL held
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<py::object> pending_;  // guarded by mutex_; objects touched under GIL
  bool stopped_ = false;            // guarded by mutex_
  std::thread thread_;
};

std::optional<id128> optional_endpoint(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return parse_id(*text, kEndpointPrefix, "endpoint_id");
}

py::tuple attempt_tuple(const attempt& a) {
  return py::make_tuple(a.number, a.started_ms, a.duration_ms, a.status, a.error_class,
                        a.error, py::bytes(a.response_excerpt));
}

py::tuple counters_tuple(const endpoint_counters& c) {
  return py::make_tuple(c.deliveries, c.succeeded, c.failed, c.dead_lettered,
                        c.cancelled, c.attempts, c.failed_attempts, c.retries,
                        c.latency_sum_ms, c.latency);
}

std::optional<delivery_status> parse_status(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  for (std::uint8_t n = 0; n <= static_cast<std::uint8_t>(delivery_status::cancelled);
       ++n) {
    const auto status = static_cast<delivery_status>(n);
    if (to_string(status) == *text) return status;
  }
  throw validation_error("status",
                         "status: \"" + *text + "\" is not a delivery status");
}

py::tuple log_page_tuple(const delivery_log_page& page) {
  py::list rows;
  for (std::size_t i = 0; i < page.deliveries.size(); ++i) {
    rows.append(
        py::make_tuple(delivery_tuple(page.deliveries[i]), page.event_types[i]));
  }
  return py::make_tuple(rows, py::bytes(page.next));
}

// The engine's notification settings, from the JSON that python/protekt/_engine.py
// writes: {"smtp": {...} | null, "disable_after_s", "interval_s", "max_tries"}.
notification_options notification_settings(const std::string& text) {
  notification_options o;
  if (text.empty()) return o;
  const json j = parse_json(text, "notifications");
  const auto ms = [](double s) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
  };
  o.disable_after = ms(j.value("disable_after_s", 5.0 * 24 * 3600));
  o.interval = ms(j.value("interval_s", 600.0));
  o.max_tries = j.value("max_tries", 8);
  if (j.contains("smtp") && j["smtp"].is_object()) {
    const json& s = j["smtp"];
    smtp_relay& r = o.smtp;
    r.host = s.value("host", "");
    r.port = s.value("port", std::uint16_t{587});
    const std::string security = s.value("security", "starttls");
    r.security = security == "tls"    ? smtp_security::tls
                 : security == "none" ? smtp_security::none
                                      : smtp_security::starttls;
    r.username = s.value("username", "");
    r.password = s.value("password", "");
    r.sender = s.value("sender", r.sender);
    r.ca_file = s.value("ca_file", "");
    r.timeout = ms(s.value("timeout_s", 30.0));
  }
  return o;
}

py::tuple outcome_tuple(const emit_outcome& o) {
  return py::make_tuple(o.event.to_string(kEventPrefix), o.event.timestamp_ms(),
                        o.duplicate, o.deliveries);
}

void register_ticket(py::module_& m) {
  py::class_<emit_ticket, std::shared_ptr<emit_ticket>>(m, "Ticket")
      .def_property_readonly(
          "id", [](const emit_ticket& t) { return t.id().to_string(kEventPrefix); })
      .def("ready", &emit_ticket::ready)
      .def(
          "wait",
          [](const emit_ticket& t, std::optional<double> timeout) -> py::object {
            {
              py::gil_scoped_release release;
              if (timeout && !t.wait_for(std::chrono::milliseconds(
                                 static_cast<std::int64_t>(*timeout * 1000)))) {
                return py::none();
              }
            }
            emit_outcome outcome;
            {
              py::gil_scoped_release release;
              outcome = t.wait();
            }
            return outcome_tuple(outcome);
          },
          py::arg("timeout") = py::none())
      .def("on_ready", [](emit_ticket& t, py::function callback) {
        // The callback object is copied under the GIL, posted without it, and called
        // and released by the notifier with it.
        auto holder = std::make_shared<py::object>(std::move(callback));
        t.on_ready([holder] { notifier::instance().post(std::move(*holder)); });
      });
  m.def("_stop_notifier", [] { notifier::instance().stop(); });
}

}  // namespace

void register_engine(py::module_& m) {
  m.attr("LATENCY_BOUNDS_MS") = kLatencyBoundsMs;
  register_ticket(m);

  py::class_<engine>(m, "Engine")
      .def(py::init([](const std::string& directory, bool allow_http,
                       std::size_t max_event_bytes, double retention_s,
                       double idempotency_window_s, double secret_grace_s,
                       double sweep_interval_s, std::size_t initial_map_size,
                       std::size_t max_map_size,
                       const std::vector<std::string>& allowed_networks,
                       const std::string& ca_file, const std::string& notifications) {
             const auto ms = [](double s) {
               return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
             };
             engine_options o;
             o.directory = directory;
             o.allow_http = allow_http;
             o.max_event_bytes = max_event_bytes;
             o.retention = ms(retention_s);
             o.idempotency_window = ms(idempotency_window_s);
             o.secret_grace = ms(secret_grace_s);
             o.sweep_interval = ms(sweep_interval_s);
             o.initial_map_size = initial_map_size;
             o.max_map_size = max_map_size;
             for (const std::string& n : allowed_networks) {
               o.allowed_networks.push_back(parse_network(n));
             }
             o.ca_file = ca_file;
             o.notifications = notification_settings(notifications);
             py::gil_scoped_release release;
             return std::make_unique<engine>(std::move(o));
           }),
           py::arg("directory"), py::arg("allow_http"), py::arg("max_event_bytes"),
           py::arg("retention_s"), py::arg("idempotency_window_s"),
           py::arg("secret_grace_s"), py::arg("sweep_interval_s"),
           py::arg("initial_map_size"), py::arg("max_map_size"),
           py::arg("allowed_networks") = std::vector<std::string>{},
           py::arg("ca_file") = "", py::arg("notifications") = "")
      .def("close", &engine::close, py::call_guard<py::gil_scoped_release>())
      .def("create_endpoint",
           [](engine& e, const std::string& spec) {
             const json j = parse_json(spec, "endpoint");
             py::gil_scoped_release release;
             return endpoint_text(e.create_endpoint(j));
           })
      .def("update_endpoint",
           [](engine& e, const std::string& id, const std::string& changes) {
             const json j = parse_json(changes, "changes");
             const id128 key = parse_id(id, kEndpointPrefix, "endpoint_id");
             py::gil_scoped_release release;
             return endpoint_text(e.update_endpoint(key, j));
           })
      .def("change_status",
           [](engine& e, const std::string& id, const std::string& action,
              bool skip_verification) {
             static const std::map<std::string, endpoint_action> actions = {
                 {"save", endpoint_action::save},
                 {"pause", endpoint_action::pause},
                 {"resume", endpoint_action::resume},
                 {"disable", endpoint_action::disable},
                 {"mark_verified", endpoint_action::mark_verified}};
             const id128 key = parse_id(id, kEndpointPrefix, "endpoint_id");
             const endpoint_action act = actions.at(action);
             py::gil_scoped_release release;
             return endpoint_text(e.change_status(key, act, skip_verification));
           })
      .def("rotate_secret",
           [](engine& e, const std::string& id, const std::string& secret,
              std::optional<double> grace_s) {
             const id128 key = parse_id(id, kEndpointPrefix, "endpoint_id");
             std::optional<std::chrono::milliseconds> grace;
             if (grace_s) {
               grace = std::chrono::milliseconds(
                   static_cast<std::int64_t>(*grace_s * 1000));
             }
             py::gil_scoped_release release;
             return endpoint_text(e.rotate_secret(key, secret, grace));
           })
      .def("delete_endpoint",
           [](engine& e, const std::string& id) {
             const id128 key = parse_id(id, kEndpointPrefix, "endpoint_id");
             py::gil_scoped_release release;
             return e.delete_endpoint(key);
           })
      .def("get_endpoint",
           [](engine& e, const std::string& id) -> std::optional<std::string> {
             const id128 key = parse_id(id, kEndpointPrefix, "endpoint_id");
             py::gil_scoped_release release;
             const auto found = e.find_endpoint(key);
             if (!found) return std::nullopt;
             return endpoint_text(*found);
           })
      .def("list_endpoints",
           [](engine& e) {
             std::vector<std::string> texts;
             {
               py::gil_scoped_release release;
               for (const endpoint& ep : e.list_endpoints()) {
                 texts.push_back(endpoint_text(ep));
               }
             }
             return texts;
           })
      .def(
          "emit",
          [](engine& e, std::string type, py::handle data,
             std::string idempotency_key) {
            return e.emit(std::move(type), to_event_data(data),
                          std::move(idempotency_key));
          },
          py::arg("type"), py::arg("data"), py::arg("idempotency_key") = "")
      .def("get_event",
           [](engine& e, const std::string& id) -> py::object {
             const id128 key = parse_id(id, kEventPrefix, "event_id");
             std::optional<stored_event> found;
             {
               py::gil_scoped_release release;
               found = e.find_event(key);
             }
             if (!found) return py::none();
             return py::make_tuple(found->id.to_string(kEventPrefix), found->type,
                                   found->created_ms, py::bytes(found->envelope),
                                   found->pending);
           })
      .def("deliveries_of",
           [](engine& e, const std::string& id) {
             const id128 key = parse_id(id, kEventPrefix, "event_id");
             std::vector<delivery> found;
             {
               py::gil_scoped_release release;
               found = e.deliveries_of(key);
             }
             py::list result;
             for (const delivery& d : found) result.append(delivery_tuple(d));
             return result;
           })
      .def("body_of",
           [](engine& e, const std::string& id, int shape) -> py::object {
             const id128 key = parse_id(id, kEventPrefix, "event_id");
             std::optional<std::string> body;
             {
               py::gil_scoped_release release;
               body = e.body_of(key, static_cast<std::uint8_t>(shape));
             }
             if (!body) return py::none();
             return py::bytes(*body);
           })
      .def("due",
           [](engine& e, std::int64_t now_ms, std::size_t limit) {
             std::vector<delivery> found;
             {
               py::gil_scoped_release release;
               found = e.due(now_ms, limit);
             }
             py::list result;
             for (const delivery& d : found) result.append(delivery_tuple(d));
             return result;
           })
      .def(
          "pending_count", [](engine& e) { return e.pending_count(); },
          py::call_guard<py::gil_scoped_release>())
      .def("sweep",
           [](engine& e) {
             const sweep_result r = e.sweep();
             return py::make_tuple(r.events, r.idempotency_keys, r.more);
           })
      .def("try_lock_dispatcher", &engine::try_lock_dispatcher,
           py::call_guard<py::gil_scoped_release>())
      .def("unlock_dispatcher", &engine::unlock_dispatcher,
           py::call_guard<py::gil_scoped_release>())
      .def(
          "start_dispatcher",
          [](engine& e, std::size_t threads, std::size_t concurrency,
             const std::vector<std::string>& allowed_networks,
             const std::string& ca_file, double connect_timeout_s, double stop_grace_s,
             double lease_s, std::size_t max_in_flight) {
            dispatcher_options o;
            o.threads = threads;
            o.endpoint_concurrency = concurrency;
            o.max_in_flight = max_in_flight;
            for (const std::string& n : allowed_networks) {
              o.allowed_networks.push_back(parse_network(n));
            }
            o.ca_file = ca_file;
            o.connect_timeout = std::chrono::milliseconds(
                static_cast<std::int64_t>(connect_timeout_s * 1000));
            o.stop_grace = std::chrono::milliseconds(
                static_cast<std::int64_t>(stop_grace_s * 1000));
            o.lease =
                std::chrono::milliseconds(static_cast<std::int64_t>(lease_s * 1000));
            py::gil_scoped_release release;
            return e.start_dispatcher(std::move(o));
          },
          py::arg("threads"), py::arg("concurrency"), py::arg("allowed_networks"),
          py::arg("ca_file"), py::arg("connect_timeout_s"), py::arg("stop_grace_s"),
          py::arg("lease_s"), py::arg("max_in_flight"))
      .def("stop_dispatcher", &engine::stop_dispatcher,
           py::call_guard<py::gil_scoped_release>())
      .def("dispatching", &engine::dispatching)
      .def("verify_endpoint",
           [](engine& e, const std::string& id) {
             const id128 key = parse_id(id, kEndpointPrefix, "endpoint_id");
             py::gil_scoped_release release;
             return endpoint_text(e.verify_endpoint(key));
           })
      .def("send_test_event",
           [](engine& e, const std::string& id) {
             const id128 key = parse_id(id, kEndpointPrefix, "endpoint_id");
             return e.send_test_event(key);
           })
      .def("attempts_of",
           [](engine& e, const std::string& event, const std::string& endpoint) {
             const id128 ev = parse_id(event, kEventPrefix, "event_id");
             const id128 ep = parse_id(endpoint, kEndpointPrefix, "endpoint_id");
             std::vector<attempt> found;
             {
               py::gil_scoped_release release;
               found = e.attempts_of(ev, ep);
             }
             py::list result;
             for (const attempt& a : found) result.append(attempt_tuple(a));
             return result;
           })
      .def("delivery_log",
           [](engine& e, const std::optional<std::string>& endpoint,
              const std::string& event_type, const std::optional<std::string>& status,
              std::int64_t since_ms, std::int64_t until_ms, std::size_t limit,
              const py::bytes& after) {
             delivery_filter filter{optional_endpoint(endpoint), event_type,
                                    parse_status(status), since_ms, until_ms};
             const std::string from = after;
             delivery_log_page page;
             {
               py::gil_scoped_release release;
               page = e.delivery_log(filter, limit, from);
             }
             return log_page_tuple(page);
           })
      .def("recent_attempts",
           [](engine& e, const std::string& endpoint, std::size_t limit) {
             const id128 ep = parse_id(endpoint, kEndpointPrefix, "endpoint_id");
             std::vector<attempt> found;
             {
               py::gil_scoped_release release;
               found = e.recent_attempts(ep, limit);
             }
             py::list result;
             for (const attempt& a : found) result.append(attempt_tuple(a));
             return result;
           })
      .def("counters",
           [](engine& e) {
             std::vector<std::pair<id128, endpoint_counters>> all;
             {
               py::gil_scoped_release release;
               all = e.counters();
             }
             py::dict result;
             for (const auto& [id, c] : all) {
               result[py::str(id.to_string(kEndpointPrefix))] = counters_tuple(c);
             }
             return result;
           })
      .def("counters_of",
           [](engine& e, const std::string& endpoint) {
             const id128 ep = parse_id(endpoint, kEndpointPrefix, "endpoint_id");
             endpoint_counters c;
             {
               py::gil_scoped_release release;
               c = e.counters_of(ep);
             }
             return counters_tuple(c);
           })
      .def("events_emitted",
           [](engine& e) {
             py::gil_scoped_release release;
             return e.events_emitted();
           })
      .def("find_delivery",
           [](engine& e, const std::string& event,
              const std::string& endpoint) -> py::object {
             const id128 ev = parse_id(event, kEventPrefix, "event_id");
             const id128 ep = parse_id(endpoint, kEndpointPrefix, "endpoint_id");
             std::optional<delivery> found;
             {
               py::gil_scoped_release release;
               found = e.find_delivery(ev, ep);
             }
             if (!found) return py::none();
             return delivery_tuple(*found);
           })
      .def("dead_letters",
           [](engine& e, const std::optional<std::string>& endpoint, std::size_t limit,
              const py::bytes& after) {
             const auto ep = optional_endpoint(endpoint);
             const std::string from = after;
             dead_letter_page page;
             {
               py::gil_scoped_release release;
               page = e.dead_letters(ep, limit, from);
             }
             py::list letters;
             for (const delivery& d : page.letters) letters.append(delivery_tuple(d));
             return py::make_tuple(letters, py::bytes(page.next));
           })
      .def("dead_letter_count",
           [](engine& e, const std::optional<std::string>& endpoint) {
             const auto ep = optional_endpoint(endpoint);
             py::gil_scoped_release release;
             return e.dead_letter_count(ep);
           })
      .def("replay",
           [](engine& e, const std::string& event, const std::string& endpoint) {
             const id128 ev = parse_id(event, kEventPrefix, "event_id");
             const id128 ep = parse_id(endpoint, kEndpointPrefix, "endpoint_id");
             py::gil_scoped_release release;
             e.replay(ev, ep);
           })
      .def(
          "replay_all",
          [](engine& e, const std::optional<std::string>& endpoint, std::size_t limit) {
            const auto ep = optional_endpoint(endpoint);
            py::gil_scoped_release release;
            return e.replay_all(ep, limit);
          })
      .def(
          "purge_dead_letters",
          [](engine& e, const std::optional<std::string>& endpoint, std::size_t limit) {
            const auto ep = optional_endpoint(endpoint);
            py::gil_scoped_release release;
            return e.purge_dead_letters(ep, limit);
          })
      .def("health_of",
           [](engine& e, const std::string& endpoint) {
             const id128 ep = parse_id(endpoint, kEndpointPrefix, "endpoint_id");
             endpoint_health h;
             {
               py::gil_scoped_release release;
               h = e.health_of(ep);
             }
             return py::make_tuple(h.failing_since_ms, h.last_success_ms,
                                   h.last_failure_ms, h.last_error_status,
                                   h.last_error_class, h.last_error);
           })
      .def("notice_of", [](engine& e, const std::string& endpoint) {
        const id128 ep = parse_id(endpoint, kEndpointPrefix, "endpoint_id");
        py::gil_scoped_release release;
        return e.notice_of(ep);
      });
}

}  // namespace protekt::python
