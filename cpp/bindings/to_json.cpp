// Encodes Python values as JSON text for emit(): the same text json.dumps would give
// for the types JSON has, plus datetimes, dates and UUIDs as ISO 8601 and canonical
// strings. Anything else is refused with the path of the value ("data.user.id").
#include <charconv>
#include <cmath>
#include <string>

#include "bindings.hpp"
#include "common/json_text.hpp"
#include "protekt/error.hpp"

namespace protekt::python {
namespace {

constexpr int kMaxDepth = 64;

[[noreturn]] void refuse(const std::string& path, const std::string& message) {
  throw validation_error(path, path + ": " + message);
}

struct special_types {
  py::object datetime;
  py::object date;
  py::object uuid;
};

const special_types& specials() {
  // Made once with the GIL held and kept for the life of the process.
  static const auto* types = new special_types{
      py::module_::import("datetime").attr("datetime"),
      py::module_::import("datetime").attr("date"),
      py::module_::import("uuid").attr("UUID"),
  };
  return *types;
}

class encoder {
 public:
  explicit encoder(std::string& out) : out_(out) {}

  void value(py::handle v, const std::string& path, int depth) {
    PyObject* o = v.ptr();
    if (o == Py_None) {
      out_.append("null");
    } else if (o == Py_True) {
      out_.append("true");
    } else if (o == Py_False) {
      out_.append("false");
    } else if (PyUnicode_Check(o)) {
      string(v, path);
    } else if (PyLong_Check(o)) {
      integer(v);
    } else if (PyFloat_Check(o)) {
      real(PyFloat_AS_DOUBLE(o), path);
    } else if (PyDict_Check(o)) {
      object(v, path, depth);
    } else if (PyList_Check(o) || PyTuple_Check(o)) {
      array(v, path, depth);
    } else {
      special(v, path);
    }
  }

 private:
  void string(py::handle v, const std::string& path) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(v.ptr(), &size);
    if (text == nullptr) {
      PyErr_Clear();
      refuse(path, "is a str that is not valid Unicode (a lone surrogate)");
    }
    detail::append_json_string(out_, {text, static_cast<std::size_t>(size)});
  }

  void integer(py::handle v) {
    int overflow = 0;
    const long long n = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow == 0) {
      char buffer[24];
      out_.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, n).ptr);
    } else {
      out_.append(py::str(v).cast<std::string>());
    }
  }

  void real(double d, const std::string& path) {
    if (!std::isfinite(d)) refuse(path, "is NaN or infinite, which JSON cannot hold");
    char* text = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
    if (text == nullptr) throw py::error_already_set();
    out_.append(text);
    PyMem_Free(text);
  }

  void object(py::handle v, const std::string& path, int depth) {
    if (depth >= kMaxDepth) refuse(path, "nests deeper than 64 levels");
    out_.push_back('{');
    PyObject* key = nullptr;
    PyObject* item = nullptr;
    Py_ssize_t pos = 0;
    bool first = true;
    while (PyDict_Next(v.ptr(), &pos, &key, &item)) {
      if (!PyUnicode_Check(key)) {
        refuse(path, "has a key of type " + type_name(key) + "; keys must be str");
      }
      if (!first) out_.push_back(',');
      first = false;
      const std::string child = path + "." + py::str(key).cast<std::string>();
      string(key, child);
      out_.push_back(':');
      value(item, child, depth + 1);
    }
    out_.push_back('}');
  }

  void array(py::handle v, const std::string& path, int depth) {
    if (depth >= kMaxDepth) refuse(path, "nests deeper than 64 levels");
    out_.push_back('[');
    const py::sequence items = py::reinterpret_borrow<py::sequence>(v);
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_.push_back(',');
      value(items[i], path + "[" + std::to_string(i) + "]", depth + 1);
    }
    out_.push_back(']');
  }

  void special(py::handle v, const std::string& path) {
    const special_types& types = specials();
    if (py::isinstance(v, types.datetime) || py::isinstance(v, types.date)) {
      string(v.attr("isoformat")(), path);
    } else if (py::isinstance(v, types.uuid)) {
      string(py::str(v), path);
    } else {
      refuse(path, "has type " + type_name(v.ptr()) +
                       ", which is not JSON; use str, int, float, bool, None, list, "
                       "dict, datetime or UUID");
    }
  }

  static std::string type_name(PyObject* o) { return Py_TYPE(o)->tp_name; }

  std::string& out_;
};

}  // namespace

event_data to_event_data(py::handle data) {
  if (!PyDict_Check(data.ptr())) refuse("data", "must be a dict");
  event_data result;
  PyObject* key = nullptr;
  PyObject* item = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(data.ptr(), &pos, &key, &item)) {
    if (!PyUnicode_Check(key)) refuse("data", "keys must be str");
    data_member member;
    member.key = py::str(key).cast<std::string>();
    encoder(member.json).value(item, "data." + member.key, 0);
    result.members.push_back(std::move(member));
  }
  return result;
}

}  // namespace protekt::python
