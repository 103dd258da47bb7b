// A collector behind a disk spool; see include/flowscore/spooling_sink.hpp.
#include "flowscore/spooling_sink.hpp"

namespace flowscore {

namespace {
constexpr size_t kHandOnBytes = 256 * 1024;  // spooled lines handed on per step
}

void SpoolingSink::hand_on() {
  while (!spool_->empty() && collector_->accepts(kHandOnBytes)) {
    const std::string_view lines = spool_->peek(kHandOnBytes);
    if (lines.empty()) break;  // a read error: error() says why; tried again next time
    collector_->write(lines);
    spool_->consume(lines.size());
  }
}

bool SpoolingSink::write(std::string_view data) {
  hand_on();
  if (spool_->empty() && collector_->accepts(data.size())) return collector_->write(data);
  const bool ok = spool_->append(data);
  if (!ok) set_error_text(spool_->error());
  spool_->sync_if_due();
  return ok;
}

bool SpoolingSink::flush() {
  hand_on();
  const bool ok = collector_->flush();
  spool_->sync_if_due();
  return ok;
}

std::string SpoolingSink::describe() const { return collector_->describe(); }

void SpoolingSink::finish() {
  spool_->prepend(collector_->take_unsent());  // older than what queued behind it in the spool
  spool_->close();
}

}  // namespace flowscore
