// `flowscore compile` and `flowscore predict`, as functions the flowscore
// CLI dispatches to. argv[0] is the subcommand name. Exit codes: 0 success,
// 1 failure (message on stderr), 2 usage error.
#pragma once

namespace flowscore {

// flowscore compile MODEL.json -o MODEL [--name NAME] [--class-names a,b,...]
int run_compile_command(int argc, char** argv);
// flowscore predict --model MODEL --in TABLE.csv --out SCORES.csv [--margin]
int run_predict_command(int argc, char** argv);

}  // namespace flowscore
