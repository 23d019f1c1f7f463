// websocketpp's configuration for the gateway, and the release of an open
// connection's handshake: what keeps an idle connection small. Everything
// here runs on the gateway's Asio thread.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/server.hpp>

namespace bellhop::ws {

/// websocketpp's core config, trimmed for many idle connections:
/// - the iostream transport: websocketpp parses and frames, and tcp_link
///   moves the bytes between it and an Asio socket. websocketpp's own Asio
///   transport keeps 2 KiB of handler memory inline in every connection,
///   idle or not (two 1 KiB handler_allocators in transport/asio/base.hpp,
///   a size no config changes); tcp_link reads into one buffer shared by
///   all and keeps output only while a socket is full.
/// - a 128-byte read buffer (16 KiB by default, inline in every
///   connection). tcp_link reads the socket into its shared buffer and
///   hands websocketpp 128 bytes at a time, all within one call; client
///   frames are small JSON ops, and websocketpp takes the handshake and any
///   longer message across several such reads (the HTTP parser and the
///   hybi13 frame parser both keep their state between reads).
/// - no locks. One thread runs the io_context and is the only one that
///   touches websocketpp objects (session actors post to it), so the
///   mutexes in every connection would guard nothing.
struct server_config : websocketpp::config::core {
  typedef server_config type;
  typedef websocketpp::concurrency::none concurrency_type;
  typedef websocketpp::log::basic<concurrency_type, websocketpp::log::elevel>
    elog_type;
  typedef websocketpp::log::basic<concurrency_type, websocketpp::log::alevel>
    alog_type;
  static const bool enable_multithreading = false;

  struct transport_config : websocketpp::config::core::transport_config {
    typedef type::concurrency_type concurrency_type;
    typedef type::alog_type alog_type;
    typedef type::elog_type elog_type;
    static const bool enable_multithreading = false;
  };
  typedef websocketpp::transport::iostream::endpoint<transport_config>
    transport_type;

  static const size_t connection_read_buffer_size = 128;
};

using server = websocketpp::server<server_config>;

/// Frees what an open connection keeps of its handshake for its whole
/// life: the upgrade request (its header map, with the Authorization
/// header's JWT, and its URI, which may carry an access_token), the
/// response's header map and the parsed URI (about 1.5 KB). Call it from
/// the open handler, and use none of the connection's request, response or
/// URI accessors (get_resource, get_request_header, …) after it.
///
/// Safe with websocketpp 0.8.2 (impl/connection_impl.hpp): once a server
/// connection is open, websocketpp reads m_request, m_response and m_uri
/// only in those accessors. log_open_result runs before the open handler,
/// log_fail_result only for a connection that never opened,
/// log_http_result only for plain HTTP, the rest of the handshake code only
/// before open or on the client side; frames, pings and the close
/// handshake go through the processor, which keeps no reference to them.
///
/// The server side has no non-const accessor to the request: the
/// const_casts are well defined, as the connection itself is not const.
/// Moving an object out leaves it empty (strings, maps, a null parse
/// buffer), which nothing reads again; the moved-to copy frees the memory.
template <class Connection>
void release_handshake(Connection& con) {
  using request = typename Connection::request_type;
  using response = typename Connection::response_type;
  { request gone(std::move(const_cast<request&>(con.get_request()))); }
  { response gone(std::move(const_cast<response&>(con.get_response()))); }
  // A valid URI, shared by every open connection, instead of a null one
  // that an accessor would dereference.
  static const auto no_uri = std::make_shared<websocketpp::uri>("ws://localhost/");
  con.set_uri(no_uri);
}

} // namespace bellhop::ws
