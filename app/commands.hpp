// The subcommands of the bellhop executable. Each returns the exit code:
// 0 ok, 1 runtime failure, 2 usage error.
#pragma once

namespace bellhop::app {

int serve_command(int argc, char** argv);
int token_command(int argc, char** argv);
int sim_command(int argc, char** argv);

} // namespace bellhop::app
