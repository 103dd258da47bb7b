// `flowscore report`: EVE files in, one self-contained HTML report out
// (src/report/, docs/REPORT.md).
#pragma once

namespace flowscore {

// argv[0] is "report". Returns the exit status: 0, 1 (cannot write), 2 (bad input or usage).
int run_report_command(int argc, char** argv);

}  // namespace flowscore
