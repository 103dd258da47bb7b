// EVE lines to a Kafka topic, through librdkafka: one message per line,
// keyed by the line's community_id, so every record of a flow (flow event,
// alert event, checkpoints) lands in one partition and stays in order;
// events about no single flow (stats, campaigns) go unkeyed.
//
// librdkafka does the queueing, batching, compression, retries and
// idempotence (enable.idempotence=true, acks=all by default here): the sink
// only hands it lines and counts what its delivery reports say. write()
// never blocks: a line the local queue cannot take (queue.buffering.max.*)
// is dropped whole and counted. Delivery is at least once from librdkafka
// to the brokers: idempotence keeps retries from duplicating a message
// within a run, but a restarted run does not know what its predecessor
// delivered. A consumer that must not count twice drops duplicates on
// (flow_id, event_type, flow.end) or on the whole line.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flowscore/output_sink.hpp"

struct rd_kafka_s;
struct rd_kafka_topic_s;
struct rd_kafka_message_s;

namespace flowscore {

class KafkaSink final : public OutputSink {
 public:
  struct Options {
    std::string brokers;  // bootstrap.servers: host:port[,host:port...]
    std::string topic;
    // librdkafka properties, passed through after flowscore's defaults
    // (so any of them can be overridden): name, value.
    std::vector<std::pair<std::string, std::string>> properties;
  };
  struct Counters {
    uint64_t produced = 0;    // lines handed to librdkafka
    uint64_t delivered = 0;   // acknowledged by the brokers (per acks)
    uint64_t failed = 0;      // delivery reports with an error (retries exhausted, purged at the end)
    uint64_t queue_full = 0;  // lines the local queue could not take: dropped
    uint64_t respooled = 0;   // undelivered at the end, handed back to a spool (take_unsent)
  };

  // Null with `error` when librdkafka refuses a property or the topic.
  static std::unique_ptr<KafkaSink> create(const Options& options, std::string& error);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  bool write(std::string_view data) override;
  // Serves delivery reports; true unless a delivery failed since the last call.
  bool flush() override;
  std::string describe() const override;

  // The end of a run, after the drain: what is still undelivered is purged
  // and counted failed. True when nothing was left.
  bool give_up_undelivered();
  uint64_t in_flight() const;  // messages queued or unacknowledged
  // With a spool in front: room while fewer than 10,000 messages are in
  // flight; at the end, what is still undelivered is purged and handed back.
  bool accepts(size_t bytes) const override;
  std::string take_unsent() override;
  const Counters& counters() const { return counters_; }

 private:
  KafkaSink() = default;
  static void on_delivery(rd_kafka_s*, const rd_kafka_message_s* message, void* opaque);

  rd_kafka_s* rk_ = nullptr;
  rd_kafka_topic_s* topic_ = nullptr;
  std::string brokers_, topic_name_;
  Counters counters_;
  uint64_t failed_reported_ = 0;
  bool keep_undelivered_ = false;  // take_unsent(): purged messages come back, not counted failed
  std::string undelivered_;
};

}  // namespace flowscore
