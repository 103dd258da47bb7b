// Kafka sink; see include/flowscore/kafka_sink.hpp.
#include "flowscore/kafka_sink.hpp"

#include <librdkafka/rdkafka.h>

#include <fmt/format.h>

#include "flowscore/eve_line.hpp"

namespace flowscore {


std::unique_ptr<KafkaSink> KafkaSink::create(const Options& options, std::string& error) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink);
  sink->brokers_ = options.brokers;
  sink->topic_name_ = options.topic;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Defaults for a sensor: no duplicates from retries, acknowledged by
  // every in-sync replica, compressed, batched for a few ms, keyed
  // partitions as Java producers compute them (murmur2), so Kafka Streams
  // and Connect consumers agree on where a Community ID lives.
  std::vector<std::pair<std::string, std::string>> properties = {
      {"bootstrap.servers", options.brokers}, {"enable.idempotence", "true"}, {"acks", "all"},
      {"compression.type", "lz4"},             {"linger.ms", "5"},           {"partitioner", "murmur2_random"},
      {"client.id", "flowscore"}};
  properties.insert(properties.end(), options.properties.begin(), options.properties.end());
  char why[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), why, sizeof why) != RD_KAFKA_CONF_OK) {
      error = fmt::format("kafka property {}={}: {}", name, value, why);
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::on_delivery);
  rd_kafka_conf_set_opaque(conf, sink.get());
  sink->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);  // takes conf on success
  if (sink->rk_ == nullptr) {
    error = fmt::format("kafka producer: {}", why);
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  sink->topic_ = rd_kafka_topic_new(sink->rk_, options.topic.c_str(), nullptr);
  if (sink->topic_ == nullptr) {
    error = fmt::format("kafka topic '{}': {}", options.topic, rd_kafka_err2str(rd_kafka_last_error()));
    return nullptr;
  }
  return sink;
}

KafkaSink::~KafkaSink() {
  if (topic_) rd_kafka_topic_destroy(topic_);
  if (rk_) {
    // give_up_undelivered() ran at the end of the run: nothing left is uncounted.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_, 0);
    rd_kafka_destroy(rk_);
  }
}

void KafkaSink::on_delivery(rd_kafka_s*, const rd_kafka_message_s* message, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++sink->counters_.delivered;
    return;
  }
  if (sink->keep_undelivered_) {  // back to the spool, for the next start
    sink->undelivered_.append(static_cast<const char*>(message->payload), message->len);
    sink->undelivered_ += '\n';
    ++sink->counters_.respooled;
    return;
  }
  ++sink->counters_.failed;
  sink->dropped_bytes_ += message->len + 1;  // + the newline it had in the file
  ++sink->dropped_lines_;
  sink->set_error_text(fmt::format("kafka delivery to {}: {}", sink->topic_name_, rd_kafka_err2str(message->err)));
}

bool KafkaSink::write(std::string_view data) {
  if (abandoned()) {  // a second stop signal: nothing more is queued
    count_dropped(data);
    return false;
  }
  bool all_taken = true;
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const std::string_view line = data.substr(0, newline);
    data.remove_prefix(newline == std::string_view::npos ? data.size() : newline + 1);
    if (line.empty()) continue;
    const std::string_view key = eve_string_field(line, "community_id");  // empty: stats, campaigns
    if (rd_kafka_produce(topic_, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(line.data()),
                         line.size(), key.empty() ? nullptr : key.data(), key.size(), nullptr) == 0) {
      ++counters_.produced;
      continue;
    }
    const rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) ++counters_.queue_full;
    else ++counters_.failed;
    dropped_bytes_ += line.size() + 1;
    ++dropped_lines_;
    set_error_text(fmt::format("kafka produce to {}: {}", topic_name_, rd_kafka_err2str(err)));
    all_taken = false;
  }
  rd_kafka_poll(rk_, 0);  // delivery reports, on this thread
  return all_taken;
}

bool KafkaSink::flush() {
  rd_kafka_poll(rk_, 0);
  const bool ok = counters_.failed == failed_reported_;
  failed_reported_ = counters_.failed;
  return ok;
}

bool KafkaSink::give_up_undelivered() {
  rd_kafka_poll(rk_, 0);
  if (rd_kafka_outq_len(rk_) == 0) return true;
  // Each purged message's delivery report counts it failed
  // (err__PURGE_QUEUE / _INFLIGHT).
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(rk_, 1000);
  return false;
}

bool KafkaSink::accepts(size_t) const { return in_flight() < 10'000; }

std::string KafkaSink::take_unsent() {
  keep_undelivered_ = true;
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(rk_, 1000);  // serves the purged messages' delivery reports
  keep_undelivered_ = false;
  return std::move(undelivered_);
}

uint64_t KafkaSink::in_flight() const { return static_cast<uint64_t>(rd_kafka_outq_len(rk_)); }

std::string KafkaSink::describe() const { return fmt::format("kafka topic {} at {}", topic_name_, brokers_); }

}  // namespace flowscore
