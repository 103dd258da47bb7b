"""Holds a line of flowscore's ECS view to Elastic's own definition of each
field: tests/data/ecs/ecs-fields.json, cut from ECS's ecs_flat.yml at the
release the line's ecs.version names (tests/data/ecs/README.md). Every
member outside flowscore's own object must be an ECS field, of its ECS
type, an array where ECS normalises it to one, one of its allowed values
where ECS lists them, and event.type must be a type ECS expects for each
event.category."""
import datetime
import ipaddress
import json
import os


class EcsFields:
    def __init__(self, src):
        data = json.load(open(os.path.join(src, "tests", "data", "ecs", "ecs-fields.json")))
        self.version, self.fields = data["ecs_version"], data["fields"]

    def problems(self, doc):
        out = []
        leaves = {}

        def walk(prefix, value):
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            else:
                leaves[prefix] = value

        walk("", {k: v for k, v in doc.items() if k != "flowscore"})
        for name, value in leaves.items():
            f = self.fields.get(name)
            if f is None:
                out.append(f"{name}: not an ECS {self.version} field")
                continue
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) != f["array"]:
                out.append(f"{name}: ECS says {'an array' if f['array'] else 'one value'}, got {value!r}")
            for v in values:
                if not self._typed(f["type"], v):
                    out.append(f"{name}: {v!r} is not an ECS {f['type']}")
                if "allowed" in f and v not in f["allowed"]:
                    out.append(f"{name}: {v!r} is not one of ECS's allowed values")
        if leaves.get("ecs.version") != self.version:
            out.append(f"ecs.version {leaves.get('ecs.version')!r}, the field definitions are ECS {self.version}")
        expected = self.fields["event.category"]["allowed"]
        for category in leaves.get("event.category", []):
            for t in leaves.get("event.type", []):
                if t not in expected.get(category, []):
                    out.append(f"event.type {t!r} is not expected with event.category {category!r}")
        return out

    @staticmethod
    def _typed(kind, v):
        if kind in ("keyword", "constant_keyword", "wildcard", "match_only_text", "text"):
            return isinstance(v, str)
        if kind == "long":
            return isinstance(v, int) and not isinstance(v, bool)
        if kind in ("float", "scaled_float", "double"):
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        if kind == "boolean":
            return isinstance(v, bool)
        if kind == "ip":
            try:
                ipaddress.ip_address(v)
                return True
            except ValueError:
                return False
        if kind == "date":
            try:
                return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).tzinfo is not None
            except (ValueError, AttributeError):
                return False
        return False
