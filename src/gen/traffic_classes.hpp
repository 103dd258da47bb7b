// The catalogue of traffic classes: their names (the `class` column of the
// label file), whether each is an attack, and how one flow of each behaves.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "flow_builder.hpp"
#include "scenario.hpp"

namespace flowscore::gen {

struct TrafficClass {
  std::string_view name;  // lowercase snake_case; the label's `class`
  bool attack;            // the label's `label` is this name when true, else "benign"
  // Writes one flow into the builder: endpoints, then its script.
  void (*build)(FlowBuilder& b, Campaign& campaign);
  // Relative share of flows in each profile (attacks: share among attacks).
  double bench_weight;
  double train_weight;
};

std::span<const TrafficClass> traffic_classes();

// Index of `name` in traffic_classes(), or -1.
int find_class(std::string_view name);

// One campaign per class (attacks use theirs; benign ones ignore it).
std::vector<Campaign> draw_campaigns(const Scenario& sc, Rng& rng);

}  // namespace flowscore::gen
