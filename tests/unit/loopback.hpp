// A listening TCP socket on 127.0.0.1, for tests that talk over real
// loopback connections.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/// Listens on a free port of 127.0.0.1; `at` gets the address.
inline int listen_on_loopback(sockaddr_in& at, int backlog) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  at = sockaddr_in{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  REQUIRE(::listen(listener, backlog) == 0);
  socklen_t len = sizeof at;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len);
  return listener;
}
