// Encodes Python values as JSON text for emit(): the same text json.dumps would give
// for the types JSON has, plus datetimes, dates and UUIDs as ISO 8601 and canonical
// strings. Anything else is refused with the path of the value ("data.user.id").
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "common/json_text.hpp"
#include "protekt/error.hpp"

namespace protekt::python {
namespace {

constexpr int kMaxDepth = 64;

// A str as UTF-8 for a message, with what is not valid Unicode escaped.
std::string printable(PyObject* text) {
  const auto bytes = py::reinterpret_steal<py::object>(
      PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace"));
  if (!bytes) throw py::error_already_set();
  return std::string(PyBytes_AS_STRING(bytes.ptr()),
                     static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.ptr())));
}

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

// Encodes one value. The path to the value being encoded is kept as a stack of keys
// and indexes and turned into text ("data.user.emails[2]") only for an error message.
class encoder {
 public:
  encoder(std::string& out, std::string root) : out_(out), root_(std::move(root)) {}

  void value(py::handle v, int depth) {
    PyObject* o = v.ptr();
    if (o == Py_None) {
      out_.append("null");
    } else if (o == Py_True) {
      out_.append("true");
    } else if (o == Py_False) {
      out_.append("false");
    } else if (PyUnicode_Check(o)) {
      string(v);
    } else if (PyLong_Check(o)) {
      integer(v);
    } else if (PyFloat_Check(o)) {
      real(PyFloat_AS_DOUBLE(o));
    } else if (PyDict_Check(o)) {
      object(v, depth);
    } else if (PyList_Check(o) || PyTuple_Check(o)) {
      array(v, depth);
    } else {
      special(v);
    }
  }

 private:
  struct step {
    PyObject* key;  // borrowed; null for a list index
    Py_ssize_t index;
  };

  [[noreturn]] void fail(const std::string& message) const {
    std::string path = root_;
    for (const step& s : path_) {
      if (s.key != nullptr) {
        path += "." + printable(s.key);
      } else {
        path += "[" + std::to_string(s.index) + "]";
      }
    }
    refuse(path, message);
  }

  void string(py::handle v) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(v.ptr(), &size);
    if (text == nullptr) {
      PyErr_Clear();
      fail("is a str that is not valid Unicode (a lone surrogate)");
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

  void real(double d) {
    if (!std::isfinite(d)) fail("is NaN or infinite, which JSON cannot hold");
    char* text = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
    if (text == nullptr) throw py::error_already_set();
    out_.append(text);
    PyMem_Free(text);
  }

  void object(py::handle v, int depth) {
    if (depth >= kMaxDepth) fail("nests deeper than 64 levels");
    out_.push_back('{');
    PyObject* key = nullptr;
    PyObject* item = nullptr;
    Py_ssize_t pos = 0;
    bool first = true;
    while (PyDict_Next(v.ptr(), &pos, &key, &item)) {
      if (!PyUnicode_Check(key)) {
        fail("has a key of type " + type_name(key) + "; keys must be str");
      }
      if (!first) out_.push_back(',');
      first = false;
      path_.push_back({key, 0});
      string(key);
      out_.push_back(':');
      value(item, depth + 1);
      path_.pop_back();
    }
    out_.push_back('}');
  }

  void array(py::handle v, int depth) {
    if (depth >= kMaxDepth) fail("nests deeper than 64 levels");
    out_.push_back('[');
    const Py_ssize_t size = PySequence_Fast_GET_SIZE(v.ptr());
    PyObject** items = PySequence_Fast_ITEMS(v.ptr());
    for (Py_ssize_t i = 0; i < size; ++i) {
      if (i > 0) out_.push_back(',');
      path_.push_back({nullptr, i});
      value(items[i], depth + 1);
      path_.pop_back();
    }
    out_.push_back(']');
  }

  void special(py::handle v) {
    const special_types& types = specials();
    if (py::isinstance(v, types.datetime) || py::isinstance(v, types.date)) {
      string(v.attr("isoformat")());
    } else if (py::isinstance(v, types.uuid)) {
      string(py::str(v));
    } else {
      fail("has type " + type_name(v.ptr()) +
           ", which is not JSON; use str, int, float, bool, None, list, dict, "
           "datetime or UUID");
    }
  }

  static std::string type_name(PyObject* o) { return Py_TYPE(o)->tp_name; }

  std::string& out_;
  std::string root_;
  std::vector<step> path_;
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
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(key, &size);
    if (text == nullptr) {
      PyErr_Clear();
      refuse("data." + printable(key), "the name is not valid Unicode");
    }
    member.key.assign(text, static_cast<std::size_t>(size));
    encoder(member.json, "data." + member.key).value(item, 0);
    result.members.push_back(std::move(member));
  }
  return result;
}

}  // namespace protekt::python
