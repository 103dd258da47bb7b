// `flowscore compile` and `flowscore predict`, as functions the flowscore
// CLI dispatches to. argv[0] is the subcommand name. Exit codes, as for every
// flowscore command: 0 success, 2 bad input or usage (an unreadable or
// invalid model or table, a missing column, wrong class names), 1 a failure
// while running (the output cannot be written); a message on stderr.
#pragma once

namespace flowscore {

// flowscore compile MODEL.json -o MODEL [--name NAME] [--class-names a,b,...]
//                   [--feature-spec-version VERSION]
int run_compile_command(int argc, char** argv);
// flowscore predict --model MODEL --in TABLE.csv --out SCORES.csv [--margin]
int run_predict_command(int argc, char** argv);

}  // namespace flowscore
