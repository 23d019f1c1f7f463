// The mailer's retry schedule (API.md §7): first retry within 1 s, doubling,
// at most 30 s apart, for as many attempts as an outage lasts.
#include <catch2/catch.hpp>

#include "mail_backoff.hpp"

using bellhop::mail_backoff;
using std::chrono::milliseconds;

TEST_CASE("mail backoff: the first retry comes within 1 s", "[mail]") {
  CHECK(mail_backoff(0) > milliseconds(0));
  CHECK(mail_backoff(0) <= milliseconds(1000));
}

TEST_CASE("mail backoff: each wait doubles the last until 30 s", "[mail]") {
  uint32_t attempt = 0;
  for (; mail_backoff(attempt + 1) < milliseconds(30'000); ++attempt)
    CHECK(mail_backoff(attempt + 1) == 2 * mail_backoff(attempt));
  CHECK(attempt < 10);  // 30 s is reached within minutes, not hours
  CHECK(mail_backoff(attempt + 1) == milliseconds(30'000));
}

TEST_CASE("mail backoff: never more than 30 s, however long the outage", "[mail]") {
  for (uint32_t attempt : {6u, 7u, 10u, 16u, 17u, 31u, 32u, 63u, 64u, 1000u,
                           4'000'000'000u})
    CHECK(mail_backoff(attempt) == milliseconds(30'000));
}
