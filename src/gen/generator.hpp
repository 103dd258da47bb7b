// The generator: draws a scenario from the seed, starts flows as a Poisson
// arrival process, and writes every flow's packets to one pcap in global
// time order (a min-heap over the active flows' next packet times), plus one
// label row per flow.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace flowscore::gen {

struct GeneratorOptions {
  Profile profile = Profile::kTrain;
  uint64_t seed = 1;
  uint64_t packets = 0;      // stop after exactly this many packets (0: not set)
  uint64_t flows = 0;        // start exactly this many flows (0: not set)
  double duration_s = 0;     // capture window; 0 picks the profile's default
  double attack_rate = -1;   // share of flows that are attacks; < 0 picks the default
  std::vector<int> classes;  // indices into traffic_classes(); empty: the profile's mix
  std::string pcap_path;
  std::string labels_path;   // empty: no label file (the CLI always names one)
};

struct ClassStats {
  uint64_t flows = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct GeneratorStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;              // frame bytes written (without pcap headers)
  uint64_t flows = 0;              // label rows written
  uint64_t peak_active_flows = 0;  // flows between their first and last packet at once
  uint64_t key_collisions = 0;     // flows redrawn because their 5-tuple was taken
  double first_ts = 0, last_ts = 0;
  std::vector<ClassStats> per_class;       // indexed like traffic_classes()
  std::vector<uint32_t> packets_per_flow;  // one entry per label row
};

// Throws std::runtime_error with a user-facing message on bad options or I/O errors.
GeneratorStats generate(const GeneratorOptions& options);

double default_duration(Profile p);
double default_attack_rate(Profile p);

}  // namespace flowscore::gen
