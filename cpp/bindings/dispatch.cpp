// Bindings of the delivery layer. _post sends requests with the dispatcher's HTTP
// client, for tests of the client against real servers and for diagnostics: repeat
// times, one after another, the first with timeout_s and the others with
// later_timeout_s when given; with keep, over one kept connection as a dispatcher
// lane does, else each through the client's pool.
#include <pybind11/stl.h>

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "bindings.hpp"
#include "dispatch/http_client.hpp"

namespace protekt::python {
namespace {

namespace asio = boost::asio;

std::chrono::milliseconds seconds_to_ms(double s) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

py::tuple response_tuple(const dispatch::http_response& r) {
  return py::make_tuple(r.status, py::bytes(r.excerpt), r.retry_after, r.error_class,
                        r.error, r.duration.count());
}

}  // namespace

void register_dispatch(py::module_& m) {
  m.def(
      "_post",
      [](const std::string& url,
         const std::vector<std::pair<std::string, std::string>>& headers,
         const std::string& body, double timeout_s, double connect_timeout_s,
         const std::string& ca_file, const std::vector<std::string>& allowed_networks,
         int repeat, std::optional<double> later_timeout_s, bool keep) {
        std::vector<network> allowed;
        for (const std::string& n : allowed_networks)
          allowed.push_back(parse_network(n));
        dispatch::client_options options;
        options.ssrf = ssrf_policy(std::move(allowed));
        options.ca_file = ca_file;
        options.connect_timeout = seconds_to_ms(connect_timeout_s);
        // The context is made first so that it outlives the client: the client's
        // pooled connections must close before their context goes.
        asio::io_context io;
        dispatch::http_client client(options);

        auto [where, target] = dispatch::split_url(url);
        dispatch::http_request request;
        request.where = std::move(where);
        request.target = std::move(target);
        request.headers = headers;
        request.body = std::make_shared<const std::string>(body);
        request.timeout = seconds_to_ms(timeout_s);

        std::vector<dispatch::http_response> responses;
        std::size_t idle = 0;
        {
          py::gil_scoped_release release;
          asio::co_spawn(
              io,
              [&]() -> asio::awaitable<void> {
                dispatch::kept_connection kept;
                for (int i = 0; i < repeat; ++i) {
                  if (i == 1 && later_timeout_s) {
                    request.timeout = seconds_to_ms(*later_timeout_s);
                  }
                  if (keep) {
                    responses.push_back(co_await client.send(request, kept));
                  } else {
                    responses.push_back(co_await client.send(request));
                  }
                }
                client.keep_idle(kept);
              },
              asio::detached);
          io.run();
          idle = client.idle_connections();
        }
        py::list result;
        for (const auto& r : responses) result.append(response_tuple(r));
        return py::make_tuple(result, idle);
      },
      py::arg("url"), py::arg("headers"), py::arg("body"), py::arg("timeout_s"),
      py::arg("connect_timeout_s"), py::arg("ca_file"), py::arg("allowed_networks"),
      py::arg("repeat") = 1, py::arg("later_timeout_s") = std::nullopt,
      py::arg("keep") = false);
}

}  // namespace protekt::python
