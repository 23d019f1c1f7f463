// The bellhop executable: `serve`, `token`, `sim`, `--help`, `--version`.
#include <cstring>
#include <iostream>

#include "commands.hpp"

namespace {

constexpr const char* usage = R"(usage: bellhop <command> [options]

commands:
  serve     run the server (REST, WebSocket, storage) in one process
  token     print a JWT for a subject and role
  sim       the load simulator: hosts on sockets, guests booking, latency
  --help    this text
  --version the version

`bellhop <command> --help` lists a command's options.
)";

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  const char* cmd = argv[1];
  bool help = std::strcmp(cmd, "--help") == 0 || std::strcmp(cmd, "help") == 0;
  bool version = std::strcmp(cmd, "--version") == 0;
  if ((help || version) && argc > 2) {
    // Nothing follows these: `bellhop --version --bogus` is a mistake.
    std::cerr << "bellhop: unexpected argument after " << cmd << ": "
              << argv[2] << "\n" << usage;
    return 2;
  }
  if (help) {
    std::cout << usage;
    return 0;
  }
  if (version) {
    std::cout << "bellhop " << BELLHOP_VERSION << "\n";
    return 0;
  }
  if (std::strcmp(cmd, "serve") == 0)
    return bellhop::app::serve_command(argc, argv);
  if (std::strcmp(cmd, "token") == 0)
    return bellhop::app::token_command(argc, argv);
  if (std::strcmp(cmd, "sim") == 0)
    return bellhop::app::sim_command(argc, argv);
  std::cerr << "bellhop: unknown command or option: " << cmd << "\n" << usage;
  return 2;
}
