#include "protekt/events.hpp"

#include <algorithm>

#include "protekt/endpoint.hpp"

namespace protekt {

bool is_known_event(std::string_view type) {
  return std::find(kAuthEvents.begin(), kAuthEvents.end(), type) != kAuthEvents.end() ||
         is_engine_event(type);
}

bool is_engine_event(std::string_view type) {
  return std::find(kEngineEvents.begin(), kEngineEvents.end(), type) !=
         kEngineEvents.end();
}

std::string catalogue_list() {
  std::string list;
  for (const auto names : {std::span<const std::string_view>(kAuthEvents),
                           std::span<const std::string_view>(kEngineEvents)}) {
    for (const std::string_view name : names) {
      if (!list.empty()) list += ", ";
      list += name;
    }
  }
  return list;
}

std::size_t event_data::encoded_size() const {
  std::size_t size = 2;  // the braces
  for (const data_member& m : members) size += m.key.size() + m.json.size() + 4;
  return size;
}

unsigned metadata_of(std::string_view key) {
  if (key == "user") return metadata_user;
  if (key == "ip") return metadata_ip;
  if (key == "device" || key == "user_agent") return metadata_device;
  if (key == "location") return metadata_location;
  return 0;
}

}  // namespace protekt
