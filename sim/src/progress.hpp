// The progress line on stderr: on a terminal one line rewritten in place
// every second; otherwise a plain line every few seconds (logs, CI).
#pragma once

#include <cstddef>
#include <string>

namespace bellhop::sim {

class ledger;

class progress {
public:
  /// mode: 1 in place, 0 plain lines, -1 decide by isatty(stderr).
  explicit progress(int mode);

  /// After each second of the run: `what` is the phase ("sending", ...).
  void tick(const ledger& led, double seconds, const char* what,
            std::size_t in_flight);
  /// A message of its own (ends an in-place line first).
  void note(const std::string& text);
  /// Ends an in-place line.
  void finish();

private:
  bool in_place_ = false;
  bool dirty_ = false;   ///< an unfinished in-place line is on screen
  unsigned ticks_ = 0;
};

} // namespace bellhop::sim
