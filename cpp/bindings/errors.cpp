// Maps every C++ exception of the core to its class in protekt._exceptions, the one
// exception tree Python users see.
#include <exception>

#include "bindings.hpp"
#include "protekt/error.hpp"

namespace protekt::python {
namespace {

struct error_classes {
  py::object protekt_error;
  py::object validation;
  py::object invalid_key;
  py::object crypto;
  py::object verification;
  py::object missing_header;
  py::object malformed_header;
  py::object timestamp;
  py::object signature_mismatch;
  py::object invalid_token;
  py::object malformed_payload;
  py::object storage;
  py::object not_found;
  py::object closed;
};

// Set once at import, never freed: translators run until the interpreter exits, and
// destroying Python objects after that would touch a dead interpreter.
const error_classes* classes = nullptr;

void raise(const py::object& cls, const char* message) {
  PyErr_SetString(cls.ptr(), message);
}

void raise_validation(const py::object& cls, const validation_error& e) {
  const py::object instance = cls(e.what(), py::arg("field") = e.field());
  PyErr_SetObject(cls.ptr(), instance.ptr());
}

void translate(std::exception_ptr thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const invalid_key_error& e) {
    raise_validation(classes->invalid_key, e);
  } catch (const validation_error& e) {
    raise_validation(classes->validation, e);
  } catch (const missing_header_error& e) {
    raise(classes->missing_header, e.what());
  } catch (const malformed_header_error& e) {
    raise(classes->malformed_header, e.what());
  } catch (const timestamp_error& e) {
    raise(classes->timestamp, e.what());
  } catch (const signature_mismatch_error& e) {
    raise(classes->signature_mismatch, e.what());
  } catch (const token_mismatch_error& e) {
    raise(classes->invalid_token, e.what());
  } catch (const verification_error& e) {
    raise(classes->verification, e.what());
  } catch (const storage_error& e) {
    raise(classes->storage, e.what());
  } catch (const not_found_error& e) {
    raise(classes->not_found, e.what());
  } catch (const closed_error& e) {
    raise(classes->closed, e.what());
  } catch (const crypto_error& e) {
    raise(classes->crypto, e.what());
  } catch (const error& e) {
    raise(classes->protekt_error, e.what());
  }
  // Anything else propagates to pybind11's own translators.
}

}  // namespace

py::object parse_payload(py::handle body) {
  try {
    // A form body (docs/wire-format.md) carries the JSON in its payload field.
    if (PyBytes_Check(body.ptr()) || PyUnicode_Check(body.ptr())) {
      if (auto json = form_payload(bytes_view(body, "body"))) {
        return loads(py::bytes(*json));
      }
    }
    return loads(body);
  } catch (py::error_already_set& e) {
    // Too deep a document ends json.loads with RecursionError: not JSON either.
    if (!e.matches(PyExc_ValueError) && !e.matches(PyExc_RecursionError)) throw;
    const std::string message = "the signature matched, but the body is not JSON: " +
                                std::string(py::str(e.value()));
    py::raise_from(e, classes->malformed_payload.ptr(), message.c_str());
    throw py::error_already_set();
  }
}

void register_errors(py::module_& m) {
  const py::module_ exc = py::module_::import("protekt._exceptions");
  classes = new error_classes{
      exc.attr("ProtektError"),
      exc.attr("ValidationError"),
      exc.attr("InvalidKeyError"),
      exc.attr("CryptoError"),
      exc.attr("WebhookVerificationError"),
      exc.attr("MissingHeaderError"),
      exc.attr("MalformedHeaderError"),
      exc.attr("TimestampOutOfToleranceError"),
      exc.attr("NoMatchingSignatureError"),
      exc.attr("InvalidTokenError"),
      exc.attr("MalformedPayloadError"),
      exc.attr("StorageError"),
      exc.attr("NotFoundError"),
      exc.attr("EngineClosedError"),
  };
  py::register_exception_translator(translate);
  m.attr("_exceptions") = exc;
}

}  // namespace protekt::python
