# Finds the C++ libraries that Protekt builds against. Each comes from a Debian 12
# package; when one is missing, configuration stops and names the package to install.

function(protekt_missing what package)
  message(FATAL_ERROR
    "${what} was not found. On Debian 12 install it with:\n"
    "    sudo apt-get install ${package}\n"
    "or run the README's set-up, which installs every package the build needs.")
endfunction()

find_package(OpenSSL 3.0 QUIET COMPONENTS Crypto SSL)
if(NOT OpenSSL_FOUND)
  protekt_missing("OpenSSL 3 (libcrypto, libssl)" "libssl-dev")
endif()

find_package(Boost 1.81 QUIET CONFIG)
if(NOT Boost_FOUND)
  protekt_missing("Boost 1.81 (Asio, Beast)" "libboost1.81-dev")
endif()

find_package(boost_url 1.81 QUIET CONFIG)
if(NOT boost_url_FOUND)
  protekt_missing("Boost.URL 1.81" "libboost-url1.81-dev")
endif()

find_package(nlohmann_json 3.10 QUIET CONFIG)
if(NOT nlohmann_json_FOUND)
  protekt_missing("nlohmann/json" "nlohmann-json3-dev")
endif()

find_package(CURL 7.85 QUIET)
if(NOT CURL_FOUND)
  protekt_missing("libcurl (for email notifications over SMTP)" "libcurl4-openssl-dev")
endif()

find_path(LMDB_INCLUDE_DIR lmdb.h)
find_library(LMDB_LIBRARY lmdb)
if(NOT LMDB_INCLUDE_DIR OR NOT LMDB_LIBRARY)
  protekt_missing("LMDB (lmdb.h, liblmdb)" "liblmdb-dev")
endif()
add_library(protekt_lmdb INTERFACE)
target_include_directories(protekt_lmdb INTERFACE ${LMDB_INCLUDE_DIR})
target_link_libraries(protekt_lmdb INTERFACE ${LMDB_LIBRARY})

find_package(Threads REQUIRED)

if(PROTEKT_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    protekt_missing("GoogleTest" "libgtest-dev")
  endif()
endif()
