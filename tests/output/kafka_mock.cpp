// kafka_mock TOPIC PARTITIONS: a Kafka cluster of three brokers for tests,
// librdkafka's own mock cluster, listening on 127.0.0.1. Prints
// "bootstrap HOST:PORT,..." and then takes commands on stdin, one per line,
// answering each with one line:
//   down | up           every broker down / up again (a collector outage)
//   consume N FILE [S]  reads TOPIC from the beginning until N messages (or
//                       S seconds, default 10, without one), writes "PARTITION<TAB>KEY<TAB>VALUE"
//                       lines to FILE, answers "consumed M"
//   quit
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

constexpr int kBrokers = 3;

rd_kafka_t* client(rd_kafka_type_t type, const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char why[256];
  rd_kafka_conf_set(conf, "log_level", "3", why, sizeof why);  // the owner has no brokers, and says so
  if (!bootstrap.empty()) {
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), why, sizeof why);
    rd_kafka_conf_set(conf, "group.id", "kafka_mock", why, sizeof why);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", why, sizeof why);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, why, sizeof why);
  if (rk == nullptr) std::fprintf(stderr, "kafka_mock: %s\n", why);
  return rk;
}

size_t consume(const std::string& bootstrap, const std::string& topic, int partitions, size_t want,
               const std::string& path, int idle_seconds) {
  rd_kafka_t* rk = client(RD_KAFKA_CONSUMER, bootstrap);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::ofstream out(path);
  size_t got = 0;
  auto last = std::chrono::steady_clock::now();
  while (got < want && std::chrono::steady_clock::now() - last < std::chrono::seconds(idle_seconds)) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out << m->partition << '\t' << std::string(static_cast<const char*>(m->key), m->key_len) << '\t'
          << std::string(static_cast<const char*>(m->payload), m->len) << '\n';
      ++got;
      last = std::chrono::steady_clock::now();
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return got;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: kafka_mock TOPIC PARTITIONS\n");
    return 2;
  }
  const std::string topic = argv[1];
  const int partitions = std::stoi(argv[2]);
  rd_kafka_t* owner = client(RD_KAFKA_PRODUCER, "");
  rd_kafka_mock_cluster_t* cluster = owner ? rd_kafka_mock_cluster_new(owner, kBrokers) : nullptr;
  if (cluster == nullptr) return 1;
  rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, kBrokers);
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  std::cout << "bootstrap " << bootstrap << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    if (command == "down" || command == "up") {
      for (int id = 1; id <= kBrokers; ++id) {
        if (command == "down") rd_kafka_mock_broker_set_down(cluster, id);
        else rd_kafka_mock_broker_set_up(cluster, id);
      }
      std::cout << command << std::endl;
    } else if (command == "consume") {
      size_t want = 0;
      std::string path;
      int idle_seconds = 10;
      words >> want >> path >> idle_seconds;
      std::cout << "consumed " << consume(bootstrap, topic, partitions, want, path, idle_seconds) << std::endl;
    } else if (command == "quit") {
      break;
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
  return 0;
}
