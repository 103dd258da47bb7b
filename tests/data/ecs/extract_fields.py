#!/usr/bin/python3
"""Cuts the field sets flowscore's ECS view uses out of ECS's own field
reference (generated/ecs/ecs_flat.yml of https://github.com/elastic/ecs at a
release tag) into ecs-fields.json: per field its type, whether it is an
array, and its allowed values with their expected event types. The tests
check every ECS line flowscore writes against this file.

usage: extract_fields.py ECS_FLAT_YML VERSION > ecs-fields.json
"""
import json
import sys

import yaml

FIELD_SETS = ("@timestamp", "message", "tags", "labels.", "ecs.", "event.", "source.", "destination.",
              "network.", "observer.", "rule.")

flat = yaml.safe_load(open(sys.argv[1]))
fields = {}
for name, f in sorted(flat.items()):
    if not name.startswith(FIELD_SETS):
        continue
    entry = {"type": f["type"], "array": "array" in (f.get("normalize") or [])}
    if f.get("allowed_values"):
        entry["allowed"] = {a["name"]: a.get("expected_event_types", []) for a in f["allowed_values"]}
    fields[name] = entry
json.dump({"ecs_version": sys.argv[2], "source": "elastic/ecs generated/ecs/ecs_flat.yml", "fields": fields},
          sys.stdout, indent=1, sort_keys=True)
print()
