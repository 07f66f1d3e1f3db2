// Bindings of signing, verification and API tokens. The typed Python front is
// python/protekt/_signing.py; these stay thin.
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "protekt/api_token.hpp"
#include "protekt/error.hpp"
#include "protekt/signing.hpp"

namespace protekt::python {
namespace {

// A key given to a signer: whsec_ or raw bytes for HMAC, whsk_ for Ed25519.
signing_key to_signing_key(py::handle value) {
  if (py::isinstance<py::bytes>(value)) {
    return hmac_key::from_bytes(bytes_view(value, "secret"));
  }
  const auto text = value.cast<std::string>();
  if (text.starts_with(kPrivateKeyPrefix)) return ed25519_private_key::parse(text);
  return hmac_key::parse(text);
}

// A key given to a verifier: as above, and whpk_ public keys. A private key verifies
// with its public half.
verification_key to_verification_key(py::handle value) {
  if (py::isinstance<py::str>(value)) {
    const auto text = value.cast<std::string>();
    if (text.starts_with(kPublicKeyPrefix)) return ed25519_public_key::parse(text);
    if (text.starts_with(kPrivateKeyPrefix)) {
      return ed25519_private_key::parse(text).public_key();
    }
  }
  return std::get<hmac_key>(to_signing_key(value));
}

template <typename Key>
std::vector<Key> convert_keys(const py::sequence& values, Key (*convert)(py::handle)) {
  std::vector<Key> keys;
  keys.reserve(values.size());
  for (const py::handle value : values) keys.push_back(convert(value));
  return keys;
}

std::optional<std::string_view> optional_view(const py::object& value,
                                              const char* field) {
  if (!value || value.is_none()) return std::nullopt;
  return bytes_view(value, field);
}

bool equals_ignoring_case(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (c != lower[i]) return false;
  }
  return true;
}

// The three header names as interned Python strings, made once: dict lookups with
// them skip hashing and usually compare by identity.
py::str header_key(std::string_view name) {
  struct interned {
    std::string_view name;
    PyObject* key;
  };
  static const interned keys[] = {
      {kIdHeader, PyUnicode_InternFromString("webhook-id")},
      {kTimestampHeader, PyUnicode_InternFromString("webhook-timestamp")},
      {kSignatureHeader, PyUnicode_InternFromString("webhook-signature")},
  };
  for (const interned& k : keys) {
    if (k.name == name) return py::reinterpret_borrow<py::str>(k.key);
  }
  return py::str(name.data(), name.size());
}

// A header of any mapping, by lower-case name. Exact dicts are read directly,
// case-insensitive mappings (Django's, Flask's) through get(), and a mapping with other
// casing is scanned. Returns a null object when the header is absent.
py::object find_header(py::handle headers, std::string_view name) {
  const py::str key = header_key(name);
  if (PyDict_CheckExact(headers.ptr())) {
    if (PyObject* value = PyDict_GetItemWithError(headers.ptr(), key.ptr())) {
      return py::reinterpret_borrow<py::object>(value);
    }
    if (PyErr_Occurred()) throw py::error_already_set();
  } else {
    py::object value = headers.attr("get")(key);
    if (!value.is_none()) return value;
  }
  for (const auto item : headers.attr("items")()) {
    const auto pair = py::reinterpret_borrow<py::tuple>(item);
    if (py::isinstance<py::str>(pair[0]) &&
        equals_ignoring_case(bytes_view(pair[0], "header name"), name)) {
      return pair[1];
    }
  }
  return {};
}

// Bodies above this size are hashed without the GIL; below it, releasing and taking
// the GIL back costs more than it lets other threads gain.
constexpr std::size_t kReleaseGilAbove = 16 * 1024;

}  // namespace

std::string_view bytes_view(py::handle value, const char* field) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_Check(value.ptr())) {
    PyBytes_AsStringAndSize(value.ptr(), &data, &size);
    return {data, static_cast<std::size_t>(size)};
  }
  if (PyUnicode_Check(value.ptr())) {
    const char* utf8 = PyUnicode_AsUTF8AndSize(value.ptr(), &size);
    if (utf8 == nullptr) throw py::error_already_set();
    return {utf8, static_cast<std::size_t>(size)};
  }
  throw validation_error(field,
                         std::string(field) + " must be bytes or str, not " +
                             std::string(py::str(value.get_type().attr("__name__"))));
}

void register_signing(py::module_& m) {
  m.def("generate_secret", [] { return hmac_key::generate().to_string(); });
  m.def("generate_private_key",
        [] { return ed25519_private_key::generate().to_string(); });
  m.def("public_key_of", [](const std::string& private_key) {
    return ed25519_private_key::parse(private_key).public_key().to_string();
  });
  m.def("generate_token", &api_token::generate_token);
  m.def("unix_now", &unix_now);

  py::class_<signer>(m, "Signer")
      .def(py::init([](const py::sequence& keys) {
             return signer(convert_keys<signing_key>(keys, to_signing_key));
           }),
           py::arg("keys"))
      .def(
          "sign",
          [](const signer& self, py::handle msg_id, std::int64_t timestamp,
             py::handle body) {
            const std::string_view id = bytes_view(msg_id, "msg_id");
            const std::string_view payload = bytes_view(body, "body");
            py::gil_scoped_release release;
            return self.sign(id, timestamp, payload);
          },
          py::arg("msg_id"), py::arg("timestamp"), py::arg("body"));

  py::class_<verifier>(m, "Verifier")
      .def(py::init([](const py::sequence& keys, std::int64_t tolerance) {
             return verifier(convert_keys<verification_key>(keys, to_verification_key),
                             std::chrono::seconds(tolerance));
           }),
           py::arg("keys"), py::arg("tolerance"))
      .def_property_readonly(
          "tolerance", [](const verifier& self) { return self.tolerance().count(); })
      .def(
          "verify",
          [](const verifier& self, const py::object& msg_id,
             const py::object& timestamp, const py::object& signature, py::handle body,
             std::optional<std::int64_t> now) {
            const webhook_headers headers{
                optional_view(msg_id, "webhook-id"),
                optional_view(timestamp, "webhook-timestamp"),
                optional_view(signature, "webhook-signature")};
            const std::string_view payload = bytes_view(body, "body");
            py::gil_scoped_release release;
            self.verify(headers, payload, now ? *now : unix_now());
          },
          py::arg("msg_id"), py::arg("timestamp"), py::arg("signature"),
          py::arg("body"), py::arg("now") = py::none())
      .def(
          "verify_request",
          [](const verifier& self, py::handle body, py::handle headers,
             std::optional<std::int64_t> now) {
            py::object owned_body = py::reinterpret_borrow<py::object>(body);
            if (PyByteArray_Check(body.ptr()) || PyMemoryView_Check(body.ptr())) {
              owned_body =
                  py::reinterpret_steal<py::object>(PyBytes_FromObject(body.ptr()));
              if (!owned_body) throw py::error_already_set();
            }
            const py::object id = find_header(headers, kIdHeader);
            const py::object ts = find_header(headers, kTimestampHeader);
            const py::object sig = find_header(headers, kSignatureHeader);
            const webhook_headers found{optional_view(id, "webhook-id"),
                                        optional_view(ts, "webhook-timestamp"),
                                        optional_view(sig, "webhook-signature")};
            const std::string_view payload = bytes_view(owned_body, "body");
            const std::int64_t clock = now ? *now : unix_now();
            if (payload.size() > kReleaseGilAbove) {
              py::gil_scoped_release release;
              self.verify(found, payload, clock);
            } else {
              self.verify(found, payload, clock);
            }
            return parse_payload(owned_body);
          },
          py::arg("body"), py::arg("headers"), py::arg("now") = py::none());

  py::class_<api_token>(m, "ApiToken")
      .def(py::init<std::string_view, std::string_view>(), py::arg("header"),
           py::arg("value"))
      .def_property_readonly("header", &api_token::header)
      .def_property_readonly("value", &api_token::value)
      .def("matches", [](const api_token& self, py::handle presented) {
        return self.matches(bytes_view(presented, "token"));
      });
}

}  // namespace protekt::python
