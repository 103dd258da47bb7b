"""flowscore into Kafka (issue 15), against librdkafka's own mock cluster:
three brokers on 127.0.0.1 in a helper process (kafka_mock.cpp), read back
with a librdkafka consumer.

- Every line the file output gets arrives once as a message, keyed by its
  community_id, every record of a flow in one partition and in file order.
- An outage shorter than output.drain_timeout loses nothing and duplicates
  nothing (the producer is idempotent).
- A cluster that never comes back is a counted loss: exit status 1, and the
  summary's numbers add up.

usage: /usr/bin/python3 test_kafka.py SOURCE_DIR BUILD_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from script_tests import run_tests  # noqa: E402
FLOWSCORE = os.path.join(BUILD, "src/cli/flowscore")
MOCK = os.path.join(BUILD, "tests/output/kafka_mock")
TMP = tempfile.mkdtemp(prefix="flowscore-kafka-")
PARTITIONS = 6


class Cluster:
    """The mock cluster: a topic of six partitions on three brokers."""

    def __init__(self, topic):
        self.topic = topic
        self.proc = subprocess.Popen([MOCK, topic, str(PARTITIONS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        first = self.proc.stdout.readline().split()
        assert first and first[0] == "bootstrap", first
        self.bootstrap = first[1]

    def command(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def consume(self, want, idle_seconds=10):
        """[(partition, key, value)] read from the beginning of the topic."""
        path = os.path.join(TMP, f"{self.topic}.consumed")
        answer = self.command(f"consume {want} {path} {idle_seconds}")
        assert answer.startswith("consumed"), answer
        with open(path) as f:
            return [tuple(line.rstrip("\n").split("\t", 2)) for line in f]

    def close(self):
        try:
            self.command("quit")
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def capture():
    """Many short flows (the bench profile) and a few attacks the shipped
    model and policy alert on (the train profile), in one capture."""
    path = os.path.join(TMP, "kafka.pcap")
    if not os.path.exists(path):
        parts = []
        for profile, packets in (("bench", 5000), ("train", 40000)):
            parts.append(os.path.join(TMP, f"{profile}.pcap"))
            subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", profile, "--packets",
                            str(packets), "--seed", "8", "--out", parts[-1], "--quiet"], check=True)
        subprocess.run(["mergecap", "-F", "pcap", "-w", path, *parts], check=True)
    return path


def flowscore(out, *extra, expect=0):
    p = subprocess.run([FLOWSCORE, "run", "--pcap", capture(), "--out", out, *extra], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == expect, f"exit {p.returncode} (wanted {expect}):\n{p.stderr}"
    return p.stderr


def file_lines():
    path = os.path.join(TMP, "reference.json")
    flowscore(path)
    with open(path) as f:
        return [line.rstrip("\n") for line in f]


def test_every_record_arrives_once_keyed_by_its_community_id():
    reference = file_lines()
    assert len(reference) > 500 and any('"event_type":"alert"' in l for l in reference)
    cluster = Cluster("eve")
    try:
        err = flowscore(f"kafka://{cluster.bootstrap}/eve")
        messages = cluster.consume(len(reference))
    finally:
        cluster.close()
    assert f"{len(reference)} records produced, {len(reference)} delivered, 0 failed, 0 dropped" in err, err
    assert sorted(v for _, _, v in messages) == sorted(reference), (len(messages), len(reference))
    partition_of, order = {}, {}
    for partition, key, value in messages:
        record = json.loads(value)
        assert key == record.get("community_id", ""), (key, value)
        if key:
            assert partition_of.setdefault(key, partition) == partition, key  # one flow, one partition
            order.setdefault(key, []).append(value)
    assert len({p for p, _, _ in messages}) == PARTITIONS  # the keys spread over every partition
    for key, values in order.items():  # each flow's records in the order the file has them
        assert values == [l for l in reference if f'"community_id":"{key}"' in l], key


def test_an_outage_shorter_than_the_drain_timeout_loses_and_repeats_nothing():
    reference = file_lines()
    cluster = Cluster("outage")
    try:
        assert cluster.command("down") == "down"
        result = {}
        run = threading.Thread(target=lambda: result.update(err=flowscore(
            f"kafka://{cluster.bootstrap}/outage", "--set", "output.drain_timeout=120")))
        run.start()
        time.sleep(5)  # the run has ended and waits on the drain; the brokers return
        assert run.is_alive(), result
        assert cluster.command("up") == "up"
        run.join(timeout=180)
        messages = cluster.consume(len(reference) + 1, idle_seconds=5)  # one more than sent: a duplicate would show
    finally:
        cluster.close()
    assert "err" in result, "the run did not finish"
    assert f"{len(reference)} delivered, 0 failed" in result["err"], result["err"]
    assert sorted(v for _, _, v in messages) == sorted(reference), (len(messages), len(reference))


def test_a_cluster_that_never_returns_is_a_counted_loss():
    reference = file_lines()
    cluster = Cluster("dead")
    try:
        cluster.command("down")
        err = flowscore(f"kafka://{cluster.bootstrap}/dead", "--set", "output.drain_timeout=2", expect=1)
    finally:
        cluster.close()
    n = len(reference)
    assert f"{n} of {n} queued records were not delivered within output.drain_timeout: lost" in err, err
    assert f"{n} records produced, 0 delivered, {n} failed" in err, err


def test_a_spool_keeps_what_a_dead_cluster_did_not_take_for_the_next_start():
    # With output.spool_dir, what the brokers never acknowledged goes back
    # to the disk spool at the end (exit 0: nothing lost), and the next start
    # delivers it first.
    reference = file_lines()
    spool = os.path.join(TMP, "kafka-spool")
    cluster = Cluster("spooled")
    try:
        cluster.command("down")
        err = flowscore(f"kafka://{cluster.bootstrap}/spooled", "--set", f"output.spool_dir={spool}",
                        "--set", "output.drain_timeout=2")
        assert f"{len(reference)} left for the next start" in err, err
        cluster.command("up")
        err = flowscore(f"kafka://{cluster.bootstrap}/spooled", "--set", f"output.spool_dir={spool}",
                        "--set", "output.drain_timeout=60")
        assert f"{len(reference)} records from an earlier run" in err and "0 left for the next start" in err, err
        messages = cluster.consume(2 * len(reference) + 1, idle_seconds=5)
    finally:
        cluster.close()
    values = sorted(v for _, _, v in messages)
    assert values == sorted(reference + reference), (len(values), 2 * len(reference))


def test_two_sensors_share_one_topic_and_both_streams_arrive_whole():
    # Scale-out (issue 15 section 4): two flowscore processes, each its own
    # sensor name, write into one topic at once; a consumer reads both back,
    # whole, and tells them apart by `host`.
    reference = file_lines()
    cluster = Cluster("sensors")
    try:
        procs = [subprocess.Popen([FLOWSCORE, "run", "--pcap", capture(), "--out", f"kafka://{cluster.bootstrap}/sensors",
                                   "--set", f"output.sensor_name=sensor-{i}"], stderr=subprocess.PIPE, text=True)
                 for i in (1, 2)]
        errs = [p.communicate(timeout=300)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), errs
        messages = cluster.consume(2 * len(reference) + 1, idle_seconds=5)
    finally:
        cluster.close()
    by_sensor = {}
    for _, _, value in messages:
        record = json.loads(value)
        by_sensor.setdefault(record["host"], []).append(json.dumps({k: v for k, v in record.items() if k != "host"},
                                                                   sort_keys=True))
    want = sorted(json.dumps({k: v for k, v in json.loads(l).items() if k != "host"}, sort_keys=True) for l in reference)
    assert sorted(by_sensor) == ["sensor-1", "sensor-2"], sorted(by_sensor)
    for sensor, lines in by_sensor.items():
        assert sorted(lines) == want, (sensor, len(lines), len(want))


def test_bad_kafka_targets_are_refused_before_the_run():
    for target, words in (("kafka://127.0.0.1:9092", "kafka://HOST:PORT"),
                          ("kafka://127.0.0.1:9092/bad topic", "not a Kafka topic name"),
                          ("kafka://127.0.0.1/eve", "not HOST:PORT"),
                          ("kafka://127.0.0.1:9092/eve?acks", "not PROPERTY=VALUE"),
                          ("kafka://127.0.0.1:9092/eve?no.such.property=1", "No such configuration property")):
        p = subprocess.run([FLOWSCORE, "run", "--pcap", capture(), "--out", target], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 2 and words in p.stderr, (target, p.returncode, p.stderr)


def main():
    run_tests(globals())

if __name__ == "__main__":
    main()
