// The origins of --cors-origins (http/src/cors.cpp).
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "bellhop/http/rest_server.hpp"

using bellhop::http::parse_cors_origins;
using list = std::vector<std::string>;

TEST_CASE("origins are read as browsers write them") {
  CHECK(parse_cors_origins("https://app.example.com")
        == list{"https://app.example.com"});
  CHECK(parse_cors_origins(" HTTPS://App.Example.com:443 , http://localhost:5173")
        == list{"https://app.example.com", "http://localhost:5173"});
  CHECK(parse_cors_origins("http://127.0.0.1:80,http://[::1]:8080")
        == list{"http://127.0.0.1", "http://[::1]:8080"});
  CHECK(parse_cors_origins("https://a.example:8443")
        == list{"https://a.example:8443"});
  CHECK(parse_cors_origins("*") == list{"*"});
}

TEST_CASE("anything else is refused, saying what") {
  for (const char* bad :
       {"", " ", "app.example.com", "ftp://a.example", "https://",
        "https://a.example/", "https://a.example/path", "http://a b",
        "https://a.example,", ",https://a.example", "*,https://a.example",
        "null"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_cors_origins(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parse_cors_origins("https://a.example/x"),
                    Catch::Contains("https://a.example/x"));
}
