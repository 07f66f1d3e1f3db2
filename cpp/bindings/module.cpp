// protekt._core: the private extension module behind the protekt package.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "Private C++ core of protekt; use the protekt package instead.";
  m.attr("__version__") = PROTEKT_VERSION;
  protekt::python::register_errors(m);
  protekt::python::register_signing(m);
  protekt::python::register_json(m);
  protekt::python::register_engine(m);
  protekt::python::register_dispatch(m);
  protekt::python::register_logging(m);
}
