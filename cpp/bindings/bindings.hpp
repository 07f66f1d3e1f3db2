// Shared declarations of the pybind11 bindings. Each register_* function adds one
// concept's classes and functions to the private protekt._core module.
#pragma once

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <string_view>

#include "protekt/events.hpp"

namespace protekt::python {

namespace py = pybind11;

void register_errors(py::module_& m);
void register_signing(py::module_& m);
void register_json(py::module_& m);
void register_engine(py::module_& m);
void register_dispatch(py::module_& m);
void register_logging(py::module_& m);

// The keyword arguments of emit() as event data. THROWS validation_error naming the
// value that is not JSON ("data.user.created").
event_data to_event_data(py::handle data);

// json.loads for bytes or str, with a faster path for ordinary UTF-8 JSON.
py::object loads(py::handle body);

// The decoded "payload" field of an application/x-www-form-urlencoded body; nullopt
// for a body that is not such a form.
std::optional<std::string> form_payload(std::string_view body);

// The body of a verified webhook as JSON; a body that is not JSON raises
// protekt.MalformedPayloadError from the decoder's error.
py::object parse_payload(py::handle body);

// A view of a bytes or str object (UTF-8), valid while the object lives.
// THROWS validation_error for any other type; field names the argument in the message.
std::string_view bytes_view(py::handle value, const char* field);

}  // namespace protekt::python
