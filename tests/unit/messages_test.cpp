// Every message between bellhop's actors survives CAF's binary serialisation
// inside a caf::message, the form it takes between CAF nodes
// (messages.hpp): a type missing from the type-ID block, or a field missing
// from its inspect overload, comes back different or not at all. The fields
// are listed here independently of the inspect overloads, on purpose.
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <caf/all.hpp>

#include "bellhop/actors/core.hpp"
#include "bellhop/actors/errors.hpp"
#include "bellhop/actors/messages.hpp"

namespace bellhop {

namespace {

auto fields(const frame_msg& x) {
  return std::tie(x.id, x.text);
}

} // namespace

// For the replay vector's comparison: outside the unnamed namespace, so
// that argument-dependent lookup finds it.
static bool operator==(const frame_msg& x, const frame_msg& y) {
  return fields(x) == fields(y);
}

namespace {

auto fields(const booking_request& x) {
  return std::tie(x.principal, x.idem_key, x.fingerprint, x.host_id, x.room_id,
                  x.guest_id, x.check_in, x.check_out, x.guests, x.has_note,
                  x.note);
}
auto fields(const notification_request& x) {
  return std::tie(x.principal, x.idem_key, x.fingerprint, x.host_id, x.type,
                  x.title, x.body, x.data_json);
}
auto fields(const created_reply& x) {
  return std::tie(x.body, x.location);
}
auto fields(const mark_read_request& x) {
  return std::tie(x.host_id, x.mode, x.ids, x.up_to, x.by, x.via,
                  x.session_id);
}
auto fields(const mark_read_reply& x) {
  return std::tie(x.updated, x.unread, x.latest_id, x.changed);
}
auto fields(const retire_request& x) {
  return std::tie(x.host_id, x.received);
}
auto fields(const commit_done& x) {
  return std::tuple_cat(std::tie(x.token, x.outcome, x.body, x.location),
                        fields(x.marked), std::tie(x.email_first));
}
auto fields(const subscribe_request& x) {
  return std::tie(x.host_id, x.session, x.session_id, x.has_after, x.after,
                  x.via);
}
auto fields(const subscribe_reply& x) {
  return std::tie(x.unread, x.latest_id, x.replay);
}
auto fields(const ack_msg& x) {
  return std::tie(x.host_id, x.id, x.session_id, x.via, x.by, x.rewrite, x.audited);
}
auto fields(const unsubscribe_msg& x) {
  return std::tie(x.host_id, x.session);
}
auto fields(const preferences_put& x) {
  return std::tie(x.host_id, x.doc);
}
auto fields(const wake_msg& x) {
  return std::tie(x.host_id);
}
auto fields(const sweep_progress& x) {
  return std::tie(x.next, x.removed, x.finished);
}
auto fields(const email_job& x) {
  return std::tie(x.host_id, x.first_id, x.attempt);
}
auto fields(const email_sent& x) {
  return std::tie(x.host_id, x.first_id, x.ids);
}
auto fields(const mailer_page_url& x) {
  return std::tie(x.url);
}
auto fields(const client_text& x) {
  return std::tie(x.text, x.arrived);
}
auto fields(const writes_settled& x) {
  return std::tie(x.host_id);
}

struct node {
  static caf::actor_system_config& registered(caf::actor_system_config& cfg) {
    add_message_types(cfg);
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{registered(cfg)};
};

/// Serialises `m` as CAF's middleman would and reads it back.
caf::message round_trip(caf::actor_system& sys, const caf::message& m) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto written = sink(const_cast<caf::message&>(m));
  INFO("serialising: " << sys.render(written));
  REQUIRE(!written);
  caf::message out;
  caf::binary_deserializer source{sys, buf};
  auto read = source(out);
  INFO("deserialising: " << sys.render(read));
  REQUIRE(!read);
  return out;
}

/// `x` (not the default value; the callers set every field) comes back
/// equal, as the only element of the message, under the same type.
template <class T>
void check_round_trip(caf::actor_system& sys, const T& x) {
  INFO(caf::deep_to_string(x));
  REQUIRE(fields(x) != fields(T{}));
  caf::message out = round_trip(sys, caf::make_message(x));
  REQUIRE(out.match_elements<T>());
  CHECK(fields(out.get_as<T>(0)) == fields(x));
}

} // namespace

TEST_CASE("messages: requests to host actors cross nodes unchanged",
          "[messages]") {
  node n;
  check_round_trip(n.sys, booking_request{"service:svc", "key-1", "f1", "h1",
                                          "r-12", "g-7", "2030-01-01",
                                          "2030-01-03", 3, true, "late"});
  check_round_trip(n.sys,
                   notification_request{"admin:a", "key-2", "f2", "h2",
                                        "custom", "Title", "Body",
                                        R"({"k":1})"});
  check_round_trip(n.sys, mark_read_request{"h3", 1, {4, 5, 1u << 31},
                                            1ull << 40, "h3", "ws", "s-9"});
  check_round_trip(n.sys, ack_msg{"h4", 17, "s-1", "socketio", "h4", false});
  check_round_trip(n.sys, ack_msg{"h4", 18, "s-1", "ws", "ops-admin", true});
  check_round_trip(n.sys, ack_msg{"h4", 19, "", "ws", "", true, true});
  check_round_trip(n.sys, preferences_put{"h5", R"({"email":"a@b"})"});
  check_round_trip(n.sys, wake_msg{"h6"});
  check_round_trip(n.sys, retire_request{"h7", 12345});
}

TEST_CASE("messages: answers and frames cross nodes unchanged", "[messages]") {
  node n;
  check_round_trip(n.sys, created_reply{R"({"booking":{}})", "/bookings/bk_1"});
  check_round_trip(n.sys, mark_read_reply{2, 7, 9, {3, 8}});
  check_round_trip(n.sys, frame_msg{42, R"({"event":"notification"})"});
  check_round_trip(n.sys,
                   subscribe_reply{5, 6, {frame_msg{5, "a"}, frame_msg{6, "b"}}});
  check_round_trip(n.sys, commit_done{99, 3, "body", "/loc",
                                      mark_read_reply{1, 2, 3, {4}}, 11});
}

TEST_CASE("messages: mail and sweeper messages cross nodes unchanged",
          "[messages]") {
  node n;
  check_round_trip(n.sys, email_job{"h8", 21, 4});
  check_round_trip(n.sys, email_sent{"h8", 21, {21, 22, 30}});
  check_round_trip(n.sys, mailer_page_url{"http://127.0.0.1:8080/"});
  check_round_trip(n.sys, sweep_progress{"next-key", 64, true});
  check_round_trip(n.sys, client_text{R"({"op":"ack","id":3})", 123456789});
  check_round_trip(n.sys, writes_settled{"h10"});
}

TEST_CASE("messages: a subscription's session handle comes back as the same "
          "actor", "[messages]") {
  node n;
  auto session = n.sys.spawn([] { return caf::behavior{[](frame_msg&) {}}; });
  check_round_trip(n.sys, subscribe_request{"h9", session, "s-2", true, 40,
                                            "socketio"});
  check_round_trip(n.sys, unsubscribe_msg{"h9", session});
  caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("messages: bellhop's errors keep their code and text across nodes",
          "[messages]") {
  node n;
  for (auto code : {ec::invalid_request, ec::conflict, ec::not_found,
                    ec::unavailable, ec::forbidden}) {
    auto out = round_trip(n.sys, caf::make_message(make_error(code, "why")));
    REQUIRE(out.match_elements<caf::error>());
    const auto& err = out.get_as<caf::error>(0);
    CHECK(code_of(err) == code);
    CHECK(message_of(err) == "why");
  }
}

TEST_CASE("messages: the timer atoms cross nodes", "[messages]") {
  node n;
  auto out = round_trip(
    n.sys, caf::make_message(idle_atom::value, ttl_atom::value,
                             expiry_atom::value, ping_atom::value,
                             closed_atom::value, email_atom::value,
                             sweep_atom::value, host_down_atom::value,
                             grace_atom::value));
  CHECK(out.match_elements<idle_atom, ttl_atom, expiry_atom, ping_atom,
                           closed_atom, email_atom, sweep_atom,
                           host_down_atom, grace_atom>());
}

} // namespace bellhop
