// Shared declarations of the pybind11 bindings. Each register_* function adds one
// concept's classes and functions to the private protekt._core module.
#pragma once

#include <pybind11/pybind11.h>

#include <string_view>

namespace protekt::python {

namespace py = pybind11;

void register_errors(py::module_& m);
void register_signing(py::module_& m);

// A view of a bytes or str object (UTF-8), valid while the object lives.
// THROWS py::type_error for any other type; field names the argument in the message.
std::string_view bytes_view(py::handle value, const char* field);

}  // namespace protekt::python
