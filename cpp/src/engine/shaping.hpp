// Building the JSON envelope of an event and the bodies endpoints receive
// (docs/wire-format.md). A body is the envelope with only the data members the
// endpoint's payload configuration asks for, as JSON or as a form field.
#pragma once

#include <string>

#include "protekt/endpoint.hpp"
#include "protekt/events.hpp"
#include "protekt/ids.hpp"

namespace protekt::detail {

struct envelope_head {
  id128 id;
  std::string_view type;
  std::int64_t created_ms;
};

// The envelope holding the members whose metadata bit is in include (members of no
// metadata are always in).
std::string build_envelope(const envelope_head& head, const event_data& data,
                           unsigned include);

// The metadata bits of the members data has.
unsigned present_metadata(const event_data& data);

// "payload=<the JSON, form-encoded>" (application/x-www-form-urlencoded).
std::string form_body(std::string_view json);

}  // namespace protekt::detail
